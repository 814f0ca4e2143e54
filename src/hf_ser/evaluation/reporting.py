"""What people read: confusion matrices (PNG + Table-4 Markdown), Table-3 comparisons, results.json."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "confusion_markdown",
    "load_results",
    "plot_confusion_matrix",
    "versions",
    "write_json",
]


def versions() -> dict[str, str]:
    """Library versions a result depends on (results.json, benchmark records)."""
    import platform

    import accelerate
    import datasets
    import peft
    import torch
    import transformers

    import hf_ser

    return {
        "hf_ser": hf_ser.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "accelerate": accelerate.__version__,
        "datasets": datasets.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _abbrev(names: Sequence[str]) -> list[str]:
    """The paper's 3-letter headers, where they stay distinct (``sad``/``sadness`` would not): else the names."""
    short = [n[:3] for n in names]
    return short if len(set(short)) == len(short) else list(names)


def confusion_markdown(percent: Sequence[Sequence[float]], labels: Sequence[str], *, abbreviate: bool = True,
                       columns: Sequence[str] | None = None) -> str:  # fmt: skip
    """Row-normalised confusion matrix in the paper's Table 4 layout (``label | ang | cal | ...``, 2 decimals);
    ``columns`` (another label set: a model's outputs) makes it rectangular, true labels x predicted."""
    rows = _abbrev(labels) if abbreviate else list(labels)
    heads = rows if columns is None else (_abbrev(columns) if abbreviate else list(columns))
    lines = ["| label | " + " | ".join(heads) + " |", "| --- |" + " ---: |" * len(heads)]
    for name, row in zip(rows, percent, strict=True):
        cells = ["n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}" for v in row]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_confusion_matrix(
    percent: Sequence[Sequence[float]],
    labels: Sequence[str],
    path: str | os.PathLike,
    *,
    title: str = "",
    columns: Sequence[str] | None = None,
) -> Path:
    """Row-normalised confusion matrix as a PNG: labelled axes, percent in every cell; ``columns`` (a model's own
    outputs) for a rectangular one, true labels x predicted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = list(labels if columns is None else columns)
    m = np.array([[np.nan if v is None else v for v in row] for row in percent], dtype=float)
    n, k = len(labels), len(cols)
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * max(k, 2), 0.8 + 0.75 * max(n, 2)), dpi=120)
    im = ax.imshow(np.nan_to_num(m, nan=0.0), cmap="Blues", vmin=0, vmax=100)
    ax.set_xticks(range(k), cols, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(k):
            v = m[i, j]
            text = "n/a" if math.isnan(v) else f"{v:.1f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if v > 55 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="% of true class")
    from hf_ser.outputs import save_figure

    return save_figure(fig, ax, path, title)


def write_json(obj: dict, path: str | os.PathLike) -> Path:
    """Write ``obj`` as JSON, complete or not at all (hf_ser.outputs.atomic_file)."""
    from hf_ser.outputs import atomic_file

    out = Path(path)
    # NaN is not JSON: undefined per-class values are written as null.
    text = json.dumps(_nan_to_none(obj), indent=2, sort_keys=False) + "\n"
    with atomic_file(out) as fh:
        fh.write(text)
    return out


def _nan_to_none(x):
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_nan_to_none(v) for v in x]
    return x


def load_results(path: str | os.PathLike) -> dict:
    """results.json of a run (a run folder or the file itself)."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    if not p.is_file():
        raise FileNotFoundError(f"no results.json at {path}")
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{p}: not valid JSON ({err}); re-score the run with recipes/eval.py score") from err
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a JSON object of results, got {type(data).__name__}")
    data.setdefault("_path", str(p))
    return data
