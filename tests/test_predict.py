"""`hf-ser predict` and `hf-ser export`: inputs of every kind, window arithmetic, output columns, bad input, ONNX
parity; all offline with the tiny in-code model."""

from __future__ import annotations

import csv
import json
import subprocess

import numpy as np
import pytest
import soundfile as sf
from conftest import write_wav

from hf_ser.cli import main as cli
from hf_ser.inference.windows import iter_windows, window_spans
from hf_ser.labels import EMOTIONS


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A saved tiny group-norm HuBERT classifier (random weights: these tests check plumbing, not accuracy)."""
    from hf_ser.modeling.loading import TINY_HUBERT, load_backbone

    out = tmp_path_factory.mktemp("model") / "tiny"
    model, fe = load_backbone(TINY_HUBERT, tiny_hidden_size=32, tiny_num_layers=2, seed=3)
    model.save_pretrained(out)
    fe.save_pretrained(out)
    return out


def _speech_like(seconds: float, sr: int, seed: int = 0, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = (
        0.3
        * np.sin(2 * np.pi * (150 + 40 * np.sin(2 * np.pi * 0.7 * t)) * t)
        * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    )
    x = x + 0.02 * rng.normal(size=t.shape)
    return np.stack([x, 0.8 * x], axis=1) if channels == 2 else x


def _ffmpeg(src, dst, *args):
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(src), *args, str(dst)], check=True)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio")
    sf.write(root / "a.wav", _speech_like(2.0, 44_100, 1, channels=2), 44_100)
    sf.write(root / "b.flac", _speech_like(1.5, 22_050, 2), 22_050)
    _ffmpeg(root / "a.wav", root / "c.mp3")
    _ffmpeg(root / "a.wav", root / "d.ogg", "-c:a", "libvorbis")
    _ffmpeg(root / "a.wav", root / "e.m4a")
    (root / "sub").mkdir()  # folders are walked recursively; a video's audio track is read
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=32x32:d=2", "-i",
                    str(root / "a.wav"), "-shortest", "-c:v", "mpeg4", "-c:a", "aac", str(root / "sub" / "f.mp4")],
                   check=True)  # fmt: skip
    (root / "empty.wav").write_bytes(b"")
    (root / "junk.wav").write_bytes(b"not audio at all" * 50)
    write_wav(root / "silent.wav", silent=True, seconds=1.0)
    return root


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_window_arithmetic():
    assert window_spans(10 * 16_000, 4.0, 2.0) == [(0, 64_000), (32_000, 96_000), (64_000, 128_000), (96_000, 160_000)]
    # a last window that would run past the end is aligned to the end instead
    assert window_spans(int(9.5 * 16_000), 4.0, 4.0)[-1] == (int(5.5 * 16_000), int(9.5 * 16_000))
    assert window_spans(3 * 16_000, 4.0, 2.0) == [(0, 48_000)]  # shorter than a window: the whole recording
    assert window_spans(4 * 16_000, 4.0, 1.0) == [(0, 64_000)]
    with pytest.raises(ValueError, match="--hop 5.0 is longer than --window 4.0"):
        window_spans(100, 4.0, 5.0)
    # streamed windows are the same windows, whatever the chunking
    x = np.arange(int(9.7 * 16_000), dtype=np.float32)
    for chunk in (1_000, 16_000, 100_000):
        got = list(iter_windows((x[i : i + chunk] for i in range(0, len(x), chunk)), 4.0, 1.5))
        assert [(w.start, w.end) for w in got] == window_spans(len(x), 4.0, 1.5)
        assert all(np.array_equal(w.audio, x[w.start : w.end]) for w in got)


def test_predict_every_input_kind_to_csv(tiny_model, inputs, tmp_path, capsys):
    out = tmp_path / "p.csv"
    code = cli(["predict", str(inputs), "--model", str(tiny_model), "--output", str(out), "--top_k", "3"])
    rows = {r["file"].split("/")[-1]: r for r in _rows(out)}
    assert code == 1  # some files could not be scored: the exit status says so
    for name in ("a.wav", "b.flac", "c.mp3", "d.ogg", "e.m4a", "f.mp4"):
        r = rows[name]
        assert r["status"] == "ok" and r["label"] in EMOTIONS, name
        probs = [float(r[f"p_{e}"]) for e in EMOTIONS]
        assert sum(probs) == pytest.approx(1.0, abs=1e-4) and float(r["score"]) == pytest.approx(max(probs), abs=1e-6)
        assert r["top_1"].startswith(r["label"] + ":") and r["top_3"]
    assert float(rows["a.wav"]["end"]) == pytest.approx(2.0, abs=1e-3)
    assert rows["empty.wav"]["status"] == "error: empty file (0 bytes)"
    assert rows["junk.wav"]["status"].startswith("error: not audio FFmpeg can read")
    assert rows["silent.wav"]["status"] == "silence" and rows["silent.wav"]["label"] == ""
    err = capsys.readouterr().err
    assert "6 of 9 files scored; 3 could not be" in err


def test_stereo_any_rate_is_downmixed_and_resampled_like_the_dataset(tiny_model, inputs):
    """The same audio at 44.1 kHz stereo and already at 16 kHz mono scores the same (up to resampling)."""
    from hf_ser.audio import decode_file
    from hf_ser.inference.predict import EmotionPredictor

    p = EmotionPredictor.from_pretrained(str(tiny_model))
    whole = next(p.predict_files([inputs / "a.wav"]))
    direct = p.predict_arrays([decode_file(str(inputs / "a.wav")).array])[0]  # the dataset builder's conversion
    np.testing.assert_allclose(whole.probs, direct, atol=1e-5)


def test_jsonl_and_glob_and_stdout(tiny_model, inputs, tmp_path, capsys):
    out = tmp_path / "p.jsonl"
    assert cli(["predict", str(inputs / "*.wav"), "--model", str(tiny_model), "--output", str(out)]) == 1
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["file"].split("/")[-1] for r in recs} == {"a.wav", "empty.wav", "junk.wav", "silent.wav"}
    assert all(set(r) >= {"file", "kind", "start", "end", "status", "label", "score", *[f"p_{e}" for e in EMOTIONS]}
               for r in recs)  # fmt: skip
    capsys.readouterr()
    assert cli(["predict", str(inputs / "a.wav"), "--model", str(tiny_model)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("file,kind,start,end,status,label,score,p_angry") and len(printed) == 2


def test_long_recording_windows_summary_and_plot(tiny_model, tmp_path):
    long = tmp_path / "call.wav"
    x = np.concatenate([_speech_like(5.0, 16_000, 4), np.zeros(16_000 * 3), _speech_like(4.2, 16_000, 5)])
    sf.write(long, x, 16_000)
    out, png = tmp_path / "w.csv", tmp_path / "call.png"
    assert cli(["predict", str(long), "--model", str(tiny_model), "--window", "2", "--hop", "1", "--output", str(out),
                "--plot", str(png)]) == 0  # fmt: skip
    rows = _rows(out)
    windows = [r for r in rows if r["kind"] == "window"]
    spans = window_spans(len(x), 2.0, 1.0)
    assert [(round(float(r["start"]) * 16_000), round(float(r["end"]) * 16_000)) for r in windows] == spans
    silent = [r for r in windows if r["status"] == "silence"]
    assert silent and all(float(r["start"]) >= 5.0 and float(r["end"]) <= 8.0 for r in silent)
    assert all(r["label"] == "" for r in silent) and all(r["label"] in EMOTIONS for r in windows if r not in silent)
    summary = rows[-1]
    assert summary["kind"] == "summary" and summary["status"] == "ok" and float(summary["end"]) == pytest.approx(12.2)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # shorter than the window: classified whole
    assert cli(["predict", str(long), "--model", str(tiny_model), "--window", "30", "--output", str(out)]) == 0
    rows = _rows(out)
    assert [r["kind"] for r in rows] == ["window", "summary"] and float(rows[0]["end"]) == pytest.approx(12.2)


def test_a_long_file_without_window_is_a_row_not_a_crash(tiny_model, tmp_path):
    long = tmp_path / "long.wav"
    sf.write(long, _speech_like(7.0, 16_000), 16_000)
    out = tmp_path / "o.csv"
    assert cli(["predict", str(long), "--model", str(tiny_model), "--max_seconds", "5", "--output", str(out)]) == 1
    assert "longer than --max_seconds 5; pass --window" in _rows(out)[0]["status"]


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--model", "{tmp}/nope"], "/nope': no such folder, and not a Hub id"),
        (["--model", "{tmp}"], "not a transformers checkpoint"),
        (["--model", "me/emotions"], "hf download me/emotions"),
        (["--model", "{model}", "--window", "2", "--hop", "3"], "need 0 < hop <= window"),
        (["--model", "{model}", "--plot", "x.png"], "--hop and --plot need --window"),
        (["--model", "{model}", "--output", "{tmp}"], "--output {tmp}: a folder"),
        (
            ["--model", "{model}", "--backend", "onnx"],
            "no onnx/model_quantized.onnx, onnx/model.onnx, model.int8.onnx, model.onnx",
        ),
    ],
)
def test_bad_model_or_flags_are_one_line_before_any_audio(
    tiny_model, inputs, tmp_path, capsys, monkeypatch, argv, match
):
    import hf_ser.inference.audio_stream as audio_stream
    import hf_ser.inference.predict  # noqa: F401 - imported first, so it never binds the patched reader for good

    def no_audio(*a, **k):
        raise AssertionError("audio was read before the model was checked")

    monkeypatch.setattr(audio_stream, "read_audio", no_audio)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fill = {"tmp": str(tmp_path), "model": str(tiny_model)}
    argv = [a.format(**fill) for a in argv]
    assert cli(["predict", str(inputs / "a.wav"), *argv]) == 2
    err = capsys.readouterr().err
    assert match.format(**fill) in err and "Traceback" not in err and err.count("\n") == 1


def test_a_model_that_is_not_an_audio_classifier_is_refused(tmp_path, capsys):
    from transformers import BertConfig, HubertModel, Wav2Vec2FeatureExtractor

    from hf_ser.modeling.loading import tiny_hubert_config

    HubertModel(tiny_hubert_config(hidden_size=32, num_layers=1)).save_pretrained(tmp_path / "headless")
    BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=1).save_pretrained(
        tmp_path / "bert"
    )
    for name in ("headless", "bert"):
        Wav2Vec2FeatureExtractor().save_pretrained(tmp_path / name)
        assert cli(["predict", "x.wav", "--model", str(tmp_path / name)]) == 2
        assert "not an audio-classification model" in capsys.readouterr().err


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_onnx_export_matches_torch(tiny_model, inputs, tmp_path, quantize):
    from hf_ser.inference.predict import EmotionPredictor

    out = tmp_path / "onnx"
    assert (
        cli(
            [
                "export",
                "--model",
                str(tiny_model),
                "--output",
                str(out),
                *(["--quantize", quantize] if quantize else []),
            ]
        )
        == 0
    )
    assert (out / "onnx" / ("model_quantized.onnx" if quantize else "model.onnx")).is_file()
    assert (out / "config.json").is_file() and (out / "preprocessor_config.json").is_file()
    torch_p = EmotionPredictor.from_pretrained(str(tiny_model))
    onnx_p = EmotionPredictor.from_pretrained(str(out), backend="onnx")
    rng = np.random.default_rng(0)
    arrays = [_speech_like(s, 16_000, i).astype(np.float32) + 0.01 * rng.normal(size=int(s * 16_000)).astype(np.float32)
              for i, s in enumerate((0.7, 1.3, 1.3, 3.1))]  # fmt: skip
    a, b = torch_p.predict_arrays(arrays), onnx_p.predict_arrays(arrays)
    np.testing.assert_allclose(b, a, atol=1e-5 if quantize is None else 5e-2)
    csv_path = tmp_path / "o.csv"
    assert (
        cli(["predict", str(inputs / "a.wav"), "--model", str(out), "--backend", "onnx", "--output", str(csv_path)])
        == 0
    )
    assert _rows(csv_path)[0]["status"] == "ok"


def test_without_ffmpeg_wav_flac_and_mp3_still_decode(tiny_model, inputs, monkeypatch):
    """A machine without FFmpeg (the GPU hosts have none) falls back to libsndfile, with the same samples."""
    import hf_ser.inference.audio_stream as audio_stream

    with_ffmpeg = {n: audio_stream.read_audio(inputs / n) for n in ("a.wav", "b.flac")}
    monkeypatch.setattr(audio_stream, "_ffmpeg_available", lambda: False)
    for name, ref in with_ffmpeg.items():
        np.testing.assert_allclose(audio_stream.read_audio(inputs / name), ref, atol=1e-6)
    assert audio_stream.read_audio(inputs / "c.mp3").size > 0
    with pytest.raises(audio_stream.UnreadableAudio, match="FFmpeg is not installed"):
        audio_stream.read_audio(inputs / "junk.wav")
