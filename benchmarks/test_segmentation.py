"""VAD segments against fixed windows on long recordings with known boundaries (hf_ser.demo.long_recordings).

The recording: 60 clips of the demo's held-out test speakers in a row, with pauses of 0.4-1.8 s, a music-like
vibrato chord after every third clip and a -60 dBFS noise floor (seed 7; the VAD defaults were picked on seed 1).
Each case times its whole `predict` call on the file (one round) and records the segment-boundary F1 (edges within
0.25 s) and the per-second label accuracy (over every second, and over the seconds of speech) of the demo model.
Skipped until `make demo` has written outputs/demo and data/demo/eight_emotions, except in a smoke run, which takes
the committed app_examples clips and a random tiny model instead (code paths only: its figures mean nothing).
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from common import REPO, SMOKE, build_model, feature_extractor

CASES = [("vad", None, None), ("window", 3.0, 1.5), ("window", 2.0, 1.0)]
_RECORDING: dict = {}


def _recording(tmp_path_factory):
    from hf_ser.data.layout import load_eight_emotions
    from hf_ser.data.transforms import clip_samples
    from hf_ser.demo.long_recordings import mix_long_recording

    if not _RECORDING:
        data_dir = REPO / "data" / "demo" / "eight_emotions"
        if data_dir.is_dir():
            test = load_eight_emotions(str(data_dir), "speaker")["test"].shuffle(seed=0)
            test = test.select(range(8 if SMOKE else 60))
            names = test.features["label"].names
            clips = [(clip_samples(r["audio"]), names[r["label"]]) for r in test]
        else:  # smoke run without make demo
            clips = [(sf.read(REPO / "app_examples" / f"{n}.wav", dtype="float32")[0], n) for n in ("angry", "sad")]
        rec = mix_long_recording(clips, seed=7)
        path = tmp_path_factory.mktemp("long") / "long.wav"
        sf.write(path, rec.audio, 16_000)
        _RECORDING.update(path=path, rec=rec)
    return _RECORDING["path"], _RECORDING["rec"]


def _stretches(result, labels, *, tiles: bool):
    """(start, end, label or None) per row; overlapping windows each own the stretch nearest their centre."""
    segs = result.windows
    edges = [(s.start, s.end) for s in segs]
    if not tiles:
        c = [(s.start + s.end) / 2 for s in segs]
        cuts = [segs[0].start, *[(a + b) / 2 for a, b in zip(c[:-1], c[1:], strict=True)], segs[-1].end]
        edges = list(zip(cuts[:-1], cuts[1:], strict=True))
    return [(a, b, labels[int(np.argmax(s.probs))] if s.status == "ok" else None)
            for (a, b), s in zip(edges, segs, strict=True)]  # fmt: skip


@pytest.mark.parametrize(("mode", "window", "hop"), CASES, ids=["vad", "window3-hop1.5", "window2-hop1"])
def test_segmentation_on_a_long_recording(benchmark, info, tmp_path_factory, mode, window, hop):
    from hf_ser.demo.long_recordings import boundary_f1, per_second_accuracy, regions
    from hf_ser.inference.predict import EmotionPredictor

    model_dir = REPO / "outputs" / "demo"
    demo = (model_dir / "model.safetensors").is_file() and (REPO / "data" / "demo" / "eight_emotions").is_dir()
    if not demo and not SMOKE:
        pytest.skip("needs a trained demo model: run `make demo` first")
    if not demo:
        model_dir = tmp_path_factory.mktemp("tiny") / "model"
        build_model("tiny").save_pretrained(model_dir)
        feature_extractor("tiny").save_pretrained(model_dir)
    path, rec = _recording(tmp_path_factory)
    predictor = EmotionPredictor.from_pretrained(str(model_dir))
    benchmark.group = "segmentation: long recording, demo model"
    out = {}

    def run():
        out["r"] = predictor.predict_segments(path) if mode == "vad" else predictor.predict_long(path, window, hop)

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    found = _stretches(out["r"], predictor.labels, tiles=mode == "vad")
    f1 = boundary_f1(regions(found), regions(rec.truth))
    acc = per_second_accuracy(found, rec.truth, rec.seconds)
    info.update(mode=mode, window=window, hop=hop, recording_s=round(rec.seconds, 1), speech_regions=f1["true"] // 2,
                boundary_f1=f1["f1"], boundary_precision=f1["precision"], boundary_recall=f1["recall"],
                per_second_accuracy=acc["all"], per_second_accuracy_speech=acc["speech"],
                seconds_per_audio_hour=benchmark.stats.stats.median * 3600 / rec.seconds)  # fmt: skip
