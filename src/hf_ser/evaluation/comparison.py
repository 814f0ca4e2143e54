"""Comparing runs: the Table-3 style table with 95% intervals, aggregation over seeds, paired significance tests.

Runs are results.json files (hf_ser.evaluation.reporting.load_results). The significance tests pair runs clip by clip through
their ``<split>_predictions.csv``, so they need runs scored on the same clips.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hf_ser.evaluation.stats import INTERVAL_METRICS, aggregate, mcnemar_exact, paired_bootstrap
from hf_ser.labels import EMOTIONS

__all__ = ["check_runs", "comparison_markdown", "load_predictions", "run_labels", "seed_table", "significance_table"]

_KEYS = ("f1_macro", "eer", "accuracy", "uar", "eer_micro")


def _num(v, scale: float = 1.0, digits: int = 4) -> str:
    """A metric cell; undefined metrics (null in results.json, NaN) read n/a."""
    if not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{scale * v:.{digits}f}"


def _cell(m: dict, key: str, scale: float = 1.0, digits: int = 4) -> str:
    """The value and, where results.json has it, its 95% clip-bootstrap interval."""
    iv = ((m.get("intervals") or {}).get("clips") or {}).get(key)
    value = _num(m.get(key), scale, digits)
    if iv and all(isinstance(x, (int, float)) and math.isfinite(x) for x in iv):
        return f"{value} [{_num(iv[0], scale, digits - 1)}, {_num(iv[1], scale, digits - 1)}]"
    return value


def _metrics(r: dict, split: str) -> dict:
    m = r.get(split) or {}
    where = r.get("_path") or r.get("output_dir", "?")
    if not m:
        scored = r.get("split")
        hint = f" (it was scored on {scored!r}: compare --split {scored})" if scored and scored != split else ""
        raise ValueError(f"{where} has no {split!r} results{hint}")
    missing = [k for k in _KEYS if k not in m]
    if missing:
        raise ValueError(f"{where}: {split!r} results lack {missing}; re-score the run with recipes/eval.py score")
    return m


def run_labels(r: dict, split: str = "test") -> tuple[str, ...]:
    """The labels a run's ``split`` was scored on (runs from before label sets were recorded: the eight emotions)."""
    names = (r.get(split) or {}).get("label_names") or r.get("labels")
    return tuple(names) if names else tuple(EMOTIONS)


