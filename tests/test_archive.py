"""`hf-ser predict` over an archive: two processes under `accelerate launch` write the rows one process writes,
in input order; CSV, JSONL and Parquet outputs; --resume after an interrupted run (tests/test_output_safety.py
kills one)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO

from hf_ser.cli import main as cli


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    rng = np.random.default_rng(0)
    for i in range(9):
        t = np.arange(int((0.6 + 0.2 * (i % 4)) * 16_000)) / 16_000
        x = 0.3 * np.sin(2 * np.pi * (140 + 15 * i) * t) + 0.02 * rng.normal(size=t.size)
        sf.write(root / f"call{i:02d}.wav", x.astype(np.float32), 16_000)
    (root / "broken.wav").write_bytes(b"RIFF not really")
    return root


def _read(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    return list(csv.DictReader(path.open()))


def _same(a: list[dict], b: list[dict]) -> None:
    assert [(r["file"], r["kind"], r["status"], r["label"] or "") for r in a] == \
        [(r["file"], r["kind"], r["status"], r["label"] or "") for r in b]  # fmt: skip
    for x, y in zip(a, b, strict=True):
        for k in x:
            if k.startswith("p_") and x[k] not in (None, ""):
                assert float(x[k]) == pytest.approx(float(y[k]), abs=1e-5)


def test_two_processes_write_the_rows_of_one_in_input_order(archive, tiny_classifier, tmp_path):
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    assert cli(["predict", str(archive), "--model", str(tiny_classifier), "--output", str(one)]) == 1  # broken.wav
    cmd = [str(Path(sys.executable).parent / "accelerate"), "launch", "--config_file",
           str(REPO / "recipes/accelerate_configs/cpu_2proc.yaml"), "-m", "hf_ser.cli", "predict", str(archive),
           "--model", str(tiny_classifier), "--output", str(two)]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr[-3000:]  # the main process reports the broken file, as one process does
    assert "9 of 10 files scored" in proc.stderr
    rows = _read(two)
    _same(_read(one), rows)
    assert [r["file"] for r in rows] == [str(p) for p in sorted(archive.glob("*.wav"))]
    assert not (tmp_path / "two.csv.parts").exists()


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_jsonl_and_parquet_outputs_hold_the_csv_rows_and_resume(archive, tiny_classifier, tmp_path, suffix, capsys):
    ref, out = tmp_path / "ref.csv", tmp_path / f"rows{suffix}"
    base = ["predict", str(archive), "--model", str(tiny_classifier)]
    assert cli([*base, "--output", str(ref)]) == 1
    assert cli([*base, "--output", str(out)]) == 1
    _same(_read(ref), _read(out))
    # a finished output: --resume scores nothing again and rewrites the same rows
    capsys.readouterr()
    assert cli([*base, "--output", str(out), "--resume"]) == 1
    assert "10 of 10 files already done" in capsys.readouterr().err
    _same(_read(ref), _read(out))


def test_parquet_resume_and_several_processes_need_an_output(tiny_classifier, archive, capsys):
    for extra in (["--format", "parquet"], ["--resume"]):
        assert cli(["predict", str(archive), "--model", str(tiny_classifier), *extra]) == 2
        assert "need --output FILE" in capsys.readouterr().err
