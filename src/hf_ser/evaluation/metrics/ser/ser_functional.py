"""SER metrics as plain numpy functions: EER (binary, one-vs-rest, pooled), accuracy, F1, UAR, confusion.

Equal error rate (EER), as computed here
-----------------------------------------
For a binary problem with scores ``s`` (higher = more likely positive) and a threshold ``t``, a sample is accepted
when ``s >= t``. The false-acceptance rate FAR(t) is the fraction of negatives accepted and the false-rejection
rate FRR(t) the fraction of positives rejected. Sweeping ``t`` over every distinct score (plus +inf) traces the
ROC curve; FAR rises and FRR falls. The EER is the value where the two curves cross, found by linear
interpolation between the two thresholds that bracket the crossing (so it is exact on the piecewise-linear ROC
curve, not snapped to a neighbouring threshold). Tied scores form one step of the sweep: a tie between positives
and negatives is a diagonal ROC segment, which is what breaking the tie at random gives in expectation.

For C classes: ``eer`` is the mean of the C one-vs-rest EERs (class c's score column against "is class c"),
``eer_micro`` pools all N x C (sample, class) scores into one binary problem. A class with no positive (or no
negative) sample has no defined one-vs-rest EER: ``eer_per_class`` gives NaN for it and ``eer`` averages the
defined classes; an input where no class is defined raises ValueError.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

__all__ = [
    "binary_eer",
    "confusion_matrix",
    "eer_micro",
    "eer_per_class",
    "multiclass_eer",
    "roc_points",
    "ser_metrics",
    "softmax",
]


def _as_scores(scores, name: str = "prediction_scores") -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ValueError(f"{name} has {bad} NaN or infinite values")
    return arr


def _as_references(references, n: int, num_classes: int | None = None) -> np.ndarray:
    ref = np.asarray(references)
    if ref.ndim != 1:
        raise ValueError(f"references must be 1-D class ids, got shape {ref.shape}")
    if len(ref) != n:
        raise ValueError(f"references has {len(ref)} items but the scores have {n}")
    if ref.size and not np.issubdtype(ref.dtype, np.integer):
        if not np.all(np.equal(np.mod(ref, 1), 0)):
            raise ValueError("references must be integer class ids")
        ref = ref.astype(np.int64)
    if num_classes is not None and ref.size and (ref.min() < 0 or ref.max() >= num_classes):
        raise ValueError(f"references must be in [0, {num_classes}), got values in [{ref.min()}, {ref.max()}]")
    return ref.astype(np.int64)


def roc_points(scores, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(FAR, FRR, thresholds) at +inf and at every distinct score, highest threshold first."""
    s = _as_scores(scores)
    if s.ndim != 1:
        raise ValueError(f"binary scores must be 1-D, got shape {s.shape}")
    y = _as_references(labels, len(s)).astype(bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"EER needs positives and negatives; got {n_pos} positives and {n_neg} negatives")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(y)[last_of_tie]
    fps = last_of_tie + 1 - tps
    far = np.r_[0.0, fps / n_neg]
    frr = np.r_[1.0, 1.0 - tps / n_pos]
    return far, frr, np.r_[np.inf, s[last_of_tie]]


def binary_eer(scores, labels, *, return_threshold: bool = False):
    """EER of 1-D ``scores`` against boolean/0-1 ``labels`` (see the module docstring)."""
    far, frr, thr = roc_points(scores, labels)
    diff = frr - far  # from +1 (threshold +inf) down to -1 (lowest threshold), never rising
    i = int(np.argmax(diff <= 0))
    if diff[i] == 0 or i == 0:
        eer, t = float(far[i]), float(thr[i])
    else:
        w = diff[i - 1] / (diff[i - 1] - diff[i])
        eer = float(far[i - 1] + w * (far[i] - far[i - 1]))
        t = float(thr[i]) if not np.isfinite(thr[i - 1]) else float(thr[i - 1] + w * (thr[i] - thr[i - 1]))
    return (eer, t) if return_threshold else eer


def _check_class_scores(scores, references) -> tuple[np.ndarray, np.ndarray]:
    s = _as_scores(scores)
    if s.ndim != 2:
        raise ValueError(f"class scores must be N x C, got shape {s.shape}")
    if s.shape[1] < 2:
        raise ValueError(f"class scores need at least 2 classes, got {s.shape[1]}")
    return s, _as_references(references, s.shape[0], s.shape[1])


