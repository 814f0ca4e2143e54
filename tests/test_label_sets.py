"""Any checkpoint on any dataset: scoring across label sets (the fair subset, named and counted), training onto a
dataset's own (merged) labels, and compare refusing runs of different label sets."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import load_script, train_run
from tiny_checkpoints import CHECKPOINTS

from hf_ser.data.layout import load_eight_emotions
from hf_ser.evaluation.alignment import aligned_scores
from hf_ser.evaluation.metrics.functional import ser_metrics, softmax
from hf_ser.labels import EMOTIONS, align_labels, parse_label_map

CASES = {c.id: c for c in CHECKPOINTS}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("label-sets")
    return {
        cid: CASES[cid].build(root / cid, seed=5) for cid in ("hubert-large-superb-er", "wavlm-emotion-russian-resd")
    }


def _score(model, dataset, out, *extra):
    return load_script("recipes/eval.py").main(["score", "--model", str(model), "--dataset", str(dataset), "--protocol",
                                                "speaker", "--output_dir", str(out), "--batch_size", "4", *extra])  # fmt: skip


def _by_hand(model, dataset, keep_names, model_order):
    """The subset scored by hand: the clips of the shared labels, the model's columns of those labels, renormalised."""
    from hf_ser.data.transforms import clip_samples
    from hf_ser.inference.predict import EmotionPredictor

    test = load_eight_emotions(str(dataset), "speaker")["test"]
    rows = [i for i, y in enumerate(test["label"]) if EMOTIONS[y] in keep_names]
    arrays = [clip_samples(test[i]["audio"]) for i in rows]
    probs = EmotionPredictor.from_pretrained(str(model)).predict_arrays(arrays)
    cols = [model_order.index(n) for n in keep_names]
    p = probs[:, cols] / probs[:, cols].sum(axis=1, keepdims=True)
    labels = np.array([keep_names.index(EMOTIONS[test["label"][i]]) for i in rows])
    return ser_metrics(p, labels, label_names=keep_names, scores_are="probabilities"), len(rows), len(test)


@pytest.mark.parametrize(
    ("cid", "shared", "dropped"),
    [("hubert-large-superb-er", ["angry", "happy", "neutral", "sad"], []),
     ("wavlm-emotion-russian-resd", ["angry", "disgust", "fear", "happy", "neutral", "sad"], ["enthusiasm"])],
)  # fmt: skip
def test_a_model_of_other_labels_is_scored_on_the_shared_ones(cid, shared, dropped, models, demo_dataset, tmp_path,
                                                              capsys):  # fmt: skip
    out = tmp_path / "score"
    assert _score(models[cid], demo_dataset, out) == 0
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    report, test = results["label_alignment"], results["test"]
    assert results["labels"] == shared
    assert report["scored"] == shared and report["model_dropped"] == dropped and not report["same_label_set"]
    model_names = list(CASES[cid].labels)
    # each model column under the dataset's name of its meaning (superb's neu -> neutral, resd's anger -> angry)
    alignment = align_labels(EMOTIONS, model_names)
    by_column = {cols[0]: name for name, cols in zip(alignment.names, alignment.model_columns, strict=True)}
    model_order = [by_column.get(j, model_names[j]) for j in range(len(model_names))]
    expected, n_used, n_total = _by_hand(models[cid], demo_dataset, shared, model_order)
    assert test["num_samples"] == report["clips_scored"] == n_used and report["clips_total"] == n_total
    assert sum(report["dataset_left_out"].values()) == n_total - n_used
    assert set(report["dataset_left_out"]) == set(EMOTIONS) - set(shared)
    for key in ("accuracy", "f1_macro", "uar"):
        assert test[key] == pytest.approx(expected[key], abs=1e-9), key
    assert test["eer"] == pytest.approx(expected["eer"], abs=1e-4)
    assert f"scored on {len(shared)} shared labels ({', '.join(shared)}): {n_used} of {n_total} clips" in printed
    # the rectangular confusion: every dataset label x every model output, over all clips
    cross = test["cross_confusion"]
    assert cross["rows"] == list(EMOTIONS) and cross["columns"] == model_names
    assert np.array(cross["counts"]).shape == (8, len(model_names)) and np.array(cross["counts"]).sum() == n_total
    assert (out / "confusion_matrix_all_labels.png").is_file() and (out / "confusion_matrix.png").is_file()
    header = next(csv.reader((out / "test_predictions.csv").open()))
    assert [h[2:] for h in header if h.startswith("p_")] == shared


def test_nothing_or_one_label_shared_is_one_line(models, demo_dataset, tmp_path, capsys):
    import dataclasses

    generic = dataclasses.replace(CASES["hubert-large-superb-er"], labels=("LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"))
    folder = generic.build(tmp_path / "generic")
    for model, extra, what in ((folder, [], "no label in common"),
                               (models["hubert-large-superb-er"], ["--label_map", "neu=x,hap=y,ang=z"],
                                "only one label in common (sad)")):  # fmt: skip
        assert _score(model, demo_dataset, tmp_path / "s", *extra) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and what in err[0] and "--label_map MODEL_LABEL=DATASET_LABEL" in err[0], err
    assert not (tmp_path / "s" / "results.json").exists()


