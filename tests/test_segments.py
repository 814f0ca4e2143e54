"""`hf-ser predict --segment vad`: the span rules on known frame probabilities, and silero-vad end to end on a long
recording mixed from real (espeak-ng) clips, pauses, a music-like tone and noise, with known boundaries."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
import soundfile as sf
from conftest import REPO

from hf_ser.cli import main as cli
from hf_ser.demo.long_recordings import boundary_f1, mix_long_recording, per_second_accuracy, regions
from hf_ser.inference.vad import FRAME, RATE, VadConfig, plan_segments, speech_spans


def _probs(*runs: tuple[float, float], seconds: float = 10.0, level: float = 0.9) -> np.ndarray:
    """Frame probabilities: ``level`` inside the runs (seconds), 0.02 elsewhere."""
    t = (np.arange(int(seconds * RATE / FRAME)) * FRAME) / RATE
    p = np.full(len(t), 0.02, dtype=np.float32)
    for a, b in runs:
        p[(t >= a) & (t < b)] = level
    return p


def test_spans_bridge_short_pauses_drop_blips_and_pad_within_neighbours():
    cfg = VadConfig(min_gap=0.3, min_speech=0.25, pad=0.3)
    probs = _probs((1.0, 2.0), (2.2, 3.0), (5.0, 5.1), (6.0, 7.0), (7.5, 8.0))
    spans = [(a / RATE, b / RATE) for a, b in speech_spans(probs, 10 * RATE, cfg)]
    # 1.0-2.0 and 2.2-3.0 joined (0.2 s pause); the 0.1 s blip dropped; 7.0-7.5 is 0.5 s: two runs
    assert len(spans) == 3
    assert spans[0][0] == pytest.approx(0.7, abs=0.04) and spans[0][1] == pytest.approx(3.3, abs=0.04)
    assert spans[1][1] == pytest.approx(7.25, abs=0.04) and spans[2][0] == pytest.approx(7.25, abs=0.04)  # halfway
    assert speech_spans(_probs(), 10 * RATE, cfg) == []


def test_hysteresis_keeps_speech_through_a_dip_above_the_lower_threshold():
    probs = _probs((1.0, 3.0))
    probs[int(2.0 * RATE / FRAME) : int(2.5 * RATE / FRAME)] = 0.4  # below 0.5 but above 0.35: still speech
    assert len(speech_spans(probs, 10 * RATE, VadConfig(min_gap=0.0, pad=0.0))) == 1
    probs[int(2.0 * RATE / FRAME) : int(2.5 * RATE / FRAME)] = 0.2
    assert len(speech_spans(probs, 10 * RATE, VadConfig(min_gap=0.0, pad=0.0))) == 2


def test_plan_tiles_the_recording_splits_long_runs_and_marks_short_ones():
    cfg = VadConfig(max_segment=4.0, min_segment=0.5)
    n = 30 * RATE
    plan = plan_segments([(RATE, 11 * RATE), (15 * RATE, 15 * RATE + RATE // 4)], n, cfg)
    assert plan[0] == (0, RATE, "non-speech") and plan[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(plan[:-1], plan[1:], strict=True))  # every sample once, in order
    speech = [(a, b) for a, b, kind in plan if kind == "speech"]
    assert len(speech) == 3 and all(b - a <= 4 * RATE for a, b in speech)  # 10 s -> 3 equal parts of 3.33 s
    assert [kind for *_, kind in plan].count("short") == 1
    with pytest.raises(ValueError, match="--max_segment"):
        VadConfig(max_segment=0).check()


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory):
    """The app's four espeak-ng example clips, twice, with pauses, tones and a noise floor."""
    clips = []
    for name in ("angry", "calm", "happy", "sad") * 2:
        audio, rate = sf.read(REPO / "app_examples" / f"{name}.wav", dtype="float32")
        assert rate == RATE
        clips.append((audio if audio.ndim == 1 else audio.mean(axis=1), name))
    rec = mix_long_recording(clips, seed=3, tone_every=2)
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(path, rec.audio, RATE)
    return path, rec


