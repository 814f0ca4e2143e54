"""Any checkpoint x any corpus: every model scored on every dataset config, through the label layer.

Each cell is one :func:`hf_ser.evaluation.scoring.score_checkpoint` run (shared labels only, as the alias table and
``label_map`` align them; the labels used are named in the cell), written to ``OUT/cells/<model>__<dataset>__<config>``
with its results.json, predictions and confusion matrix. A cell whose results.json already records the same model,
dataset, config, split and label options is read back, not recomputed, so an interrupted matrix resumes where it
stopped. The table: accuracy and UAR with 95% bootstrap intervals over clips (over speakers where the split names
them), as Markdown, JSON and a heatmap PNG of UAR (chance differs between cells: UAR's chance is 1 / labels).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from tqdm.auto import tqdm

__all__ = ["MatrixCell", "parse_dataset_spec", "score_matrix"]

logger = logging.getLogger(__name__)


def parse_dataset_spec(spec: str) -> tuple[str, str]:
    """``DATASET:CONFIG`` -> (dataset, config); without ``:CONFIG`` the config is ``auto``. A Windows drive letter
    or a Hub id with no colon is left whole."""
    head, sep, tail = spec.rpartition(":")
    if sep and head and tail and "/" not in tail and "\\" not in tail and not re.fullmatch(r"[A-Za-z]", head):
        return head, tail
    return spec, "auto"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip("/")).strip("-")[-60:] or "x"


class MatrixCell(dict):
    """One model x dataset-config score: the figures the table shows, and where the full results are."""


def _cell_from(results: dict, folder: Path) -> MatrixCell:
    split = results["split"]
    r = results[split]
    intervals = r.get("intervals", {})
    over = "speakers" if "speakers" in intervals else "clips"
    return MatrixCell(
        model=results["model"], dataset=results["dataset"], protocol=results["protocol"], split=split,
        labels=list(results["labels"]), num_samples=r["num_samples"], accuracy=r["accuracy"], uar=r["uar"],
        f1_macro=r["f1_macro"], eer=r["eer"], interval_over=over,
        accuracy_ci=intervals.get(over, {}).get("accuracy"), uar_ci=intervals.get(over, {}).get("uar"),
        same_label_set=results["label_alignment"]["same_label_set"], folder=str(folder),
    )  # fmt: skip


def trained_on(model: str) -> tuple[str, str] | None:
    """(dataset, protocol) a local run folder was trained on, from its results.json; None for a Hub id or a model
    that does not say."""
    path = Path(model) / "results.json"
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(results, dict) or not results.get("dataset") or not results.get("protocol"):
        return None
    return str(results["dataset"]), str(results["protocol"])


def _same_dataset(a: str, b: str) -> bool:
    return a == b or Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def overlap_note(trained: tuple[str, str] | None, dataset: str, config: str) -> str | None:
    """Why a cell's test may hold the model's training clips: another config of the dataset it trained on (the
    model's own config keeps its test out of training; another config's test, such as a LOCO or per-corpus one,
    need not)."""
    if trained is None or not _same_dataset(trained[0], dataset) or trained[1] == config:
        return None
    return f"trained on {Path(trained[0]).name}:{trained[1]}; this config's test can hold clips it trained on"


def _finished(folder: Path, model: str, dataset: str, config: str, split: str, options: dict) -> dict | None:
    path = folder / "results.json"
    if not path.is_file():
        return None
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = (results.get("model"), results.get("dataset"), results.get("split")) == (model, dataset, split)
    asked = results.get("matrix_request", {})
    if same and asked.get("config") == config and asked.get("options") == options:
        return results
    return None


def score_matrix(models: Sequence[str], datasets: Sequence[str], output_dir: str | Path, *, split: str = "test",
                 label_map: Mapping[str, str] | None = None, labels: Sequence[str] | None = None,
                 device: str | None = None, batch_size: int = 16) -> list[MatrixCell]:  # fmt: skip
    """Score every model on every ``DATASET[:CONFIG]``; returns the cells, row by row, and writes matrix.md,
    matrix.json and matrix.png into ``output_dir``."""
    from hf_ser.evaluation.reporting import write_json
    from hf_ser.evaluation.scoring import score_checkpoint
    from hf_ser.outputs import OutputPathError, atomic_file, guard_output, is_model_folder

    specs = [parse_dataset_spec(d) for d in datasets]
    out = guard_output(output_dir, "--output_dir", folder=True,
                       reads=[Path(m) for m in models] + [Path(d) for d, _ in specs])  # fmt: skip
    if is_model_folder(out) or (out / "results.json").exists():
        raise OutputPathError(
            f"--output_dir {output_dir}: a model or run folder; a matrix goes into a folder of its own"
        )
    (out / "cells").mkdir(parents=True, exist_ok=True)
    options = {"label_map": dict(label_map or {}), "labels": list(labels) if labels else None}
    cells: list[MatrixCell] = []
    todo = [(m, d, c) for m in models for d, c in specs]
    trained = {m: trained_on(m) for m in models}
    reused = 0
    for model, dataset, config in tqdm(todo, desc="Matrix cells", unit="cell"):
        folder = out / "cells" / f"{_slug(model)}__{_slug(dataset)}__{_slug(config)}"
        results = _finished(folder, model, dataset, config, split, options)
        if results is None:
            results = score_checkpoint(model, dataset, config, split, str(folder), batch_size=batch_size,
                                       device=device, label_map=label_map, labels=labels)  # fmt: skip
            results["matrix_request"] = {"config": config, "options": options}
            write_json(results, folder / "results.json")
        else:
            reused += 1
        cell = _cell_from(results, folder)
        cell["overlap"] = overlap_note(trained[model], dataset, config)
        if cell["overlap"]:
            logger.warning("%s on %s:%s: %s", model, dataset, config, cell["overlap"])
        cells.append(cell)
    if reused:
        logger.info("%d of %d cells read back from earlier runs (delete a cell's folder to recompute it)",
                    reused, len(todo))  # fmt: skip
    write_json({"split": split, "options": options, "cells": cells}, out / "matrix.json")
    with atomic_file(out / "matrix.md") as fh:
        fh.write(matrix_markdown(cells) + "\n")
    plot_matrix(cells, out / "matrix.png")
    return cells


def _ci(value: float, ci) -> str:
    if not ci or any(c is None or c != c for c in ci):
        return f"{100 * value:.1f}"
    return f"{100 * value:.1f} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def _columns(cells: Sequence[MatrixCell]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((c["dataset"], c["protocol"]) for c in cells))


def matrix_markdown(cells: Sequence[MatrixCell]) -> str:
    """Models as rows, dataset configs as columns: UAR and accuracy (%) with 95% intervals, then each cell's labels."""
    cols = _columns(cells)
    header = "| model | " + " | ".join(f"{Path(d).name}:{p}" for d, p in cols) + " |"
    lines = [header, "| --- |" + " ---: |" * len(cols)]
    for model in dict.fromkeys(c["model"] for c in cells):
        row = {(c["dataset"], c["protocol"]): c for c in cells if c["model"] == model}
        lines.append(f"| {Path(model).name} | " + " | ".join(
            f"UAR {_ci(row[k]['uar'], row[k]['uar_ci'])}<br>acc {_ci(row[k]['accuracy'], row[k]['accuracy_ci'])}"
            + (" (!)" if row[k].get("overlap") else "") if k in row else "" for k in cols) + " |")  # fmt: skip
    lines += ["", "UAR and accuracy in %, 95% bootstrap intervals over speakers where the split names them (else over "
              "clips). Each cell is scored on the labels its model and dataset share:", ""]  # fmt: skip
    for c in cells:
        scope = "all labels" if c["same_label_set"] else "shared labels"
        lines.append(f"- {Path(c['model']).name} x {Path(c['dataset']).name}:{c['protocol']}/{c['split']}: "
                     f"{c['num_samples']} clips, {scope} {', '.join(c['labels'])} (intervals over {c['interval_over']})"
                     + (f"; (!) {c['overlap']}" if c.get("overlap") else ""))  # fmt: skip
    return "\n".join(lines)