def comparison_markdown(runs: Sequence[dict], *, split: str = "test") -> str:
    """Table-3 style comparison of several runs' results.json (F1, EER, accuracy as the paper, plus UAR etc.), each
    with its 95% bootstrap interval over test clips where the run has one."""
    head = (
        "| model | method | protocol | labels | seed | F1 (macro) | EER | accuracy (%) | UAR | EER (micro) | "
        "trainable params | train time (s) |"
    )
    lines = [head, "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    label_sets = list(dict.fromkeys(run_labels(r, split) for r in runs))
    for r in runs:
        m = _metrics(r, split)
        params = r.get("params", {})
        labels = run_labels(r, split)
        key = f"{len(labels)}" + (f" ({chr(65 + label_sets.index(labels))})" if len(label_sets) > 1 else "")
        lines.append(
            f"| {r.get('model', '?')} | {r.get('method', '?')} | {r.get('protocol', '?')} | {key} | {r.get('seed', '')} | "
            f"{_cell(m, 'f1_macro')} | {_cell(m, 'eer')} | {_cell(m, 'accuracy', 100, 2)} | {_cell(m, 'uar')} | "
            f"{_num(m['eer_micro'])} | {params.get('trainable', 0):,} / {params.get('total', 0):,} | {_train_time(r)} |"
        )
    lines.append("")
    if len(label_sets) > 1:
        lines.append(f"**These runs were scored on {len(label_sets)} different label sets**: "
                     + "; ".join(f"({chr(65 + i)}) {', '.join(s)}" for i, s in enumerate(label_sets)) + ".\n")  # fmt: skip
    else:
        lines.append(f"Labels: {', '.join(label_sets[0])}.\n")
    clip_sets = {(r.get(split) or {}).get("clips_fingerprint") for r in runs} - {None}
    if len(clip_sets) > 1:
        lines.append(f"**These runs were scored on {len(clip_sets)} different sets of {split} clips** (see protocol, "
                     "and max_eval_samples in their config): their numbers are not on the same clips.\n")  # fmt: skip
    lines.append("Brackets: 95% percentile-bootstrap interval over the test clips (1,000 resamples); results.json also "
                 "holds the interval over speakers. Train time: wall-clock seconds of training (for cached "
                 "classifier features, computing them included), on the machine that ran it.")  # fmt: skip
    return "\n".join(lines)


def _train_time(r: dict) -> str:
    seconds = r.get("train_runtime_s")  # for cached classifier features, computing them is part of it
    return f"{seconds:.0f}" if isinstance(seconds, (int, float)) else "n/a"


def _group_key(r: dict, split: str = "test") -> tuple:
    cfg = (r.get("config") or {}).get("training") or {}
    return (r.get("model"), r.get("method"), r.get("dataset"), r.get("protocol"), cfg.get("learning_rate"),
            cfg.get("num_train_epochs"), run_labels(r, split))  # fmt: skip


def seed_table(runs: Sequence[dict], *, split: str = "test", by: str = "seed") -> str | None:
    """mean +- std (n) per metric of runs that differ only in seed (``by="seed"``), or of one run per fold/config
    (``by="protocol"``, the fold runner's table); None when no group has two runs."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in runs:
        key = _group_key(r, split)
        if by == "protocol":
            key = key[:3] + (str(r.get("protocol", "")).rstrip("0123456789"),) + key[4:]
        groups[key].append(r)
    rows = []
    for key, members in groups.items():
        if len(members) < 2:
            continue
        values = [str(r.get(by)) for r in members]
        if by == "seed" and len(set(values)) < len(values):
            raise ValueError(f"{key[0]} ({key[1]}, {key[3]}): the same seed twice ({', '.join(values)}); runs with "
                             "one seed are not independent repeats")  # fmt: skip
        cells = []
        for k, scale, digits in (("f1_macro", 1, 4), ("eer", 1, 4), ("accuracy", 100, 2), ("uar", 1, 4)):
            agg = aggregate([_metrics(r, split)[k] for r in members])
            cells.append(f"{_num(agg['mean'], scale, digits)} +- {_num(agg['std'], scale, digits)}")
        what = ", ".join(str(r.get(by)) for r in members)
        rows.append(f"| {key[0]} | {key[1]} | {key[3]} | {len(members)} ({what}) | " + " | ".join(cells) + " |")
    if not rows:
        return None
    label = "seeds" if by == "seed" else "folds / configs"
    return "\n".join([f"| model | method | protocol | {label} | F1 (macro) | EER | accuracy (%) | UAR |",
                      "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |", *rows,
                      "", "mean +- sample standard deviation over the runs."])  # fmt: skip


def check_runs(runs: Sequence[dict], *, split: str = "test", allow_label_mismatch: bool = False) -> None:
    """Refuse the same run given twice (it would count as two seeds), and runs scored on different label sets
    unless ``allow_label_mismatch``: their numbers measure different tasks."""
    seen: set[Path] = set()
    for i, r in enumerate(runs):
        path = Path(r.get("_path") or r.get("output_dir", f"run {i}")).resolve()
        if path in seen:
            raise ValueError(f"{path} is given twice: a run counts once (as one seed)")
        seen.add(path)
    sets: dict[tuple[str, ...], list[str]] = {}
    for r in runs:
        where = Path(r["_path"]).parent.name if r.get("_path") else str(r.get("output_dir", "?"))
        sets.setdefault(run_labels(r, split), []).append(where)
    if len(sets) > 1 and not allow_label_mismatch:
        described = "; ".join(f"{', '.join(runs_)}: {len(s)} labels ({', '.join(s)})" for s, runs_ in sets.items())
        raise ValueError(f"the runs were scored on different label sets ({described}); their numbers are not "
                         "comparable. Pass --allow_label_mismatch to tabulate them anyway")  # fmt: skip


def load_predictions(run: dict, split: str = "test") -> dict[str, tuple[int, np.ndarray]]:
    """clip id -> (label id, probabilities) from a run's <split>_predictions.csv, checked against its results.json
    (the same clips: a predictions file left from another scoring is refused, not paired)."""
    from hf_ser.evaluation.scoring import clips_fingerprint

    folder = Path(run.get("_path", run.get("output_dir", "."))).parent if run.get("_path") else Path(run["output_dir"])
    path = folder / f"{split}_predictions.csv"
    if not path.is_file():
        raise ValueError(f"{folder}: no {path.name} (runs scored before hf-ser wrote per-clip predictions cannot be "
                         "paired; re-score with recipes/eval.py score)")  # fmt: skip
    out = {}
    names = run_labels(run, split)
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        columns = [c[2:] for c in reader.fieldnames or [] if c.startswith("p_")]
        if columns and tuple(columns) != names:
            raise ValueError(f"{path}: probabilities over {columns}, but its results.json was scored on {list(names)}: "
                             "a stale predictions file; re-score the run")  # fmt: skip
        if "clip_id" not in (reader.fieldnames or []) and "file" not in (reader.fieldnames or []):
            raise ValueError(
                f"{path}: no clip_id (or file) column to pair clips by; re-score with recipes/eval.py score"
            )
        for row in reader:
            key = row.get("clip_id") or f"{row.get('corpus', '')}/{row['file']}"
            if key in out:
                raise ValueError(f"{path}: clip {key!r} appears twice; re-score with recipes/eval.py score")
            out[key] = (names.index(row["label"]), np.array([float(row[f"p_{e}"]) for e in names]))
    result = run.get(split) or {}
    expected = result.get("clips_fingerprint")
    if (expected and clips_fingerprint(list(out)) != expected) or len(out) != result.get("num_samples", len(out)):
        raise ValueError(f"{path} does not hold the clips its results.json reports ({len(out)} rows vs "
                         f"{result.get('num_samples')} clips scored): a stale predictions file; re-score the run")  # fmt: skip
    return out


def significance_table(runs: Sequence[dict], *, split: str = "test", n_boot: int = 2000) -> str:
    """Each run against the first (the reference), on the clips both scored: paired bootstrap of every metric's
    difference and McNemar's exact test on accuracy."""
    if len(runs) < 2:
        raise ValueError("--significance needs at least two runs")
    if len({run_labels(r, split) for r in runs}) > 1:
        raise ValueError("--significance: the runs were scored on different label sets; a paired test needs the same "
                         "labels on the same clips")  # fmt: skip
    ref = load_predictions(runs[0], split)
    lines = ["| reference | run | metric | difference (run - reference) | 95% interval | paired bootstrap p | McNemar p |",
             "| --- | --- | --- | ---: | --- | ---: | ---: |"]  # fmt: skip
    name = lambda r: f"{r.get('method', '?')} ({Path(r.get('output_dir', '?')).name})"  # noqa: E731
    for other in runs[1:]:
        pred = load_predictions(other, split)
        if set(pred) != set(ref):
            raise ValueError(f"{name(runs[0])} and {name(other)} were not scored on the same {split} clips "
                             f"({len(set(ref) ^ set(pred))} differ): a paired test needs the same clips")  # fmt: skip
        keys = sorted(ref)
        labels = np.array([ref[k][0] for k in keys])
        a, b = np.stack([ref[k][1] for k in keys]), np.stack([pred[k][1] for k in keys])
        boot = paired_bootstrap(a, b, labels, n_boot=n_boot)
        mc = mcnemar_exact(a.argmax(1) == labels, b.argmax(1) == labels)
        for m in INTERVAL_METRICS:
            d = boot[m]
            scale = 100 if m == "accuracy" else 1
            lines.append(f"| {name(runs[0])} | {name(other)} | {m} | {_num(d['difference'], scale)} | "
                         f"[{_num(d['low'], scale)}, {_num(d['high'], scale)}] | {d['p_value']:.4f} | "
                         + (f"{mc['p_value']:.4f} ({mc['only_a_correct']} vs {mc['only_b_correct']} discordant) |"
                            if m == "accuracy" else " |"))  # fmt: skip
    lines += ["", f"Paired bootstrap: {n_boot:,} resamples of the {len(ref)} shared clips, both runs' predictions kept "
              "together; p = twice the smaller share of resampled differences on either side of 0. McNemar: exact "
              "binomial test on the clips exactly one run gets right."]  # fmt: skip
    return "\n".join(lines)
