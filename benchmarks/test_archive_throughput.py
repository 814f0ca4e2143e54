"""Throughput over a folder of long recordings: audio hours per wall-clock hour, and where the time goes.

The folder: long recordings mixed from the committed app_examples clips (speech about half the time, pauses, tones,
noise; hf_ser.demo.long_recordings), as WAV files. The model: hubert-base shapes, random init (costs what trained
weights cost). Cases, side by side in one run, each one round over the whole folder:

- ``pipeline``: the baseline a user writes: transformers' ``pipeline("audio-classification")`` on fixed 3 s windows
  (no overlap), one window at a time, after decoding each file whole;
- ``torch-window`` / ``onnx-int8-window``: ``hf-ser predict --window 3 --hop 3`` with the torch and int8 ONNX
  backends;
- ``onnx-int8-vad``: ``--segment vad`` with the int8 ONNX backend; its rate is given over all audio and over the
  speech it classified;
- ``onnx-int8-vad-2proc``: the same under ``accelerate launch`` with 2 processes, as a subprocess (its wall time
  includes starting the processes).

Where the time goes is measured in the same run by separate passes over the folder: decoding alone (streamed, or
whole with libsndfile for the pipeline case, as it reads), decoding + silero-vad's frame probabilities; the model's
share is the rest of the case's time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from common import REPO, SMOKE, build_model, feature_extractor

CASES = ["pipeline", "torch-window", "onnx-int8-window", "onnx-int8-vad", "onnx-int8-vad-2proc"]
_SETUP: dict = {}


def _setup(tmp_path_factory) -> dict:
    if _SETUP:
        return _SETUP
    from hf_ser.demo.long_recordings import mix_long_recording
    from hf_ser.inference.export import export_onnx

    root = tmp_path_factory.mktemp("throughput")
    clips = [
        (sf.read(REPO / "app_examples" / f"{n}.wav", dtype="float32")[0], n) for n in ("angry", "calm", "happy", "sad")
    ]
    files, speech = [], 0.0
    for i in range(1 if SMOKE else 4):
        rec = mix_long_recording(clips * (1 if SMOKE else 6), seed=i)
        files.append(root / "folder" / f"call{i}.wav")
        files[-1].parent.mkdir(exist_ok=True)
        sf.write(files[-1], rec.audio, 16_000)
        speech += sum(b - a for a, b, label in rec.truth if label)
    arch = "tiny" if SMOKE else "hubert-base"
    build_model(arch).save_pretrained(root / "model")
    feature_extractor(arch).save_pretrained(root / "model")
    export_onnx(str(root / "model"), root / "onnx", quantize="int8")
    audio = sum(sf.info(f).frames for f in files) / 16_000
    _SETUP.update(root=root, files=files, audio_s=audio, speech_s=speech, model=root / "model", onnx=root / "onnx")
    return _SETUP


def _decode_and_vad_seconds(files) -> tuple[float, float]:
    from hf_ser.inference.audio_stream import stream_audio
    from hf_ser.inference.vad import SpeechDetector

    t0 = time.perf_counter()
    for f in files:
        for _ in stream_audio(f, 16_000):
            pass
    decode = time.perf_counter() - t0
    SpeechDetector.model()  # loaded once, as predict does
    t0 = time.perf_counter()
    for f in files:
        SpeechDetector().frame_probs(stream_audio(f, 16_000))
    return decode, time.perf_counter() - t0 - decode


def _pipeline(setup) -> None:
    from transformers import pipeline

    from hf_ser.inference.windows import window_spans

    clf = pipeline("audio-classification", model=str(setup["model"]), device="cpu")
    for f in setup["files"]:
        audio, _ = sf.read(f, dtype="float32")
        for a, b in window_spans(len(audio), 3.0, 3.0):
            clf({"raw": audio[a:b], "sampling_rate": 16_000}, top_k=1)


@pytest.mark.parametrize("case", CASES)
def test_archive_throughput_cpu(benchmark, info, tmp_path_factory, tmp_path, case):
    from hf_ser.cli import main as cli

    setup = _setup(tmp_path_factory)
    folder = str(setup["files"][0].parent)
    benchmark.group = "archive throughput: long recordings, hubert-base, CPU"
    onnx = ["--model", str(setup["onnx"]), "--backend", "onnx"]
    argv = {
        "torch-window": ["--model", str(setup["model"]), "--window", "3", "--hop", "3"],
        "onnx-int8-window": [*onnx, "--window", "3", "--hop", "3"],
        "onnx-int8-vad": [*onnx, "--segment", "vad"],
    }

    def run():
        out = tmp_path / f"{case}-{time.perf_counter_ns()}.csv"
        if case == "pipeline":
            _pipeline(setup)
        elif case == "onnx-int8-vad-2proc":
            cmd = [str(Path(sys.executable).parent / "accelerate"), "launch", "--config_file",
                   str(REPO / "recipes/accelerate_configs/cpu_2proc.yaml"), "-m", "hf_ser.cli", "predict", folder,
                   *onnx, "--segment", "vad", "--output", str(out)]  # fmt: skip
            env = {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
            assert proc.returncode == 0, proc.stderr[-2000:]
        else:
            assert cli(["predict", folder, *argv[case], "--output", str(out)]) == 0

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    wall = benchmark.stats.stats.median
    if "shares" not in setup:  # the separate timing passes, once for all cases
        t0 = time.perf_counter()
        for f in setup["files"]:
            sf.read(f, dtype="float32")
        whole = time.perf_counter() - t0
        setup["shares"] = (*_decode_and_vad_seconds(setup["files"]), whole)
    decode, vad, whole = setup["shares"]
    if case == "pipeline":  # it decodes each file whole with libsndfile, not streamed
        decode = whole
    uses_vad = "vad" in case
    info.update(case=case, arch="tiny" if SMOKE else "hubert-base", files=len(setup["files"]),
                audio_s=round(setup["audio_s"], 1), speech_s=round(setup["speech_s"], 1), wall_s=wall,
                audio_h_per_h=setup["audio_s"] / wall, speech_h_per_h=setup["speech_s"] / wall if uses_vad else None,
                decode_share=decode / wall if case != "onnx-int8-vad-2proc" else None,
                vad_share=vad / wall if case == "onnx-int8-vad" else None,
                model_share=max(0.0, 1 - (decode + (vad if uses_vad else 0)) / wall)
                if case not in ("onnx-int8-vad-2proc",) else None,
                threads=int(os.environ.get("OMP_NUM_THREADS", "0")) or None)  # fmt: skip
    assert np.isfinite(wall)
