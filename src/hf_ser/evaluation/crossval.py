"""Cross-validation over a dataset's configs (speaker folds, leave-one-corpus-out): which configs, and the report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hf_ser.data.loading import DataError
from hf_ser.evaluation.reporting import write_json
from hf_ser.evaluation.stats import aggregate
from hf_ser.labels import CORPORA

__all__ = ["cross_validation_report", "dataset_configs", "expand_protocols"]

METRICS = (("accuracy", 100, 2), ("f1_macro", 1, 4), ("uar", 1, 4), ("eer", 1, 4))


def dataset_configs(dataset: str, source_options=None) -> list[str]:
    """The config names of ``--dataset`` (a built folder's card, or a user's data as prepared)."""
    from hf_ser.data.loading import dataset_configs as card_configs
    from hf_ser.data.loading import resolve_dataset

    folder = resolve_dataset(dataset, source_options)
    configs = card_configs(folder)
    if not configs:
        raise DataError(f"--dataset {dataset}: no configs in its dataset card (README.md)")
    return configs


def expand_protocols(spec: str, dataset: str, source_options=None) -> list[str]:
    """``kfold`` / ``loco`` / ``corpora`` / a comma list -> the config names, checked against the dataset."""
    available = dataset_configs(dataset, source_options)
    if spec == "kfold":
        names = sorted(
            (c for c in available if c.startswith("speaker_fold")), key=lambda c: int(c.removeprefix("speaker_fold"))
        )
    elif spec == "loco":
        names = [c for c in available if c.startswith("loco_")]
    elif spec == "emobox" or spec.startswith("emobox:"):  # EmoBox's folds (build.py --emobox-folds)
        prefix = "emobox_fold" if spec == "emobox" else f"{spec.split(':', 1)[1]}_emobox_fold"
        names = sorted((c for c in available if c.startswith(prefix) and c.removeprefix(prefix).isdigit()),
                       key=lambda c: int(c.removeprefix(prefix)))  # fmt: skip
    elif spec == "corpora":
        names = [c for c in available if c in CORPORA or not (c in ("default", "random", "speaker")
                 or c.startswith(("loco_", "speaker_fold")) or "emobox_fold" in c)]  # fmt: skip
    else:
        names = [p.strip() for p in spec.split(",") if p.strip()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"--protocols {spec}: {', '.join(repeated)} listed twice (each config is one fold of the "
                        "mean +- std)")  # fmt: skip
    missing = [n for n in names if n not in available]
    if missing or not names:
        raise DataError(f"--protocols {spec}: {'not in' if missing else 'nothing in'} {dataset} "
                        f"({', '.join(missing) or 'no such configs'}); it has {', '.join(available)}")  # fmt: skip
    return names


def _fmt(v, scale, digits):
    return "n/a" if v is None or v != v else f"{scale * v:.{digits}f}"


def cross_validation_report(runs: Sequence[dict], out_dir: str | Path, split: str = "test") -> str:
    """Write cross_validation.json and .md (per-config rows with 95% intervals, then mean +- std); returns the md."""
    out = Path(out_dir)
    rows = ["| config | test clips | test speakers | accuracy (%) | F1 (macro) | UAR | EER |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    per_config = []
    for r in runs:
        m = r[split]
        iv = (m.get("intervals") or {}).get("clips") or {}
        cells = []
        for k, scale, digits in METRICS:
            lo_hi = iv.get(k)
            ci = f" [{_fmt(lo_hi[0], scale, digits - 1)}, {_fmt(lo_hi[1], scale, digits - 1)}]" if lo_hi else ""
            cells.append(_fmt(m[k], scale, digits) + ci)
        speakers = (m.get("intervals") or {}).get("num_speakers", "")
        rows.append(f"| {r['protocol']} | {m['num_samples']} | {speakers} | " + " | ".join(cells) + " |")
        per_config.append({"protocol": r["protocol"], "output_dir": r["output_dir"], split: {k: m[k] for k, *_ in METRICS},
                           "intervals": m.get("intervals"), "num_samples": m["num_samples"]})  # fmt: skip
    summary = {k: aggregate([r[split][k] for r in runs]) for k, *_ in METRICS}
    rows.append("| **mean +- std** | | | " + " | ".join(
        f"**{_fmt(summary[k]['mean'], s, d)} +- {_fmt(summary[k]['std'], s, d)}**" for k, s, d in METRICS) + " |")  # fmt: skip
    first = runs[0] if runs else {}
    head = (f"{first.get('method', '?')} fine-tuning of {first.get('model', '?')} on {first.get('dataset', '?')}, "
            f"{len(runs)} configs. Brackets: 95% bootstrap interval over each config's test clips; last row: mean +- "
            "sample standard deviation over the configs.")  # fmt: skip
    md = head + "\n\n" + "\n".join(rows)
    from hf_ser.outputs import atomic_file

    with atomic_file(out / "cross_validation.md") as fh:
        fh.write(md + "\n")
    write_json({"configs": per_config, "summary": summary, "method": first.get("method"), "model": first.get("model"),
                "dataset": first.get("dataset")}, out / "cross_validation.json")  # fmt: skip
    return md
