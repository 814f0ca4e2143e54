"""EER and the SER bundle against brute-force sweeps and scikit-learn; the evaluate modules, their doctests."""

from __future__ import annotations

import doctest
import sys
import warnings

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_curve
from sklearn.metrics import confusion_matrix as sk_confusion

import hf_ser.evaluation.metrics as M
from hf_ser.evaluation.metrics import binary_eer, eer_micro, eer_per_class, multiclass_eer, roc_points, ser_metrics


def brute_force_eer(scores, labels) -> float:
    """Independent O(N^2) reference: FAR/FRR at every candidate threshold, then the interpolated crossing."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    thresholds = [np.inf] + sorted(set(scores.tolist()), reverse=True)
    pts = [(np.mean(scores[~labels] >= t), np.mean(scores[labels] < t)) for t in thresholds]
    for (far0, frr0), (far1, frr1) in zip(pts, pts[1:], strict=False):
        d0, d1 = frr0 - far0, frr1 - far1
        if d0 >= 0 >= d1:
            if d0 == d1:
                return far0
            w = d0 / (d0 - d1)
            return far0 + w * (far1 - far0)
    raise AssertionError("no crossing")


def _cases():
    rng = np.random.default_rng(0)
    out = []
    for n, sep in ((20, 0.5), (200, 1.0), (1000, 0.2), (50, 3.0)):
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        out.append((rng.normal(size=n) + sep * y, y))
    y = rng.integers(0, 2, 300)
    y[:2] = [0, 1]
    out.append((np.round(rng.normal(size=300) + y, 1), y))  # heavy ties
    y = np.r_[np.zeros(990), np.ones(10)].astype(int)
    out.append((rng.normal(size=1000) + 2 * y, y))  # imbalance 99:1
    return out


@pytest.mark.parametrize(("scores", "labels"), _cases())
def test_binary_eer_matches_brute_force_and_sklearn_roc(scores, labels):
    assert binary_eer(scores, labels) == pytest.approx(brute_force_eer(scores, labels), abs=1e-12)
    far, frr, thr = roc_points(scores, labels)
    fpr, tpr, sk_thr = roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(far, fpr)
    np.testing.assert_allclose(frr, 1 - tpr)
    np.testing.assert_allclose(thr[1:], sk_thr[1:])


def test_binary_eer_known_values():
    assert binary_eer([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 0.0  # perfect separation
    assert binary_eer([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 1.0  # inverted scores
    assert binary_eer([0.5] * 6, [0, 1, 0, 1, 1, 0]) == 0.5  # all tied: chance
    assert binary_eer([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.5
    # FAR = FRR exactly at a threshold (0.6): no interpolation needed
    assert binary_eer([0.1, 0.6, 0.5, 0.9], [0, 0, 1, 1]) == 0.5
    # between thresholds 0.9 (FAR 0, FRR 1/3) and 0.6 (FAR 1/2, FRR 1/3) the curves cross at 1/3, not at a
    # neighbouring threshold's 0 or 1/2
    assert binary_eer([0.1, 0.6, 0.5, 0.9, 0.95], [0, 0, 1, 1, 1]) == pytest.approx(1 / 3)
    eer, t = binary_eer([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], return_threshold=True)
    assert eer == 0 and 0.2 < t <= 0.8
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 20000)
    assert abs(binary_eer(rng.normal(size=20000), y) - 0.5) < 0.02  # random scores


def test_eer_invariant_to_monotone_transform_and_label_permutation():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 500)
    s = rng.normal(size=500) + y
    assert binary_eer(np.exp(3 * s), y) == pytest.approx(binary_eer(s, y))
    perm = rng.permutation(500)
    assert binary_eer(s[perm], y[perm]) == pytest.approx(binary_eer(s, y))


def test_multiclass_eer_mean_one_vs_rest_and_micro_pooled():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 5, 400)
    s = rng.normal(size=(400, 5))
    s[np.arange(400), y] += 1.5
    per = eer_per_class(s, y)
    assert per == pytest.approx([brute_force_eer(s[:, c], y == c) for c in range(5)])
    assert multiclass_eer(s, y) == pytest.approx(per.mean())
    onehot = np.eye(5, dtype=bool)[y]
    assert eer_micro(s, y) == pytest.approx(brute_force_eer(s.ravel(), onehot.ravel()))


def test_class_without_positives_is_nan_and_left_out():
    s = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.7, 0.3, 0.0], [0.1, 0.9, 0.0]])
    y = np.array([0, 1, 0, 1])
    per = eer_per_class(s, y)
    assert np.isnan(per[2]) and per[0] == 0 and per[1] == 0
    with pytest.warns(UserWarning, match=r"classes \[2\]"):
        assert multiclass_eer(s, y) == 0.0


@pytest.mark.parametrize(
    ("scores", "refs", "match"),
    [
        ([], [], "empty"),
        ([0.1, 0.2], [0, 1, 1], "references has 3 items but the scores have 2"),
        ([0.1, np.nan, 0.3], [0, 1, 1], "NaN or infinite"),
        ([0.1, np.inf], [0, 1], "NaN or infinite"),
        ([0.1, 0.2, 0.3], [1, 1, 1], "0 negatives"),
        ([0.1, 0.2, 0.3], [0, 0, 0], "0 positives"),
    ],
)
def test_binary_bad_input(scores, refs, match):
    with pytest.raises(ValueError, match=match):
        binary_eer(scores, refs)


def test_multiclass_bad_input():
    with pytest.raises(ValueError, match="single class"):
        multiclass_eer([[0.2, 0.8], [0.3, 0.7]], [1, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        ser_metrics([[1.0], [2.0]], [0, 0])
    with pytest.raises(ValueError, match=r"must be in \[0, 2\)"):
        ser_metrics([[1.0, 0.0], [0.0, 1.0]], [0, 2])
    with pytest.raises(ValueError, match="2 label names for 3"):
        ser_metrics(np.eye(3), [0, 1, 2], label_names=["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        ser_metrics(np.zeros((0, 3)), [])


def test_ser_bundle_matches_sklearn():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 8, 1000)
    logits = rng.normal(size=(1000, 8))
    logits[np.arange(1000), y] += rng.uniform(0, 3, 1000)
    r = ser_metrics(logits, y, label_names=list("abcdefgh"))
    pred = logits.argmax(1)
    assert r["accuracy"] == pytest.approx(np.mean(pred == y))
    assert r["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert r["f1_weighted"] == pytest.approx(f1_score(y, pred, average="weighted"))
    assert r["uar"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert r["confusion_matrix"] == sk_confusion(y, pred, labels=range(8)).tolist()
    pct = np.array(r["confusion_matrix_percent"])
    assert pct.sum(1) == pytest.approx([100] * 8)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert r["eer"] == pytest.approx(eer_per_class(probs, y).mean())
    assert r["eer_micro"] == pytest.approx(eer_micro(probs, y))
    # probabilities in, the same numbers out
    r2 = ser_metrics(probs, y, label_names=list("abcdefgh"))
    assert r2["eer"] == pytest.approx(r["eer"]) and r2["accuracy"] == r["accuracy"]


def test_ser_bundle_with_absent_class_matches_sklearn_on_present_labels():
    y = np.array([0, 0, 1, 1, 2, 2])
    logits = np.eye(4)[[0, 1, 1, 1, 2, 3]] * 3.0  # class 3 predicted once, never true
    r = ser_metrics(logits, y)
    assert r["f1_macro"] == pytest.approx(f1_score(y, logits.argmax(1), labels=[0, 1, 2], average="macro"))
    assert np.isnan(r["recall_per_class"]["3"]) and all(np.isnan(r["confusion_matrix_percent"][3]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the bundle reports NaN per class without warning noise
        ser_metrics(logits, y)


@pytest.mark.parametrize("name", M.MODULES)
def test_evaluate_module_doctests_and_card_examples(name):
    path = M.module_path(name)
    module = sys.modules[type(M.load(name)).__module__]  # as evaluate imports it: with its vendored maths beside it
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0
    card = doctest.testfile(f"{path}/README.md", module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert card.attempted >= 2 and card.failed == 0


def test_evaluate_modules_load_offline_and_agree_with_functions():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 8, 300)
    s = rng.normal(size=(300, 8))
    eer = M.load("eer").compute(prediction_scores=s, references=y)
    assert eer["eer"] == pytest.approx(multiclass_eer(s, y)) and eer["eer_micro"] == pytest.approx(eer_micro(s, y))
    ser = M.load("ser").compute(predictions=s, references=y)
    assert ser["accuracy"] == pytest.approx(np.mean(s.argmax(1) == y))
    with pytest.raises(ValueError, match="0/1 references"):
        M.load("eer").compute(prediction_scores=[0.1, 0.2, 0.3], references=[0, 1, 2])
    with pytest.raises(ValueError, match="unknown hf-ser metric"):
        M.load("bleu")