def test_a_bad_label_map_is_one_line(models, demo_dataset, tmp_path, capsys):
    assert _score(models["hubert-large-superb-er"], demo_dataset, tmp_path / "s", "--label_map", "iemocap9") == 2
    assert "'iemocap9' is neither a preset" in capsys.readouterr().err


def test_merged_model_outputs_sum_their_probabilities():
    alignment = align_labels(["angry", "happy", "neutral"], ["neu", "hap", "exc", "ang"], parse_label_map("iemocap4"))
    assert alignment.model_columns == ((3,), (1, 2), (0,))
    logits = np.log(np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.25, 0.125, 0.125]]))
    scores, labels, keep = aligned_scores(logits, np.array([1, 0]), alignment)
    np.testing.assert_allclose(softmax(scores), [[0.4, 0.5, 0.1], [0.125, 0.375, 0.5]], atol=1e-6)
    assert labels.tolist() == [1, 0] and keep.all()


def test_training_on_merged_labels_and_compare_refuses_other_label_sets(demo_dataset, tmp_path, capsys):
    from conftest import NO_EVAL

    eight, seven = tmp_path / "eight", tmp_path / "seven"
    steps = ["--max_steps", "2", *NO_EVAL]
    assert train_run(demo_dataset, eight, *steps) == 0
    assert train_run(demo_dataset, seven, *steps, "--label_map", "no_calm") == 0
    r7 = json.loads((seven / "results.json").read_text())
    assert r7["labels"] == [e for e in EMOTIONS if e != "calm"] and r7["label_merges"] == {"calm": "neutral"}
    cfg = json.loads((seven / "config.json").read_text())
    assert [cfg["id2label"][str(i)] for i in range(7)] == r7["labels"]
    assert r7["test"]["label_names"] == r7["labels"] and len(r7["test"]["confusion_matrix_percent"]) == 7
    calm_clips = sum(EMOTIONS[y] == "calm" for y in load_eight_emotions(str(demo_dataset), "speaker")["test"]["label"])
    assert r7["test"]["num_samples"] == json.loads((eight / "results.json").read_text())["test"]["num_samples"]
    assert calm_clips > 0  # they are scored, as neutral
    assert "7 labels (angry, disgust, fear, happy, neutral, sad, surprise)" in (seven / "README.md").read_text()
    assert "No comparison with the paper's figures" in (seven / "README.md").read_text()
    capsys.readouterr()
    ev = load_script("recipes/eval.py")
    assert ev.main(["compare", str(eight), str(seven)]) == 2
    err = capsys.readouterr().err
    assert "different label sets" in err and "--allow_label_mismatch" in err
    assert ev.main(["compare", str(eight), str(seven), "--allow_label_mismatch"]) == 0
    table = capsys.readouterr().out
    assert "**These runs were scored on 2 different label sets**" in table and "| 7 (B) |" in table
    assert ev.main(["compare", str(eight), str(seven), "--allow_label_mismatch", "--significance"]) == 2
    assert "different label sets" in capsys.readouterr().err


@pytest.mark.parametrize("cid", ["hubert-large-superb-er", "wavlm-emotion-russian-resd"])
def test_the_app_shows_a_models_own_labels(cid, models, tmp_path):
    from conftest import write_wav

    from hf_ser.inference.predict import EmotionPredictor
    from hf_ser.inference.webapp import analyse

    clip = write_wav(tmp_path / "clip.wav", seconds=4.0)
    predictor = EmotionPredictor.from_pretrained(str(models[cid]))
    # a steady tone is no speech to silero-vad: fixed windows, so every window is classified
    scores, chart, table, message = analyse(predictor, str(clip), segment="window", workdir=tmp_path / "work")
    assert list(scores) == list(CASES[cid].labels) and sum(scores.values()) == pytest.approx(1.0, abs=1e-4)
    header = next(csv.reader(Path(table).read_text().splitlines()))
    assert [h[2:] for h in header if h.startswith("p_")] == list(CASES[cid].labels)
    assert chart and message


def test_a_rescore_into_the_same_folder_leaves_no_stale_all_labels_chart(models, tiny_classifier, demo_dataset,
                                                                         tmp_path):  # fmt: skip
    out = tmp_path / "score"
    assert _score(models["hubert-large-superb-er"], demo_dataset, out) == 0
    assert (out / "confusion_matrix_all_labels.png").is_file()
    assert _score(tiny_classifier, demo_dataset, out) == 0  # the eight emotions: nothing to show beside
    assert not (out / "confusion_matrix_all_labels.png").exists()
    assert json.loads((out / "results.json").read_text())["label_alignment"]["same_label_set"]
