"""Error bars and significance for SER results: bootstrap intervals, paired tests, aggregation over seeds and folds.

- **Intervals**: 95% percentile bootstrap of accuracy, macro F1, UAR and EER over the test clips (1,000 resamples),
  and, where the test split has speakers, over speakers (a cluster bootstrap: every clip of a drawn speaker comes
  along). Clips of one speaker are correlated (same voice, same recording conditions), so the clip interval is too
  narrow for the question "how would this do on new speakers?"; the speaker interval answers it.
- **Paired tests** between two runs scored on the same test clips: a paired bootstrap of the metric difference
  (resampling clips, both runs' predictions kept together; p = twice the smaller tail share), and McNemar's exact
  test on the clips exactly one of the two gets right (for accuracy).
- **Aggregation**: mean +- sample standard deviation and n over seeds or folds.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

__all__ = [
    "INTERVAL_METRICS",
    "aggregate",
    "bootstrap_intervals",
    "mcnemar_exact",
    "metric_values",
    "paired_bootstrap",
]

INTERVAL_METRICS = ("accuracy", "f1_macro", "uar", "eer")


def _class_counts(probs: np.ndarray, refs: np.ndarray, W: np.ndarray) -> dict[str, np.ndarray]:
    """Per resample (rows of the count matrix W, B x N): the metrics from weighted confusion counts."""
    c = probs.shape[1]
    pred = probs.argmax(1)
    ref_onehot = np.eye(c)[refs]  # N x C
    pred_onehot = np.eye(c)[pred]
    correct = (pred == refs)[:, None] * ref_onehot
    support, predicted, tp = W @ ref_onehot, W @ pred_onehot, W @ correct  # B x C
    present = support > 0
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=present)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    n_present = present.sum(1)
    return {
        "accuracy": tp.sum(1) / W.sum(1),
        "f1_macro": (f1 * present).sum(1) / n_present,
        "uar": (recall * present).sum(1) / n_present,
    }


def _weighted_eer(scores: np.ndarray, positive: np.ndarray, W: np.ndarray) -> np.ndarray:
    """binary_eer (hf_ser.evaluation.metrics) of every resample at once: the resamples are count weights over the same scores,
    so one sort serves them all; ties form one step, the crossing is interpolated, as binary_eer does."""
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], positive[order].astype(np.float64)
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    Wo = W[:, order]
    tp = np.cumsum(Wo * y, axis=1)[:, last]
    fp = np.cumsum(Wo * (1 - y), axis=1)[:, last]
    n_pos, n_neg = tp[:, -1:], fp[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        far = np.hstack([np.zeros_like(n_pos), fp / n_neg])
        frr = np.hstack([np.ones_like(n_pos), 1 - tp / n_pos])
    diff = frr - far
    i = np.argmax(diff <= 0, axis=1)
    rows = np.arange(len(W))
    prev = np.maximum(i - 1, 0)
    d0, d1 = diff[rows, prev], diff[rows, i]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where((i == 0) | (d1 == 0), 0.0, d0 / (d0 - d1))
    eer = np.where((i == 0) | (d1 == 0), far[rows, i], far[rows, prev] + w * (far[rows, i] - far[rows, prev]))
    return np.where((n_pos[:, 0] > 0) & (n_neg[:, 0] > 0), eer, np.nan)


def _resampled_metrics(probs: np.ndarray, refs: np.ndarray, W: np.ndarray, metrics: Sequence[str]) -> dict:
    out = {k: v for k, v in _class_counts(probs, refs, W).items() if k in metrics}
    if "eer" in metrics:
        per_class = np.stack([_weighted_eer(probs[:, k], refs == k, W) for k in range(probs.shape[1])], axis=1)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out["eer"] = np.nanmean(per_class, axis=1)
    return out


def metric_values(probs: np.ndarray, refs: np.ndarray, metrics: Sequence[str] = INTERVAL_METRICS) -> dict[str, float]:
    """The metrics on the whole set (one resample that is the set itself)."""
    vals = _resampled_metrics(np.asarray(probs, np.float64), np.asarray(refs), np.ones((1, len(refs))), metrics)
    return {k: float(v[0]) for k, v in vals.items()}


def _count_matrix(n: int, groups: np.ndarray | None, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """B x N: how often each clip is drawn in each resample (of clips, or of whole speakers with ``groups``)."""
    if groups is None:
        return np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)]).astype(np.float64)
    _, inverse = np.unique(groups, return_inverse=True)
    g = inverse.max() + 1
    drawn = np.stack([np.bincount(rng.integers(0, g, g), minlength=g) for _ in range(n_boot)]).astype(np.float64)
    return drawn[:, inverse]


def bootstrap_intervals(probs: np.ndarray, refs: np.ndarray, *, groups: Sequence | None = None, n_boot: int = 1000,
                        level: float = 0.95, seed: int = 0,
                        metrics: Sequence[str] = INTERVAL_METRICS) -> dict[str, list[float]]:  # fmt: skip
    """{metric: [low, high]}: the percentile bootstrap interval, over clips or (``groups``) over speakers."""
    probs, refs = np.asarray(probs, dtype=np.float64), np.asarray(refs)
    W = _count_matrix(
        len(refs), np.asarray(groups) if groups is not None else None, n_boot, np.random.default_rng(seed)
    )
    draws = _resampled_metrics(probs, refs, W, metrics)
    alpha = (1 - level) / 2
    out = {}
    for m in metrics:
        v = draws[m][np.isfinite(draws[m])]
        out[m] = [float(np.quantile(v, alpha)), float(np.quantile(v, 1 - alpha))] if len(v) else [math.nan, math.nan]
    return out


def paired_bootstrap(probs_a: np.ndarray, probs_b: np.ndarray, refs: np.ndarray, *, n_boot: int = 2000, seed: int = 0,
                     metrics: Sequence[str] = INTERVAL_METRICS) -> dict[str, dict[str, float]]:  # fmt: skip
    """Per metric: the difference b - a on the test set, its 95% interval and a two-sided p-value (twice the smaller
    share of resampled differences on either side of 0). Both runs are resampled with the same clips."""
    a, b, refs = np.asarray(probs_a, np.float64), np.asarray(probs_b, np.float64), np.asarray(refs)
    W = _count_matrix(len(refs), None, n_boot, np.random.default_rng(seed))
    da, db = _resampled_metrics(a, refs, W, metrics), _resampled_metrics(b, refs, W, metrics)
    va, vb = metric_values(a, refs, metrics), metric_values(b, refs, metrics)
    out = {}
    for m in metrics:
        d = db[m] - da[m]
        d = d[np.isfinite(d)]
        p = min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean())) if len(d) else math.nan
        out[m] = {"difference": vb[m] - va[m], "low": float(np.quantile(d, 0.025)),
                  "high": float(np.quantile(d, 0.975)), "p_value": float(p)}  # fmt: skip
    return out


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, float]:
    """McNemar's exact (binomial) test on the discordant clips: b01 = only a right, b10 = only b right."""
    from scipy.stats import binomtest

    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    n = only_a + only_b
    p = 1.0 if n == 0 else float(binomtest(only_b, n, 0.5).pvalue)
    return {"only_a_correct": only_a, "only_b_correct": only_b, "p_value": p}


def aggregate(values: Sequence[float]) -> dict[str, float]:
    """mean, sample std (n - 1; 0 for one value) and n of the finite values."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if not len(v):
        return {"mean": math.nan, "std": math.nan, "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "n": int(len(v))}
