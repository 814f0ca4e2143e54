"""recipes/train.py and recipes/eval.py: reported numbers reproduce clip for clip, finished runs are never replaced
by accident, diverged or tiny runs keep their work, bad arguments and paths give one line."""

from __future__ import annotations

import csv
import json
import logging
import warnings

import numpy as np
import pytest
from conftest import NO_EVAL, load_script, train_run

from hf_ser.labels import EMOTIONS

train_recipe = load_script("recipes/train.py")
eval_recipe = load_script("recipes/eval.py")


def _probs(path) -> dict[str, np.ndarray]:
    with open(path) as fh:
        return {
            f"{r['corpus']}/{r['file']}": np.array([float(r[f"p_{e}"]) for e in EMOTIONS]) for r in csv.DictReader(fh)
        }


@pytest.fixture(scope="module")
def trained_run(demo_dataset, tmp_path_factory):
    """A tiny group-norm HuBERT (padding-sensitive, like hubert-base) trained a few steps."""
    out = tmp_path_factory.mktemp("run") / "run"
    assert train_run(demo_dataset, out, "--max_steps", "6", *NO_EVAL, "--per_device_eval_batch_size", "5") == 0
    return out


def test_results_json_eval_score_at_any_batch_size_and_pipeline_agree(trained_run, demo_dataset, tmp_path):
    from transformers import pipeline

    from hf_ser.data.layout import load_eight_emotions
    from hf_ser.data.transforms import clip_samples

    reported = json.loads((trained_run / "results.json").read_text())["test"]
    run_probs = _probs(trained_run / "test_predictions.csv")
    for batch_size in (1, 3, 16):
        out = tmp_path / f"b{batch_size}"
        assert eval_recipe.main(["score", "--model", str(trained_run), "--dataset", str(demo_dataset), "--protocol",
                                 "speaker", "--output_dir", str(out), "--batch_size", str(batch_size)]) == 0  # fmt: skip
        scored = json.loads((out / "results.json").read_text())["test"]
        for key in ("accuracy", "f1_macro", "uar", "eer", "eer_micro", "confusion_matrix"):
            assert scored[key] == reported[key], (batch_size, key)
        probs = _probs(out / "test_predictions.csv")
        assert probs.keys() == run_probs.keys()
        for k in probs:
            np.testing.assert_allclose(probs[k], run_probs[k], atol=2e-6)
    # pipeline(), one clip at a time, on the saved folder
    clf = pipeline("audio-classification", model=str(trained_run))
    test = load_eight_emotions(str(demo_dataset), "speaker")["test"]
    corpus_names = test.features["corpus"].names
    for row in test:
        got = {d["label"]: d["score"] for d in clf(clip_samples(row["audio"]), top_k=8)}
        key = f"{corpus_names[row['corpus']]}/{row['file']}"
        np.testing.assert_allclose([got[e] for e in EMOTIONS], run_probs[key], atol=2e-6)


def test_a_finished_run_is_not_replaced_without_asking(trained_run, demo_dataset, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    (run / "checkpoint-54").mkdir()
    (run / "checkpoint-54" / "trainer_state.json").write_text("{}")
    before = (run / "results.json").read_text()
    capsys.readouterr()
    assert train_run(demo_dataset, run, "--max_steps", "1", *NO_EVAL) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--overwrite_output_dir" in err and "Traceback" not in err
    assert (run / "results.json").read_text() == before
    # replacing it on purpose removes the old checkpoints, so `last` can never pick a stale one
    assert train_run(demo_dataset, run, "--max_steps", "2", "--eval_strategy", "no", "--save_strategy", "steps",
                     "--save_steps", "1", "--load_best_model_at_end", "false", "--overwrite_output_dir", "true") == 0  # fmt: skip
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]
    assert json.loads((run / "results.json").read_text())["train_steps"] == 2


def test_resuming_says_which_checkpoint(demo_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    args = [
        "--eval_strategy",
        "no",
        "--save_strategy",
        "steps",
        "--save_steps",
        "2",
        "--load_best_model_at_end",
        "false",
    ]
    assert train_run(demo_dataset, run, "--max_steps", "2", *args) == 0
    (run / "results.json").unlink()  # as if interrupted after the checkpoint
    capsys.readouterr()
    assert train_run(demo_dataset, run, "--max_steps", "4", *args, "--resume_from_checkpoint", "last") == 0
    assert f"Resuming from {run / 'checkpoint-2'}" in capsys.readouterr().out
    assert json.loads((run / "results.json").read_text())["resumed_from"] == str(run / "checkpoint-2")


def test_one_clip_or_one_class_validation_gives_nan_not_a_crash(demo_dataset, tmp_path):
    out = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = train_run(demo_dataset, out, "--max_steps", "2", "--max_eval_samples", "1", "--eval_strategy", "steps",
                         "--eval_steps", "1", "--save_strategy", "steps", "--save_steps", "1")  # fmt: skip
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["validation"]["num_samples"] == 1 and results["validation"]["eer"] is None
    assert results["validation"]["accuracy"] in (0.0, 1.0)
    assert any("eer is undefined" in str(w.message) for w in caught)


def test_nan_logits_stop_the_run_naming_step_and_lr_and_keep_the_last_good_checkpoint(demo_dataset, tmp_path, capsys,
                                                                                      monkeypatch):  # fmt: skip
    import torch
    from transformers import TrainerCallback

    import hf_ser.training.run as training

    class Poison(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step == 3:
                with torch.no_grad():
                    next(p for p in model.parameters() if p.ndim == 2).fill_(float("nan"))

    real = training.make_trainer

    def poisoned(*a, **k):
        trainer = real(*a, **k)
        trainer.add_callback(Poison())
        return trainer

    monkeypatch.setattr(training, "make_trainer", poisoned)
    out = tmp_path / "run"
    code = train_run(demo_dataset, out, "--max_steps", "6", "--eval_strategy", "steps", "--eval_steps", "2",
                     "--save_strategy", "steps", "--save_steps", "2", "--logging_steps", "100")  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and "Traceback" not in err
    assert "training diverged: NaN/inf logits" in err and "at step 4 (learning rate" in err
    assert f"the last good checkpoint is {out / 'checkpoint-2'}" in err
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-2"]
    assert not (out / "results.json").exists()


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--num_train_epochs", "0"], "--num_train_epochs 0.0 trains nothing"),
        (["--max_duration", "0"], "--max_duration 0.0: training clips are cropped"),
        (["--max_duration", "-1"], "--max_duration -1.0"),
        (["--max_duration", "0.001"], "must be at least 0.1"),
        (["--noise_p", "1.5"], "--noise_p 1.5: a probability"),
        (["--lora_r", "0"], "--lora_r 0"),
        (["--max_eval_samples", "0"], "--max_eval_samples 0"),
    ],
)
def test_arguments_that_would_run_but_should_not_are_refused_before_loading(tmp_path, capsys, flags, match):
    # the dataset does not exist: the argument error must come first, before anything is loaded
    argv = ["--dataset", str(tmp_path / "nope"), "--output_dir", str(tmp_path / "o"), *flags]
    assert train_recipe.main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err and not (tmp_path / "o").exists()


