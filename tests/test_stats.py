"""Bootstrap intervals cover the truth as often as they claim; paired tests tell a different pair from an equal one;
the fold runner and the compare command report them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import NO_EVAL, TINY, load_script

from hf_ser.evaluation.stats import aggregate, bootstrap_intervals, mcnemar_exact, paired_bootstrap

eval_recipe = load_script("recipes/eval.py")
cv_recipe = load_script("recipes/cross_validate.py")


def _predictions(rng, n, accuracy, classes=8):
    """Probabilities of a classifier that is right with probability ``accuracy`` on each clip."""
    refs = rng.integers(0, classes, n)
    right = rng.random(n) < accuracy
    pred = np.where(right, refs, (refs + rng.integers(1, classes, n)) % classes)
    probs = np.full((n, classes), 0.3 / (classes - 1))
    probs[np.arange(n), pred] = 0.7
    return probs, refs


def test_clip_intervals_cover_the_true_accuracy_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    true_acc, reps, hits = 0.62, 300, 0
    for _ in range(reps):
        probs, refs = _predictions(rng, 250, true_acc)
        lo, hi = bootstrap_intervals(probs, refs, n_boot=300, metrics=["accuracy"], seed=int(rng.integers(1e9)))[
            "accuracy"
        ]
        hits += lo <= true_acc <= hi
    coverage = hits / reps
    assert 0.91 <= coverage <= 0.98, coverage  # binomial noise of 300 reps around 0.95 is +-0.025


def test_speaker_intervals_are_wider_when_speakers_differ():
    """Clips of one speaker share its difficulty: resampling speakers must show that uncertainty; clips hide it."""
    rng = np.random.default_rng(1)
    probs, refs, groups = [], [], []
    for s in range(12):
        p, r = _predictions(rng, 40, rng.uniform(0.3, 0.9))
        probs.append(p)
        refs.append(r)
        groups += [f"spk{s}"] * 40
    probs, refs = np.concatenate(probs), np.concatenate(refs)
    clips = bootstrap_intervals(probs, refs, n_boot=400, metrics=["accuracy"])["accuracy"]
    speakers = bootstrap_intervals(probs, refs, groups=groups, n_boot=400, metrics=["accuracy"])["accuracy"]
    assert speakers[1] - speakers[0] > 1.5 * (clips[1] - clips[0])


def test_paired_tests_tell_a_different_pair_from_an_equal_one():
    rng = np.random.default_rng(2)
    probs_a, refs = _predictions(rng, 400, 0.55)
    better = probs_a.copy()
    wrong = probs_a.argmax(1) != refs
    fix = np.flatnonzero(wrong)[: int(0.6 * wrong.sum())]  # b corrects 60% of a's errors
    better[fix] = 0.3 / 7
    better[fix, refs[fix]] = 0.7
    diff = paired_bootstrap(probs_a, better, refs, n_boot=1000)
    assert diff["accuracy"]["difference"] > 0.2 and diff["accuracy"]["p_value"] < 0.01
    assert mcnemar_exact(probs_a.argmax(1) == refs, better.argmax(1) == refs)["p_value"] < 1e-6
    # the same errors in another order of clips: no difference to find
    shuffled = probs_a.copy()
    same = paired_bootstrap(probs_a, shuffled, refs, n_boot=500)
    assert same["accuracy"]["difference"] == 0 and same["accuracy"]["p_value"] == 1.0
    # two classifiers of equal skill with independent errors: no significance (most of the time; fixed seed here)
    other = _predictions_like(rng, refs, 0.55)
    assert paired_bootstrap(probs_a, other, refs, n_boot=1000)["accuracy"]["p_value"] > 0.05


def _predictions_like(rng, refs, accuracy, classes=8):
    right = rng.random(len(refs)) < accuracy
    pred = np.where(right, refs, (refs + rng.integers(1, classes, len(refs))) % classes)
    probs = np.full((len(refs), classes), 0.3 / (classes - 1))
    probs[np.arange(len(refs)), pred] = 0.7
    return probs


def test_aggregate():
    assert aggregate([0.5, 0.7]) == {"mean": pytest.approx(0.6), "std": pytest.approx(0.1414213), "n": 2}
    assert aggregate([0.5, None, float("nan")]) == {"mean": 0.5, "std": 0.0, "n": 1}


def test_fold_runner_seeds_and_significance_on_the_demo_dataset(demo_dataset, tmp_path, capsys):
    out = tmp_path / "cv"
    args = ["--dataset", str(demo_dataset), "--output_dir", str(out), *TINY, "--max_steps", "3", *NO_EVAL]
    assert cv_recipe.main(["--protocols", "speaker_fold0,speaker_fold1,loco_savee", *args]) == 0
    summary = json.loads((out / "cross_validation.json").read_text())
    assert [c["protocol"] for c in summary["configs"]] == ["speaker_fold0", "speaker_fold1", "loco_savee"]
    assert summary["summary"]["accuracy"]["n"] == 3
    md = (out / "cross_validation.md").read_text()
    assert "| speaker_fold0 |" in md and "**mean +- std**" in md and "[" in md
    results = json.loads((out / "loco_savee" / "results.json").read_text())["test"]
    assert set(results["intervals"]["clips"]) == {"accuracy", "f1_macro", "uar", "eer"}
    assert results["intervals"]["num_speakers"] == 4  # SAVEE's four speakers: the whole test split
    lo, hi = results["intervals"]["speakers"]["accuracy"]
    assert lo <= results["accuracy"] <= hi
    assert cv_recipe.main(["--protocols", "loco_iemocap", *args]) == 2
    assert "--protocols loco_iemocap: not in" in capsys.readouterr().err
    # two seeds of one config, then the paired test against a run on the same clips
    runs = []
    for seed in ("1", "2"):
        run = tmp_path / f"seed{seed}"
        assert load_script("recipes/train.py").main(["--dataset", str(demo_dataset), "--protocol", "speaker",
                                                     "--output_dir", str(run), *TINY, "--max_steps", "3", *NO_EVAL,
                                                     "--seed", seed]) == 0  # fmt: skip
        runs.append(str(run))
    capsys.readouterr()
    assert eval_recipe.main(["compare", *runs, "--significance", "--output", str(tmp_path / "cmp.md")]) == 0
    table = (tmp_path / "cmp.md").read_text()
    assert "### Over seeds" in table and "| 2 (1, 2) |" in table
    assert "### Significance" in table and "McNemar" in table and "| accuracy |" in table
    assert eval_recipe.main(["compare", runs[0], str(out / "loco_savee"), "--significance"]) == 2
    assert "not scored on the same test clips" in capsys.readouterr().err