def test_predict_segment_vad_finds_the_utterances_and_not_the_tones(long_recording, tiny_classifier, tmp_path,
                                                                     capsys):  # fmt: skip
    path, rec = long_recording
    png = tmp_path / "timeline.png"
    assert cli(["predict", str(path), "--model", str(tiny_classifier), "--segment", "vad", "--plot", str(png)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    segments = [r for r in rows if r["kind"] == "segment"]
    assert rows[-1]["kind"] == "summary" and rows[-1]["status"] == "ok" and png.is_file()
    assert float(segments[0]["start"]) == 0.0 and float(segments[-1]["end"]) == pytest.approx(rec.seconds, abs=1e-3)
    assert all(float(a["end"]) == float(b["start"]) for a, b in zip(segments[:-1], segments[1:], strict=True))
    assert {r["status"] for r in segments} <= {"ok", "non-speech", "short"}
    assert all(r["label"] == "" for r in segments if r["status"] != "ok")  # non-speech is reported, not classified
    found = [(float(r["start"]), float(r["end"]), "speech" if r["status"] == "ok" else None) for r in segments]
    score = boundary_f1(regions(found), regions(rec.truth))
    assert score["f1"] >= 0.8, score  # measured 0.89: every true edge found (recall 1.0), plus the tones' edges
    # the vibrato chords are the hard case (silero scores their onsets up to 0.7): a fifth of the non-speech at most
    # may come out as speech (measured: 2.8 s of 20.7 s)
    non_speech = [(a, b) for a, b, label in rec.truth if label is None]
    false_alarm = sum(max(0.0, min(b, e) - max(a, s)) for a, b in non_speech for s, e in regions(found))
    assert false_alarm < 0.2 * sum(b - a for a, b in non_speech), false_alarm
    truth_speech = [(a, b, "speech" if label else None) for a, b, label in rec.truth]
    assert per_second_accuracy(found, truth_speech, rec.seconds)["all"] >= 0.75  # measured 0.825


def test_segment_flags_are_checked_before_any_audio(tiny_classifier, capsys):
    for argv, match in (
        (["--segment", "vad", "--window", "3"], "drop --window/--hop"),
        (["--segment", "vad", "--max_segment", "0"], "--max_segment 0.0: must be > 0"),
        (["--segment", "vad", "--vad_threshold", "1.5"], "--vad_threshold 1.5"),
        (["--segment", "window"], "--segment window needs --window"),
    ):
        assert cli(["predict", "nothing.wav", "--model", str(tiny_classifier), *argv]) == 2
        assert match in capsys.readouterr().err


def test_vad_lanes_give_each_recording_exactly_its_own_probabilities(long_recording, tmp_path):
    """Several recordings side by side in one batched silero call per frame: each gets the probabilities silero's
    own wrapper gives it alone (state and context per lane), results in input order, a bad file stays with its key."""
    import torch

    from hf_ser.inference.audio_stream import UnreadableAudio, stream_audio
    from hf_ser.inference.vad import SpeechDetector

    path, rec = long_recording
    files = []
    for i, seconds in enumerate((rec.seconds, 7.3, 0.01, 19.9)):  # lengths differ: lanes end and refill
        files.append(tmp_path / f"r{i}.wav")
        sf.write(files[-1], rec.audio[i * RATE : i * RATE + int(seconds * RATE)], RATE)
    files.insert(2, tmp_path / "missing.wav")
    wrapper = SpeechDetector.model()

    def alone(f):
        x = sf.read(f, dtype="float32")[0]
        x = np.pad(x, (0, -len(x) % FRAME))
        wrapper.reset_states()
        return np.array([float(wrapper(torch.from_numpy(x[i : i + FRAME]), RATE)) for i in range(0, len(x), FRAME)])

    sources = [(f, lambda f=f: stream_audio(f, RATE, chunk_seconds=3.3)) for f in files]
    out = list(SpeechDetector().frame_probs_many(sources, lanes=3))
    assert [k for k, _ in out] == files
    for f, found in out:
        if f.name == "missing.wav":
            assert isinstance(found, UnreadableAudio)
            continue
        probs, total = found
        assert total == sf.info(f).frames
        np.testing.assert_array_equal(probs, alone(f).astype(np.float32))


def test_loading_the_vad_leaves_torch_threads_as_they_were():
    """silero_vad sets torch.set_num_threads(1) when imported: the SER model of ``--backend torch`` would run on one
    core after the VAD loads. Checked in a fresh interpreter, where silero_vad is not imported yet."""
    import subprocess
    import sys

    code = (
        "import torch; torch.set_num_threads(3)\n"
        "from hf_ser.inference.vad import SpeechDetector\n"
        "SpeechDetector.model()\n"
        "import silero_vad; print(torch.get_num_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "3"