def test_bad_paths_are_one_line(trained_run, demo_dataset, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert train_run(demo_dataset, a_file, "--max_steps", "1", *NO_EVAL) == 2
    assert "--output_dir" in (err := capsys.readouterr().err) and "a file is in the way" in err
    assert train_run(demo_dataset, tmp_path / "fresh", "--max_steps", "1", "--resume_from_checkpoint", "last") == 2
    assert "no checkpoint-* folder in" in (err := capsys.readouterr().err) and "Traceback" not in err
    assert eval_recipe.main(["compare", str(trained_run), "--output", str(tmp_path)]) == 2
    assert "--output" in (err := capsys.readouterr().err) and "a folder" in err
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "results.json").write_text('{"test": {"accuracy": 0.5')
    assert eval_recipe.main(["compare", str(trained_run), str(corrupt)]) == 2
    err = capsys.readouterr().err
    assert f"{corrupt / 'results.json'}: not valid JSON" in err and "Traceback" not in err


def test_an_unreachable_hub_fails_at_once_without_retries(monkeypatch, caplog):
    from huggingface_hub import constants

    from hf_ser import hub
    from hf_ser.modeling.loading import ModelLoadError, load_backbone

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    hub.hub_reachable.cache_clear()
    caplog.set_level(logging.WARNING)
    try:
        with pytest.raises(ModelLoadError, match="unreachable from this machine") as exc:
            load_backbone("me/no-such-model")
    finally:
        hub.hub_reachable.cache_clear()
    assert "hf download me/no-such-model --local-dir DIR" in str(exc.value)
    assert not [r for r in caplog.records if "Retrying" in r.getMessage()]


def test_eight_emotions_in_another_order_score_as_the_same_model(trained_run, demo_dataset, tmp_path):
    """A checkpoint listing the emotions in another order is the same model: its scores are re-ordered, not refused
    (and not mislabelled)."""
    import torch
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    model = AutoModelForAudioClassification.from_pretrained(trained_run)
    perm = [3, 0, 7, 1, 5, 2, 6, 4]
    with torch.no_grad():
        model.classifier.weight.copy_(model.classifier.weight[perm].clone())
        model.classifier.bias.copy_(model.classifier.bias[perm].clone())
    model.config.id2label = {i: EMOTIONS[p] for i, p in enumerate(perm)}
    model.config.label2id = {v: k for k, v in model.config.id2label.items()}
    model.save_pretrained(tmp_path / "permuted")
    AutoFeatureExtractor.from_pretrained(trained_run).save_pretrained(tmp_path / "permuted")
    out = tmp_path / "scored"
    assert eval_recipe.main(["score", "--model", str(tmp_path / "permuted"), "--dataset", str(demo_dataset),
                             "--protocol", "speaker", "--output_dir", str(out)]) == 0  # fmt: skip
    a = json.loads((trained_run / "results.json").read_text())["test"]
    b = json.loads((out / "results.json").read_text())["test"]
    assert b["confusion_matrix"] == a["confusion_matrix"] and b["accuracy"] == a["accuracy"]


def test_the_suite_keeps_its_caches_out_of_the_users_home():
    import tempfile

    import datasets

    assert str(datasets.config.HF_DATASETS_CACHE).startswith(tempfile.gettempdir())


def test_a_lora_run_reports_what_its_merged_export_scores(demo_dataset, tmp_path):
    run, scored = tmp_path / "qkv", tmp_path / "scored"
    assert train_run(demo_dataset, run, "--peft", "qkv", "--max_steps", "3", *NO_EVAL) == 0
    assert eval_recipe.main(["score", "--model", str(run), "--dataset", str(demo_dataset), "--protocol", "speaker",
                             "--output_dir", str(scored), "--batch_size", "7"]) == 0  # fmt: skip
    a = json.loads((run / "results.json").read_text())["test"]
    b = json.loads((scored / "results.json").read_text())["test"]
    assert (a["accuracy"], a["confusion_matrix"], a["eer"]) == (b["accuracy"], b["confusion_matrix"], b["eer"])
