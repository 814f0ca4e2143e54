"""The package's plan: stages import only shared modules and the stages before them, no import circle, the old
public import paths still resolve, and the README's layout section is the tree."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "src" / "hf_ser"

# Which stages each room may import (its own included). Shared modules are importable from everywhere.
SHARED = "shared"
ALLOWED = {
    SHARED: {SHARED},
    "data": {SHARED, "data"},
    "inference": {SHARED, "inference"},
    "evaluation": {SHARED, "data", "inference", "evaluation"},
    "training": {SHARED, "data", "inference", "evaluation", "training"},
    "cli": {SHARED, "inference", "cli"},
    "demo": {SHARED, "data", "demo"},
}
# The two documented short paths, kept as re-exports of where the code now lives.
SHIMS = {"hf_ser.metrics": "evaluation", "hf_ser.predict": "inference"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _room(module: str) -> str:
    if module in SHIMS:
        return SHIMS[module]
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in {"_exports", "labels", "hub", "audio", "outputs", "modeling"}:
        return SHARED
    return parts[1]


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every hf_ser module ``path`` imports, at the top or inside a function (``from pkg import sub`` names sub)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "hf_ser")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "hf_ser":
            assert node.level == 0, f"{path}: relative import"
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    unknown = found - set(modules)
    assert not unknown, f"{path.relative_to(REPO)} imports modules that do not exist: {sorted(unknown)}"
    return found


def test_every_module_is_in_a_known_room():
    rooms = {_room(m) for m in _modules()}
    assert rooms <= set(ALLOWED), rooms - set(ALLOWED)


def test_stages_import_only_shared_modules_and_earlier_stages():
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        room = _room(name)
        for target in _imports(path, modules):
            if _room(target) not in ALLOWED[room]:
                wrong.append(f"{name} ({room}) imports {target} ({_room(target)})")
    assert not wrong, "\n".join(wrong)


def test_a_stage_that_must_not_see_training_does_not():
    # the rule spelled out: checkpoints load, score and predict without the training side
    assert "training" not in ALLOWED["inference"] | ALLOWED["evaluation"] | ALLOWED[SHARED] | ALLOWED["data"]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    modules = _modules()
    graph = {name: _imports(path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


# The names a user could import from the paths that existed before the package had rooms: the flat modules that
# became packages keep them on the package, the two documented modules are re-exports.
OLD_PUBLIC = {
    "hf_ser.data": ["BuildConfig", "BuildError", "BuildReport", "PROTOCOLS", "build_eight_emotions",
                    "build_fingerprint", "dataset_features", "load_eight_emotions", "random_split",
                    "speaker_disjoint_split"],
    "hf_ser.training": ["DIVERGED_ERRORS", "DivergenceGuard", "SCALAR_METRICS", "TrainingDivergedError",
                        "USER_ERRORS", "compute_metrics", "log_validation", "make_trainer", "peak_memory_mb", "train"],
    "hf_ser.evaluation": ["NonFiniteLogitsError", "clip_ids", "clips_fingerprint", "predict_split",
                          "score_checkpoint", "score_logits", "write_predictions"],
    "hf_ser.inference": ["forward_arrays", "length_sorted_batches", "model_inputs", "padding_sensitive"],
    "hf_ser.modeling": ["LORA_METHODS", "ModelLoadError", "TINY_HUBERT", "apply_method", "count_parameters",
                        "export_model", "load_backbone", "load_classifier", "load_pretrained", "tiny_hubert_config"],
    "hf_ser.predict": ["EmotionPredictor", "FileResult", "Segment", "expand_inputs"],
    "hf_ser.metrics": ["MODULES", "binary_eer", "confusion_matrix", "eer_micro", "eer_per_class", "load",
                       "module_path", "multiclass_eer", "roc_points", "ser_metrics", "softmax"],
}  # fmt: skip


@pytest.mark.parametrize("path", sorted(OLD_PUBLIC))
def test_old_public_paths_resolve_to_the_moved_objects(path):
    module = importlib.import_module(path)
    for name in OLD_PUBLIC[path]:
        value = getattr(module, name)
        if hasattr(value, "__module__") and callable(value):
            home = importlib.import_module(value.__module__)
            assert getattr(home, name) is value, f"{path}.{name}"
            assert value.__module__ != path, f"{path}.{name} is defined in the facade, not re-exported"
    assert set(OLD_PUBLIC[path]) <= set(module.__all__)
    assert set(OLD_PUBLIC[path]) <= set(dir(module))


def test_facade_names_an_unknown_attribute():
    import hf_ser.data

    with pytest.raises(AttributeError, match=r"module 'hf_ser.data' has no attribute 'build_corpus'"):
        hf_ser.data.build_corpus  # noqa: B018


def test_importing_one_piece_does_not_import_its_room():
    """The facades are lazy: a scanner or the metric functions load without torch, transformers or datasets."""
    code = ("import sys, hf_ser.data.corpora, hf_ser.data.protocols, hf_ser.evaluation.metrics, hf_ser.metrics; "
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'peft') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _readme_tree() -> list[str]:
    """Paths (relative to src/hf_ser, directories ending in /) listed in the README's Layout block."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"^## Layout\n.*?^```\n(.*?)^```", text, flags=re.S | re.M)
    assert block, "README has no ## Layout code block"
    lines = block.group(1).splitlines()
    assert lines[0].strip() == "src/hf_ser/"
    paths, parents = [], []
    for line in lines[1:]:
        if not line.startswith("  "):
            break  # the repository's top level follows the package
        if not line.strip() or not re.match(r"^ +[\w.]+/?(\s|$)", line):
            continue  # a description's continuation line
        depth = (len(line) - len(line.lstrip(" "))) // 2 - 1
        name = line.split()[0]
        parents = parents[:depth] + [name]
        paths.append("".join(p if p.endswith("/") else p + "/" for p in parents[:-1]) + name)
    return paths


def test_readme_layout_matches_the_tree():
    listed = _readme_tree()
    missing = [p for p in listed if not (PACKAGE / p).exists()]
    assert not missing, f"README lists what the package does not have: {missing}"
    listed_dirs = {p for p in listed if p.endswith("/")}
    # a directory listed without its files stands for all of them
    leaf_dirs = {d for d in listed_dirs if not any(p != d and p.startswith(d) for p in listed)}
    actual = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]
    actual += [p.relative_to(PACKAGE).as_posix() + "/" for p in PACKAGE.rglob("*")
               if p.is_dir() and (p / "__init__.py").exists()]  # fmt: skip
    unlisted = [p for p in actual if p not in listed and not any(p.startswith(d) and p != d for d in leaf_dirs)]
    assert not unlisted, f"README's layout leaves out: {sorted(unlisted)}"
