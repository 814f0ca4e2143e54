"""Scoring a model on a dataset that labels differently: the "fair subset" of the labels both have.

Both sides are mapped to canonical meanings (:func:`hf_ser.labels.align_labels`). Clips whose label the model cannot
predict are left out; the model's outputs that no dataset label means are dropped before the argmax (its
probabilities renormalised over the shared labels; outputs a map merges are summed). What was used and what was
left out is named in the result, and a rectangular confusion (every dataset label x every model output, all clips)
shows where the left-out clips went."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from hf_ser.evaluation.metrics.functional import softmax
from hf_ser.labels import LabelAlignment

__all__ = ["aligned_scores", "cross_confusion", "describe", "label_report"]


def aligned_scores(logits: np.ndarray, labels: np.ndarray, alignment: LabelAlignment):
    """(scores over the shared labels, labels as shared indices, boolean mask of the clips kept) for ``logits`` in the
    model's column order and ``labels`` as dataset ids.

    One model column per shared label: those logits, as they are (a permutation or a subset of the columns; the
    softmax over them is the renormalised probability). Merged columns: the log of their summed probabilities."""
    lookup = alignment.dataset_lookup()
    keep = np.array([int(y) in lookup for y in labels], dtype=bool)
    new_labels = np.array([lookup[int(y)] for y in labels[keep]], dtype=np.int64)
    kept = logits[keep]
    if alignment.is_identity:
        return kept, new_labels, keep
    if all(len(cols) == 1 for cols in alignment.model_columns):
        return kept[:, [cols[0] for cols in alignment.model_columns]], new_labels, keep
    probs = softmax(kept.astype(np.float64))
    merged = np.stack([probs[:, list(cols)].sum(axis=1) for cols in alignment.model_columns], axis=1)
    merged /= merged.sum(axis=1, keepdims=True)
    return np.log(np.clip(merged, 1e-12, None)).astype(np.float32), new_labels, keep


def cross_confusion(logits: np.ndarray, labels: np.ndarray, n_dataset: int) -> tuple[list[list[int]], list[list]]:
    """(counts, row-normalised percent) of dataset label x model output (its own argmax over all its outputs)."""
    counts = np.zeros((n_dataset, logits.shape[1]), dtype=np.int64)
    np.add.at(counts, (labels.astype(np.int64), logits.argmax(axis=1)), 1)
    support = counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        percent = np.where(support > 0, 100.0 * counts / support, np.nan)
    return counts.tolist(), [[None if np.isnan(v) else float(v) for v in row] for row in percent]


def label_report(
    alignment: LabelAlignment,
    dataset_labels: Sequence[str],
    model_labels: Sequence[str],
    labels: np.ndarray,
    label_map: Mapping[str, str] | None = None,
) -> dict:
    """What results.json says about the labels a score used: the shared set, what each side left out, clip counts."""
    per_label = Counter(int(y) for y in labels)
    left_out = {name: per_label.get(i, 0) for i, name in enumerate(dataset_labels) if name in alignment.dataset_only}
    used = sum(per_label.get(i, 0) for ids in alignment.dataset_ids for i in ids)
    return {
        "scored": list(alignment.names),
        "meanings": list(alignment.meanings),
        "dataset": list(dataset_labels),
        "model": list(model_labels),
        "dataset_left_out": left_out,
        "model_dropped": list(alignment.model_only),
        "dataset_merged": {
            alignment.names[k]: [dataset_labels[i] for i in ids]
            for k, ids in enumerate(alignment.dataset_ids)
            if len(ids) > 1
        },
        "model_merged": {
            alignment.names[k]: [model_labels[c] for c in cols]
            for k, cols in enumerate(alignment.model_columns)
            if len(cols) > 1
        },
        "clips_scored": int(used),
        "clips_total": int(len(labels)),
        "label_map": dict(label_map or {}),
        "same_label_set": alignment.is_identity,
    }


def describe(report: dict) -> str:
    """One line for the printout: which labels were scored and what was left out."""
    line = f"scored on {len(report['scored'])} shared labels ({', '.join(report['scored'])}): "
    line += f"{report['clips_scored']} of {report['clips_total']} clips"
    if report["dataset_left_out"]:
        line += "; left out (no model output): " + ", ".join(
            f"{k} ({v})" for k, v in report["dataset_left_out"].items()
        )
    for side in ("dataset", "model"):
        for name, members in report[f"{side}_merged"].items():
            line += f"; {side} labels merged (--label_map): {' + '.join(members)} -> {name}"
    if report["model_dropped"]:
        line += "; model outputs dropped before the argmax: " + ", ".join(report["model_dropped"])
    return line
