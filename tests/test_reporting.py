"""Pictures and tables people read."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hf_ser.evaluation.comparison import comparison_markdown
from hf_ser.evaluation.metrics import ser_metrics
from hf_ser.evaluation.reporting import confusion_markdown, load_results, plot_confusion_matrix, write_json
from hf_ser.labels import EMOTIONS


def test_confusion_png_renders(tmp_path):
    from PIL import Image

    pct = np.full((8, 8), 100 / 8)
    pct[3] = np.nan
    path = plot_confusion_matrix(pct, EMOTIONS, tmp_path / "cm.png", title="t")
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > 600 and im.size[1] > 500
        px = np.asarray(im.convert("L"))
    assert px.std() > 10  # not a blank canvas


def test_confusion_markdown_is_table_4_layout():
    pct = [[96.99, 3.01], [float("nan"), float("nan")]]
    md = confusion_markdown(pct, ["angry", "calm"]).splitlines()
    assert md[0] == "| label | ang | cal |"
    assert md[2] == "| ang | 96.99 | 3.01 |" and md[3] == "| cal | n/a | n/a |"


def test_comparison_table_and_results_json_round_trip(tmp_path):
    y = np.array([0, 1, 2, 3])
    r = ser_metrics(np.eye(8)[[0, 1, 2, 0]] * 4, y, label_names=EMOTIONS)
    run = {"model": "m", "method": "qkv", "protocol": "speaker", "params": {"trainable": 10, "total": 1000}, "test": r,
           "train_runtime_s": 12.4, "feature_extraction_s": 3.0}  # fmt: skip
    write_json(run, tmp_path / "run" / "results.json")
    loaded = load_results(tmp_path / "run")
    assert loaded["test"]["eer_per_class"]["calm"] is None or not math.isnan(loaded["test"]["eer_per_class"]["calm"])
    table = comparison_markdown([loaded]).splitlines()
    assert table[0].startswith("| model | method | protocol | labels | seed | F1 (macro) | EER | accuracy (%)")
    assert "| m | qkv | speaker | 8 | " in table[2] and "| 75.00 |" in table[2] and "10 / 1,000 | 12 |" in table[2]
    with pytest.raises(ValueError, match="no 'validation' results"):
        comparison_markdown([loaded], split="validation")
    with pytest.raises(FileNotFoundError):
        load_results(tmp_path / "nope")
