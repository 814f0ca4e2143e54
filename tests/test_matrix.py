"""recipes/eval.py matrix: every model on every dataset config, through the label layer, resumable."""

from __future__ import annotations

import json

import pytest
from conftest import load_script

from hf_ser.evaluation.matrix import parse_dataset_spec


@pytest.fixture(scope="module")
def four_label_model(tmp_path_factory):
    """A tiny classifier labelled as the SUPERB ER checkpoints are (neu/hap/ang/sad): four shared labels."""
    from hf_ser.modeling.loading import TINY_HUBERT, load_backbone

    out = tmp_path_factory.mktemp("superb_like") / "superb-like"
    model, fe = load_backbone(TINY_HUBERT, labels=["neu", "hap", "ang", "sad"], tiny_hidden_size=32,
                              tiny_num_layers=2, seed=11)  # fmt: skip
    model.save_pretrained(out)
    fe.save_pretrained(out)
    return out


def test_dataset_specs():
    assert parse_dataset_spec("data/mix:emodb") == ("data/mix", "emodb")
    assert parse_dataset_spec("data/mix") == ("data/mix", "auto")
    assert parse_dataset_spec("org/name:speaker") == ("org/name", "speaker")
    assert parse_dataset_spec("C:/data/mix") == ("C:/data/mix", "auto")


def test_matrix_scores_every_cell_on_shared_labels_and_resumes(demo_dataset, tiny_classifier, four_label_model,
                                                               tmp_path, capsys, monkeypatch):  # fmt: skip
    import hf_ser.evaluation.scoring as scoring

    ev = load_script("recipes/eval.py")
    out = tmp_path / "matrix"
    argv = ["matrix", "--models", str(tiny_classifier), str(four_label_model), "--datasets",
            f"{demo_dataset}:speaker", f"{demo_dataset}:loco_savee", "--output_dir", str(out), "--device", "cpu"]  # fmt: skip
    assert ev.main(argv) == 0
    printed = capsys.readouterr().out
    data = json.loads((out / "matrix.json").read_text())
    cells = data["cells"]
    assert len(cells) == 4 and (out / "matrix.png").read_bytes()[:4] == b"\x89PNG"
    by = {(c["model"].rsplit("/", 1)[-1], c["protocol"]): c for c in cells}
    assert len(by[("tiny", "speaker")]["labels"]) == 8 and by[("tiny", "speaker")]["same_label_set"]
    assert set(by[("superb-like", "speaker")]["labels"]) == {"angry", "happy", "neutral", "sad"}
    assert not by[("superb-like", "speaker")]["same_label_set"]
    for c in cells:
        assert 0 <= c["uar"] <= 1 and c["uar_ci"][0] <= c["uar"] <= c["uar_ci"][1]
        assert c["num_samples"] > 0
    small = by[("superb-like", "loco_savee")]
    full = json.loads((out / "cells").joinpath(small["folder"].rsplit("/", 1)[-1], "results.json").read_text())
    assert small["num_samples"] == full["test"]["num_samples"] < by[("tiny", "loco_savee")]["num_samples"]
    md = (out / "matrix.md").read_text()
    assert "| model |" in md and "shared labels" in md and "superb-like" in md and "UAR" in printed
    # a second run reads every cell back: nothing is scored again
    calls = []
    monkeypatch.setattr(scoring, "score_checkpoint", lambda *a, **k: calls.append(a) or pytest.fail("recomputed"))
    assert ev.main(argv) == 0 and calls == []
    assert json.loads((out / "matrix.json").read_text())["cells"] == cells
    capsys.readouterr()
    # a model that shares fewer than two labels with the data is one clear line, before any cell is written
    monkeypatch.undo()
    assert ev.main(["matrix", "--models", str(four_label_model), "--datasets", f"{demo_dataset}:speaker",
                    "--labels", "calm,fear", "--output_dir", str(tmp_path / "m2"), "--device", "cpu"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("error: --model") and "no label in common" in err and err.count("\n") == 1


def test_a_cell_on_another_config_of_the_models_training_dataset_is_flagged(tmp_path):
    from hf_ser.evaluation.matrix import overlap_note, trained_on

    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({"dataset": str(tmp_path / "data"), "protocol": "speaker"}))
    trained = trained_on(str(run))
    assert trained == (str(tmp_path / "data"), "speaker")
    assert overlap_note(trained, str(tmp_path / "data"), "speaker") is None  # its own test split is held out
    assert "can hold clips it trained on" in overlap_note(trained, str(tmp_path / "data" / "."), "loco_savee")
    assert overlap_note(trained, str(tmp_path / "other"), "loco_savee") is None
    assert trained_on(str(tmp_path / "no-run")) is None and trained_on("org/hub-model") is None
