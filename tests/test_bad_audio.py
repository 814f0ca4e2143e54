"""Audio that would give a wrong result reported as right: NaN/inf samples, damaged or truncated streams, clips too
short for a label, recordings longer than the web demo takes; and the flags and paths `hf-ser predict` must refuse
in one line. Each case fails on the code before the fix."""

from __future__ import annotations

import csv
import json
import os
import subprocess

import numpy as np
import pytest
import soundfile as sf

from hf_ser.cli import main as cli


def _speech(seconds: float, sr: int = 16_000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = (
        0.3
        * np.sin(2 * np.pi * (150 + 40 * np.sin(2 * np.pi * 0.7 * t)) * t)
        * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    )
    return (x + 0.02 * rng.normal(size=t.shape)).astype(np.float32)


def _ffmpeg(*args):
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *map(str, args)], check=True)


def _rows(path):
    return list(csv.DictReader(path.read_text().splitlines()))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """A 70 s mp3 whose frames around 50 s are garbage (FFmpeg's command line skips them; a strict decoder stops)."""
    root = tmp_path_factory.mktemp("damaged")
    sf.write(root / "clean.wav", _speech(70.0, 22_050), 22_050)
    _ffmpeg("-i", root / "clean.wav", "-b:a", "96k", root / "clean.mp3")
    data = bytearray((root / "clean.mp3").read_bytes())
    at = int(len(data) * 50 / 70)
    data[at : at + 3000] = bytes((b * 7 + 13) % 256 for b in data[at : at + 3000])
    (root / "damaged.mp3").write_bytes(bytes(data))
    sf.write(root / "full.flac", _speech(20.0), 16_000)
    (root / "truncated.flac").write_bytes((root / "full.flac").read_bytes()[:60_000])
    return root


def test_a_damaged_frame_mid_stream_is_skipped_and_reported_not_taken_for_the_end(tiny_classifier, damaged, tmp_path,
                                                                                   capsys):  # fmt: skip
    out = tmp_path / "w.csv"
    code = cli(["predict", str(damaged / "damaged.mp3"), "--model", str(tiny_classifier), "--window", "4",
                "--output", str(out)])  # fmt: skip
    rows = _rows(out)
    assert code == 0 and rows[-1]["kind"] == "summary" and rows[-1]["status"] == "ok"
    assert float(rows[-1]["end"]) > 69.0  # was 29.9: the first error after 30 s was taken for the end
    assert "damaged data skipped" in capsys.readouterr().err
    whole = tmp_path / "f.csv"  # whole-file mode reads what FFmpeg's command line reads (it refused the file before)
    assert cli(["predict", str(damaged / "damaged.mp3"), "--model", str(tiny_classifier), "--max_seconds", "80",
                "--output", str(whole)]) == 0  # fmt: skip
    assert _rows(whole)[0]["status"] == "ok" and float(_rows(whole)[0]["end"]) > 69.0
    assert "damaged data skipped" in capsys.readouterr().err


def test_a_truncated_file_is_an_error_row_not_a_short_recording(tiny_classifier, damaged, tmp_path):
    for extra in ([], ["--window", "3"]):
        out = tmp_path / "t.csv"
        assert cli(["predict", str(damaged / "truncated.flac"), "--model", str(tiny_classifier), *extra,
                    "--output", str(out)]) == 1  # fmt: skip
        assert _rows(out)[-1]["status"].startswith("error: truncated: decoded")


def test_nan_or_inf_samples_are_an_error_in_every_path(tiny_classifier, tmp_path):
    from hf_ser.inference.predict import EmotionPredictor
    from hf_ser.inference.webapp import analyse

    x = _speech(12.0)
    x[int(7.5 * 16_000)] = np.nan
    x[int(9.0 * 16_000)] = np.inf
    sf.write(tmp_path / "nan.wav", x, 16_000, subtype="FLOAT")
    for extra in ([], ["--window", "3", "--hop", "1.5"]):
        out = tmp_path / "n.csv"
        assert cli(["predict", str(tmp_path / "nan.wav"), "--model", str(tiny_classifier), *extra, "--output",
                    str(out)]) == 1  # fmt: skip
        rows = _rows(out)
        assert rows[-1]["status"] == "error: corrupt samples (NaN or inf) at 7.50 s" and rows[-1]["label"] == ""
        assert all(r["kind"] != "window" for r in rows)  # no window of it is reported as scored
    predictor = EmotionPredictor.from_pretrained(str(tiny_classifier))
    scores, chart, table, message = analyse(predictor, str(tmp_path / "nan.wav"), workdir=tmp_path)
    assert scores is None and "corrupt samples" in message
    with pytest.raises(ValueError, match="NaN or infinite"):
        predictor.predict_arrays([x])


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_a_clip_too_short_for_a_label_is_a_row_and_the_folder_goes_on(tiny_classifier, tmp_path, backend):
    folder = tmp_path / "clips"
    folder.mkdir()
    sf.write(folder / "ok.wav", _speech(1.2), 16_000)
    sf.write(folder / "tiny.wav", _speech(0.015), 16_000)  # 240 samples: less than the encoder's first frame
    sf.write(folder / "short.wav", _speech(0.025), 16_000)  # one frame: it used to get a confident label
    model = tiny_classifier
    if backend == "onnx":
        model = tmp_path / "onnx"
        assert cli(["export", "--model", str(tiny_classifier), "--output", str(model)]) == 0
    for extra in ([], ["--window", "2"]):
        out = tmp_path / "o.csv"
        assert cli(["predict", str(folder), "--model", str(model), "--backend", backend, *extra, "--output",
                    str(out)]) == 1  # fmt: skip
        rows = {r["file"].rsplit("/", 1)[-1]: r for r in _rows(out) if r["kind"] != "window"}
        assert rows["ok.wav"]["status"] == "ok"
        assert rows["tiny.wav"]["status"] == "error: too short (0.015 s < 0.1 s)" and rows["tiny.wav"]["label"] == ""
        assert rows["short.wav"]["status"] == "error: too short (0.025 s < 0.1 s)"


