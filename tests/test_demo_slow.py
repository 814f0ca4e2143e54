"""The full demo, as `make demo` runs it (minutes): the README's accuracy claim must hold. `make test-slow`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO


@pytest.mark.slow
def test_full_demo_beats_60_percent_on_held_out_speakers(tmp_path):
    py, acc = sys.executable, str(Path(sys.executable).parent / "accelerate")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    corpora, ds, out = tmp_path / "corpora", tmp_path / "eight_emotions", tmp_path / "demo"
    steps = [
        [py, "dataset_scripts/synthesize_demo_corpora.py", "--out", str(corpora)],
        [py, "dataset_scripts/eight_emotions.py", "--ravdess", str(corpora / "ravdess"), "--crema-d",
         str(corpora / "crema_d"), "--tess", str(corpora / "tess"), "--savee", str(corpora / "savee"), "--output", str(ds)],
        [acc, "launch", "--config_file", "recipes/accelerate_configs/cpu.yaml", "recipes/train.py", "--config",
         "recipes/demo/full.yaml", "--dataset", str(ds), "--output_dir", str(out)],
    ]  # fmt: skip
    for cmd in steps:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500, cwd=REPO)
        assert proc.returncode == 0, (cmd, proc.stderr[-3000:])
    results = json.loads((out / "results.json").read_text())
    test = results["test"]
    train_speakers_note = "speaker protocol: no test speaker was heard in training"
    assert results["protocol"] == "speaker", train_speakers_note
    assert test["accuracy"] >= 0.60, test
    assert len(test["per_corpus_accuracy"]) == 4  # every corpus is represented in the held-out speakers