def eer_per_class(scores, references) -> np.ndarray:
    """One-vs-rest EER of each class; NaN where the class has no positive or no negative sample."""
    s, ref = _check_class_scores(scores, references)
    out = np.full(s.shape[1], np.nan)
    for c in range(s.shape[1]):
        pos = ref == c
        if pos.any() and not pos.all():
            out[c] = binary_eer(s[:, c], pos)
    return out


def multiclass_eer(scores, references) -> float:
    """Mean of the defined one-vs-rest EERs (``eer``)."""
    per_class = eer_per_class(scores, references)
    if np.isnan(per_class).all():
        raise ValueError("no class has both positive and negative samples: EER is undefined (a single class?)")
    if np.isnan(per_class).any():
        missing = np.flatnonzero(np.isnan(per_class)).tolist()
        warnings.warn(
            f"classes {missing} have no positive (or no negative) sample; eer averages the others", stacklevel=2
        )
    return float(np.nanmean(per_class))


def eer_micro(scores, references) -> float:
    """EER of all N x C (sample, class) scores pooled into one binary problem."""
    s, ref = _check_class_scores(scores, references)
    labels = np.zeros_like(s, dtype=bool)
    labels[np.arange(len(ref)), ref] = True
    return binary_eer(s.ravel(), labels.ravel())


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _looks_like_probabilities(s: np.ndarray) -> bool:
    return bool(s.min() >= 0 and s.max() <= 1 and np.allclose(s.sum(axis=1), 1.0, atol=1e-4))


def confusion_matrix(predictions, references, num_classes: int) -> np.ndarray:
    """Counts, rows = reference class, columns = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(references), np.asarray(predictions)), 1)
    return cm


def ser_metrics(
    predictions, references, *, label_names: Sequence[str] | None = None, scores_are: str = "auto"
) -> dict:
    """The whole SER bundle from N x C logits or probabilities.

    Returns accuracy, f1_macro, f1_weighted, uar, eer, eer_micro, per-class recall and EER (dicts by label name;
    NaN where undefined), and the confusion matrix as counts and row-normalised percent (NaN rows for classes
    absent from ``references``). EERs are computed on probabilities (softmax of logits), the only scale on which
    pooled (micro) scores of different classes are comparable.
    """
    s, ref = _check_class_scores(predictions, references)
    n_classes = s.shape[1]
    names = list(label_names) if label_names is not None else [str(i) for i in range(n_classes)]
    if len(names) != n_classes:
        raise ValueError(f"{len(names)} label names for {n_classes} score columns")
    if scores_are not in ("auto", "logits", "probabilities"):
        raise ValueError(f"scores_are must be 'auto', 'logits' or 'probabilities', got {scores_are!r}")
    probs = (
        s if scores_are == "probabilities" or (scores_are == "auto" and _looks_like_probabilities(s)) else softmax(s)
    )
    pred = s.argmax(axis=1)
    cm = confusion_matrix(pred, ref, n_classes)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    tp = np.diag(cm).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, tp / support, np.nan)
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        f1 = np.where(precision + np.nan_to_num(recall) > 0, 2 * precision * recall / (precision + recall), 0.0)
        cm_percent = np.where(support[:, None] > 0, 100.0 * cm / support[:, None], np.nan)
    present = support > 0
    f1 = np.where(present, f1, 0.0)
    per_class_eer = eer_per_class(probs, ref)
    # A tiny or one-class split (a smoke run, --max_eval_samples 1) still gets every metric that is defined; the
    # undefined ones are NaN (null in results.json), said once, never an exception that throws away a run.
    if np.isnan(per_class_eer).all():
        warnings.warn("no class has both positive and negative samples: eer is undefined (NaN)", stacklevel=2)
        eer = float("nan")
    else:
        eer = float(np.nanmean(per_class_eer))
    pooled = np.zeros_like(probs, dtype=bool)
    pooled[np.arange(len(ref)), ref] = True
    micro = binary_eer(probs.ravel(), pooled.ravel()) if 0 < pooled.sum() < pooled.size else float("nan")
    return {
        "accuracy": float(tp.sum() / len(ref)),
        # F1 over the classes present in the references (as scikit-learn with labels=present classes).
        "f1_macro": float(f1[present].mean()),
        "f1_weighted": float((f1 * support).sum() / support.sum()),
        "uar": float(np.nanmean(recall)),
        "eer": eer,
        "eer_micro": micro,
        "recall_per_class": dict(zip(names, recall.tolist(), strict=True)),
        "eer_per_class": dict(zip(names, per_class_eer.tolist(), strict=True)),
        "support": dict(zip(names, support.tolist(), strict=True)),
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_percent": cm_percent.tolist(),
        "labels": names,
    }