def test_the_app_limit_holds_for_what_decodes_not_what_the_header_says(tiny_classifier, tmp_path):
    from hf_ser.inference.audio_stream import audio_info
    from hf_ser.inference.predict import EmotionPredictor
    from hf_ser.inference.webapp import _RequestFolders, analyse

    sf.write(tmp_path / "long.wav", _speech(40.0), 16_000)
    piped = tmp_path / "piped.flac"  # streamed FLAC states no length (a browser's WebM neither)
    with open(piped, "wb") as fh:
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(tmp_path / "long.wav"), "-f", "flac", "pipe:1"],
                       stdout=fh, check=True)  # fmt: skip
    assert audio_info(piped)[0] is None
    predictor = EmotionPredictor.from_pretrained(str(tiny_classifier))
    scores, _, _, message = analyse(predictor, str(piped), max_seconds=30.0, workdir=tmp_path)
    assert scores is None and message.startswith("**Too long:**")
    scores, chart, table, message = analyse(predictor, str(piped), max_seconds=60.0, workdir=tmp_path)
    assert scores is None and message.startswith("**No speech found:**")  # a gliding tone: silero hears no speech
    scores, chart, table, _ = analyse(predictor, str(piped), segment="window", max_seconds=60.0, workdir=tmp_path)
    assert scores is not None and chart and table
    folders = _RequestFolders(keep=3)  # one temporary folder for the app, the latest requests' files only
    made = [folders.new() for _ in range(6)]
    assert [p.exists() for p in made] == [False, False, False, True, True, True]
    root = made[0].parent
    del folders
    import gc

    gc.collect()
    assert not root.exists()


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        (["--window", "inf"], "need 0 < hop <= window (finite seconds)"),
        (["--window", "nan"], "need 0 < hop <= window (finite seconds)"),
        (["--device", "gpu7"], "--device gpu7: not a device torch knows"),
        (["--device", "meta"], "--device meta: hf-ser predicts on cpu or cuda"),
        (["--top_k", "9"], "--top_k 9: the model has 8 labels"),
        (["--backend", "onnx", "--dtype", "bfloat16"], "--dtype bfloat16: the ONNX backend runs"),
    ],
)
def test_flags_that_would_crash_or_mislead_are_one_line(tiny_classifier, tmp_path, capsys, flags, match):
    sf.write(tmp_path / "a.wav", _speech(1.0), 16_000)
    assert cli(["predict", str(tmp_path / "a.wav"), "--model", str(tiny_classifier), *flags]) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1 and "Traceback" not in err


def test_damaged_weights_and_a_head_missing_from_the_weights_are_refused(tiny_classifier, tmp_path, capsys):
    import shutil

    from safetensors.torch import load_file, save_file

    damaged = tmp_path / "damaged"
    shutil.copytree(tiny_classifier, damaged)
    (damaged / "model.safetensors").write_bytes((tiny_classifier / "model.safetensors").read_bytes()[:2_000])
    assert cli(["predict", "x.wav", "--model", str(damaged)]) == 2
    assert "its weights cannot be read" in capsys.readouterr().err
    for case in ("no_head_weights", "no_architectures"):
        folder = tmp_path / case
        shutil.copytree(tiny_classifier, folder)
        weights = load_file(folder / "model.safetensors")
        save_file({k: v for k, v in weights.items() if not k.startswith(("classifier", "projector"))},
                  folder / "model.safetensors", metadata={"format": "pt"})  # fmt: skip
        if case == "no_architectures":
            config = json.loads((folder / "config.json").read_text())
            config.pop("architectures")
            (folder / "config.json").write_text(json.dumps(config))
        for argv in (["predict", "x.wav", "--model", str(folder)], ["export", "--model", str(folder), "--output",
                                                                      str(tmp_path / f"{case}-onnx")]):  # fmt: skip
            assert cli(argv) == 2
            err = capsys.readouterr().err
            assert "weights do not cover the model" in err and "classifier.weight" in err, err


def test_a_file_name_that_is_not_utf8_comes_back_as_it_was(tiny_classifier, tmp_path):
    folder = os.fsencode(tmp_path / "clips")
    os.mkdir(folder)
    sf.write(tmp_path / "plain.wav", _speech(1.0), 16_000)
    os.rename(os.fsencode(tmp_path / "plain.wav"), folder + b"/caf\xe9-latin1.wav")  # Latin-1, not valid UTF-8
    out = tmp_path / "o.csv"
    assert cli(["predict", os.fsdecode(folder), "--model", str(tiny_classifier), "--output", str(out)]) == 0
    assert b"caf\xe9-latin1.wav,file," in out.read_bytes()  # the name's own bytes, row ok
    jsonl = tmp_path / "o.jsonl"
    assert cli(["predict", os.fsdecode(folder), "--model", str(tiny_classifier), "--output", str(jsonl)]) == 0
    assert json.loads(jsonl.read_text())["status"] == "ok"