def plot_matrix(cells: Sequence[MatrixCell], path: str | Path) -> Path:
    """Heatmap of UAR (%), models x dataset configs, each cell annotated with its interval and label count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cols = _columns(cells)
    models = list(dict.fromkeys(c["model"] for c in cells))
    grid = np.full((len(models), len(cols)), np.nan)
    text = [["" for _ in cols] for _ in models]
    for c in cells:
        i, j = models.index(c["model"]), cols.index((c["dataset"], c["protocol"]))
        grid[i, j] = 100 * c["uar"]
        ci = c["uar_ci"]
        band = f"\n[{100 * ci[0]:.0f}, {100 * ci[1]:.0f}]" if ci and all(x == x for x in ci) else ""
        text[i][j] = f"{100 * c['uar']:.1f}{band}\n{len(c['labels'])} labels" + (
            "\n(!) may hold training" if c.get("overlap") else ""
        )
    fig, ax = plt.subplots(figsize=(1.9 * len(cols) + 2.5, 0.9 * len(models) + 1.8), dpi=120)
    im = ax.imshow(grid, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    for i in range(len(models)):
        for j in range(len(cols)):
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=8,
                    color="white" if grid[i, j] < 60 else "black")  # fmt: skip
    ax.set_xticks(range(len(cols)), [f"{Path(d).name}\n{p}" for d, p in cols], fontsize=8)
    ax.set_yticks(range(len(models)), [Path(m).name for m in models], fontsize=8)
    ax.set_title("UAR (%) on each dataset config, shared labels, 95% interval")
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
