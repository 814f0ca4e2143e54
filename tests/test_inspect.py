"""`hf-ser inspect`: a healthy checkpoint passes; a fresh head, LABEL_n, duplicate meanings and a near-uniform model are
flagged, each with the exit status a script can act on."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
from safetensors.torch import load_file, save_file
from tiny_checkpoints import CHECKPOINTS

from hf_ser.cli import main

SUPERB = {c.id: c for c in CHECKPOINTS}["hubert-large-superb-er"]


def _build(tmp_path, name, labels=None, *, head_scale=None, drop_head=False):
    case = dataclasses.replace(SUPERB, labels=tuple(labels)) if labels else SUPERB
    folder = case.build(tmp_path / name, seed=2)
    weights = load_file(folder / "model.safetensors")
    if head_scale is not None:  # a confident head: what training gives, where random init is near-uniform
        weights["classifier.weight"] = weights["classifier.weight"] * head_scale
        weights["projector.weight"] = weights["projector.weight"] * head_scale
    if drop_head:
        weights = {k: v for k, v in weights.items() if not k.startswith("classifier.")}
    save_file({k: v.contiguous() for k, v in weights.items()}, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


def _inspect(capsys, *args):
    rc = main(["inspect", *map(str, args), "--json"])
    return rc, json.loads(capsys.readouterr().out)


def _levels(report):
    return {(f["check"], f["level"]) for f in report["findings"]}


def test_a_healthy_checkpoint_passes(tmp_path, capsys):
    rc, report = _inspect(capsys, _build(tmp_path, "ok", head_scale=400.0))
    assert rc == 0 == report["status"], report["findings"]
    assert report["architecture"] == "HubertForSequenceClassification" and report["main_input"] == "input_values"
    assert report["sampling_rate"] == 16_000 and report["normalises"] is True
    assert report["labels"] == ["neu", "hap", "ang", "sad"] and report["meanings"] == [
        "neutral",
        "happy",
        "angry",
        "sad",
    ]
    probs = report["probe"]["probabilities"]
    assert set(probs) == {"neu", "hap", "ang", "sad"} and sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
    assert max(probs.values()) > 0.3  # not near-uniform
    assert main(["inspect", str(tmp_path / "ok")]) == 0
    assert "status        0 (healthy)" in capsys.readouterr().out


def test_a_near_uniform_model_is_a_warning(tmp_path, capsys):
    rc, report = _inspect(capsys, _build(tmp_path, "uniform"))  # random init: logits near zero
    assert rc == 1 and ("probe", "warning") in _levels(report)
    assert any("near-uniform" in f["message"] for f in report["findings"])


def test_a_missing_head_is_unusable(tmp_path, capsys):
    rc, report = _inspect(capsys, _build(tmp_path, "fresh", drop_head=True))
    assert rc == 2 and ("head", "error") in _levels(report)
    assert any("classifier.weight" in f["message"] and "random" in f["message"] for f in report["findings"])
    assert report["probe"] is None


@pytest.mark.parametrize(
    ("labels", "message"),
    [(("LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"), "generic names (LABEL_0 ... LABEL_3)"),
     (("happy", "joy", "sad", "neu"), "happy and joy both mean happy"),
     (("happy", "sad", "cough", "neu"), "not in the alias table, kept as they are: cough")],
)  # fmt: skip
def test_label_problems_are_warnings_and_warn_at_predict_time(labels, message, tmp_path, capsys, caplog):
    folder = _build(tmp_path, "labels", labels, head_scale=400.0)
    rc, report = _inspect(capsys, folder)
    assert rc == 1 and any(message in f["message"] for f in report["findings"] if f["check"] == "labels"), report
    from hf_ser.inference.predict import EmotionPredictor

    with caplog.at_level(logging.WARNING, logger="hf_ser.inference.health"):
        predictor = EmotionPredictor.from_pretrained(str(folder))
    assert message in caplog.text and predictor.labels == list(labels)  # shown as they are, not renamed


def test_scoring_warns_about_a_models_labels(tmp_path, demo_dataset, caplog, capsys):
    from conftest import load_script

    folder = _build(tmp_path, "dup", ("happy", "joy", "sad", "neu"), head_scale=400.0)
    with caplog.at_level(logging.WARNING, logger="hf_ser.inference.health"):
        assert load_script("recipes/eval.py").main(["score", "--model", str(folder), "--dataset", str(demo_dataset),
                                                    "--protocol", "speaker", "--output_dir", str(tmp_path / "s")]) == 0  # fmt: skip
    assert "happy and joy both mean happy" in caplog.text


def test_a_label_map_names_generic_labels(tmp_path, capsys):
    folder = _build(tmp_path, "generic", ("LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3"), head_scale=400.0)
    rc, report = _inspect(capsys, folder, "--label_map", "LABEL_0=neu,LABEL_1=hap,LABEL_2=ang,LABEL_3=sad")
    assert rc == 0 and report["meanings"] == ["neutral", "happy", "angry", "sad"]


def test_a_backbone_and_a_missing_folder_are_unusable_in_one_line(tmp_path, capsys):
    ll60k = {c.id: c for c in CHECKPOINTS}["hubert-large-ll60k"].build(tmp_path / "ll60k")
    rc, report = _inspect(capsys, ll60k)
    assert rc == 2 and any("backbone without a classification head" in f["message"] for f in report["findings"])
    rc, report = _inspect(capsys, tmp_path / "nothing")
    assert (
        rc == 2 and report["findings"][0]["check"] == "load" and "no such folder" in report["findings"][0]["message"]
    )
