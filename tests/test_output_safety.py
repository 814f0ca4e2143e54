"""Nothing overwritten, nothing misreported: every command's outputs follow one rule (hf_ser.outputs): never an input,
a model or a run it did not create, and a result appears only when complete. Plus what `compare` may pair, and the
same numbers from the same command."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from conftest import NO_EVAL, REPO, load_script, train_run

from hf_ser.cli import main as cli

eval_recipe = load_script("recipes/eval.py")
pretrain_recipe = load_script("recipes/pretrain.py")


def _tone(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (0.3 * np.sin(2 * np.pi * (170 + 30 * seed) * t) + 0.02 * rng.normal(size=t.shape)).astype(np.float32)


@pytest.fixture(scope="module")
def runs(demo_dataset, tmp_path_factory):
    """Two tiny runs of two seeds, and scores of the first on the test and the validation split."""
    root = tmp_path_factory.mktemp("runs")
    for seed in (1, 2):
        assert train_run(demo_dataset, root / f"seed{seed}", "--max_steps", "3", "--seed", str(seed), *NO_EVAL) == 0
    for split in ("test", "validation"):
        assert eval_recipe.main(["score", "--model", str(root / "seed1"), "--dataset", str(demo_dataset), "--protocol",
                                 "speaker", "--split", split, "--output_dir", str(root / f"score-{split}")]) == 0  # fmt: skip
    return root


# ------------------------------------------------------------------------------------------------------------------
# hf-ser predict / export
# ------------------------------------------------------------------------------------------------------------------
def test_predict_never_writes_over_its_input_a_model_or_a_file_it_did_not_write(tiny_classifier, tmp_path, capsys):
    clip = tmp_path / "clip.wav"
    sf.write(clip, _tone(1.0), 16_000)
    before, config = clip.read_bytes(), (tiny_classifier / "config.json").read_bytes()
    notes = tmp_path / "notes.csv"
    notes.write_text("my,own,table\n")
    for output, match in ((clip, "that is an input of this command"),
                          (tiny_classifier / "config.json", "inside or around the model folder"),
                          (tiny_classifier / "predictions.csv", "inside or around the model folder"),
                          (notes, "is not an earlier hf-ser predict output")):  # fmt: skip
        assert cli(["predict", str(clip), "--model", str(tiny_classifier), "--output", str(output)]) == 2
        assert match in capsys.readouterr().err
    assert clip.read_bytes() == before and (tiny_classifier / "config.json").read_bytes() == config
    assert notes.read_text() == "my,own,table\n" and not (tiny_classifier / "predictions.csv").exists()
    out = tmp_path / "p.csv"  # an earlier predictions file is replaced by the new one
    for _ in range(2):
        assert cli(["predict", str(clip), "--model", str(tiny_classifier), "--output", str(out)]) == 0
    assert len(list(csv.DictReader(out.read_text().splitlines()))) == 1
    capsys.readouterr()
    assert cli(["export", "--model", str(tiny_classifier), "--output", str(tiny_classifier)]) == 2
    assert "that is an input of this command" in capsys.readouterr().err


def test_charts_of_same_named_files_do_not_collide(tiny_classifier, tmp_path):
    for rel in ("a/x.wav", "b/x.wav"):
        (tmp_path / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(tmp_path / "in" / rel, _tone(3.0, seed=len(rel)), 16_000)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(tmp_path / "in/b/x.wav"), str(tmp_path / "in/b/x.mp3")],
                   check=True)  # fmt: skip
    charts = tmp_path / "charts"
    assert cli(["predict", str(tmp_path / "in"), "--model", str(tiny_classifier), "--window", "1", "--plot",
                str(charts), "--output", str(tmp_path / "w.csv")]) == 0  # fmt: skip
    made = sorted(str(p.relative_to(charts)) for p in charts.rglob("*.png"))
    assert made == ["a/x.wav.png", "b/x.mp3.png", "b/x.wav.png"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_predict_leaves_the_earlier_result_and_resumes(tiny_classifier, tmp_path, capsys, sig):
    """Ctrl-C, SIGTERM or a kill: the earlier output stays as it was, the files finished so far are kept whole in
    the run's parts, a plain rerun refuses to overwrite them, and --resume finishes the rest."""
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(400):
        sf.write(folder / f"{i:03d}.wav", _tone(0.5, seed=i % 7), 16_000)
    out = tmp_path / "p.csv"
    earlier = "file,kind,start,end,status,label\nold.wav,file,0,1,ok,sad\n"
    out.write_text(earlier)
    argv = ["predict", str(folder), "--model", str(tiny_classifier), "--output", str(out), "--batch_seconds", "1"]
    # a shell's background job (CI) starts with SIGINT ignored, which Python keeps: give the child Ctrl-C back
    proc = subprocess.Popen([sys.executable, "-m", "hf_ser.cli", *argv], stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TQDM_DISABLE": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    part = tmp_path / "p.csv.parts" / "part-00000.jsonl"
    deadline = time.time() + 120
    while not (part.is_file() and part.stat().st_size) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "predict finished before it could be interrupted"
    time.sleep(0.3)  # more files are being finished
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (-9 if sig == signal.SIGKILL else 130)
    assert sig == signal.SIGKILL or "interrupted" in err
    assert out.read_text() == earlier  # untouched: rows never went into the final path
    lines = part.read_text().splitlines()
    kept = {json.loads(line)["file"] for line in lines if line.endswith("}")}
    assert 0 < len(kept) < 400
    capsys.readouterr()
    assert cli(argv) == 2 and "pass --resume" in capsys.readouterr().err  # the finished files are not thrown away
    assert cli([*argv, "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"--resume: {len(kept)} of 400 files already done" in err
    rows = list(csv.DictReader(out.open()))
    assert [r["file"] for r in rows] == [str(p) for p in sorted(folder.glob("*.wav"))]  # input order, each once
    assert not (tmp_path / "p.csv.parts").exists()


def test_an_unwritable_output_is_one_line(tiny_classifier, tmp_path, capsys):
    sf.write(tmp_path / "a.wav", _tone(1.0), 16_000)
    assert cli(["predict", str(tmp_path / "a.wav"), "--model", str(tiny_classifier), "--output",
                "/proc/self/hf-ser.csv"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and err.count("\n") == 1


# ------------------------------------------------------------------------------------------------------------------
# eval.py score / compare, pretraining, cross-validation
# ------------------------------------------------------------------------------------------------------------------
def test_score_never_replaces_a_training_run_or_writes_into_the_model(runs, demo_dataset, capsys):
    run = runs / "seed1"
    before = (run / "results.json").read_bytes()
    for output in (run, runs / "seed2", run / "scores"):
        argv = ["score", "--model", str(run), "--dataset", str(demo_dataset), "--protocol", "speaker", "--output_dir",
                str(output)]  # fmt: skip
        assert eval_recipe.main(argv) == 2
        err = capsys.readouterr().err
        assert any(m in err for m in ("an input of this command", "a model folder", "around the model folder")), err
    assert (run / "results.json").read_bytes() == before and not (run / "scores").exists()
    again = ["score", "--model", str(run), "--dataset", str(demo_dataset), "--protocol", "speaker", "--output_dir",
             str(runs / "score-test")]  # fmt: skip
    assert eval_recipe.main(again) == 0  # an earlier score is replaced


def test_compare_refuses_what_it_cannot_compare_or_pair(runs, tmp_path, capsys):
    def compare(*argv):
        return eval_recipe.main(["compare", *map(str, argv)])

    assert compare(runs / "seed1", runs / "score-validation") == 2  # a validation score in a test table
    assert "scored on 'validation': compare --split validation" in capsys.readouterr().err
    assert compare(runs / "seed1", runs / "seed1") == 2
    assert "is given twice" in capsys.readouterr().err
    results = runs / "seed1" / "results.json"
    before = results.read_bytes()
    assert compare(runs / "seed1", runs / "seed2", "--output", results) == 2
    assert compare(runs / "seed1", runs / "seed2", "--output", runs / "seed1" / "table.md") == 2
    notes = tmp_path / "notes.md"
    notes.write_text("mine\n")
    assert compare(runs / "seed1", runs / "seed2", "--output", notes) == 2
    assert results.read_bytes() == before and notes.read_text() == "mine\n"
    table = tmp_path / "table.md"
    for _ in range(2):  # an earlier comparison is replaced
        assert compare(runs / "seed1", runs / "seed2", runs / "score-test", "--output", table, "--significance") == 0
    assert table.read_text().startswith("| model | method | protocol |") and "Significance" in table.read_text()
    capsys.readouterr()

    # stale predictions: results.json of one scoring, the CSV of another (here: of the validation split)
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / "results.json").write_text((runs / "score-test" / "results.json").read_text())
    rows = (runs / "score-validation" / "validation_predictions.csv").read_text()
    (stale / "test_predictions.csv").write_text(rows)
    assert compare(runs / "seed1", stale, "--significance") == 2
    assert "stale predictions file" in capsys.readouterr().err


def test_one_seed_twice_is_not_a_spread(runs, tmp_path, capsys):
    import shutil

    shutil.copytree(runs / "seed1", tmp_path / "copy")  # the same seed, another folder
    assert eval_recipe.main(["compare", str(runs / "seed1"), str(tmp_path / "copy")]) == 2
    assert "the same seed twice" in capsys.readouterr().err
    assert eval_recipe.main(["compare", str(runs / "seed1"), str(runs / "seed2")]) == 0
    assert "2 (1, 2)" in capsys.readouterr().out  # two seeds: mean +- std over them


def test_clip_ids_are_stable_without_a_file_column():
    from datasets import Audio, ClassLabel, Dataset, Features, Value

    from hf_ser.audio import encode_wav
    from hf_ser.evaluation.scoring import clip_ids, clips_fingerprint

    clips = [encode_wav(_tone(0.3, seed=s)) for s in (0, 1, 2, 1)]  # the last is a copy of the second
    ds = Dataset.from_dict({"audio": [{"bytes": b, "path": None} for b in clips], "label": [0, 1, 2, 1],
                            "speaker": ["a", "a", "b", "b"]},
                           features=Features({"audio": Audio(), "label": ClassLabel(names=["x", "y", "z"]),
                                              "speaker": Value("string")}))  # fmt: skip
    ids = clip_ids(ds)
    assert len(set(ids)) == 4 and ids[3] == ids[1] + "#2" and all(i.startswith("sha1:") for i in ids)
    assert clip_ids(ds.select([3, 2, 1, 0]))[::-1] != ids  # ids follow content, duplicates by row order
    assert clips_fingerprint(ids) == clips_fingerprint(list(reversed(ids)))  # the set, not the order


def test_pretraining_output_overlapping_its_audio_is_refused(tmp_path, capsys):
    audio = tmp_path / "speech"
    for i in range(3):
        (audio / "x").mkdir(parents=True, exist_ok=True)
        sf.write(audio / "x" / f"{i}.wav", _tone(1.0, seed=i), 16_000)
    listing = sorted(p.name for p in audio.rglob("*"))
    for output in (audio, audio / "model", tmp_path):
        assert pretrain_recipe.main(["--audio_dir", str(audio), "--output_dir", str(output), "--max_steps", "1",
                                     "--report_to", "none"]) == 2  # fmt: skip
        assert "overlaps --audio_dir" in capsys.readouterr().err
    assert sorted(p.name for p in audio.rglob("*")) == listing
    one = tmp_path / "one"
    one.mkdir()
    sf.write(one / "a.wav", _tone(1.0), 16_000)
    assert pretrain_recipe.main(["--audio_dir", str(one), "--output_dir", str(tmp_path / "m"), "--max_steps", "1",
                                 "--report_to", "none"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "needs at least 2" in err and err.count("\n") == 1


def test_training_output_overlapping_its_backbone_or_dataset_is_refused(tiny_classifier, demo_dataset, capsys):
    from hf_ser.training.configs import ConfigError, parse_recipe_args

    for flags in (["--output_dir", str(tiny_classifier)], ["--output_dir", str(demo_dataset / "run")]):
        with pytest.raises(ConfigError, match="overlaps"):
            parse_recipe_args(["--model_name_or_path", str(tiny_classifier), "--dataset", str(demo_dataset), *flags,
                               "--overwrite_output_dir"])  # fmt: skip


def test_a_cross_validation_fold_listed_twice_is_refused(demo_dataset):
    from hf_ser.data.loading import DataError
    from hf_ser.evaluation.crossval import expand_protocols

    with pytest.raises(DataError, match="speaker_fold0 listed twice"):
        expand_protocols("speaker_fold0,speaker_fold1,speaker_fold0", str(demo_dataset))


# ------------------------------------------------------------------------------------------------------------------
# The same command gives the same numbers
# ------------------------------------------------------------------------------------------------------------------
def test_a_new_head_is_the_same_on_every_run_with_the_same_seed(demo_dataset, tmp_path):
    """A headless backbone (as the demo's) gets a fresh head: from torch's per-process random seed before, so two
    runs of one command trained different models (the demo's headline figure moved by 6 points)."""
    from transformers import HubertModel

    from hf_ser.modeling.loading import _tiny_feature_extractor, tiny_hubert_config

    backbone = tmp_path / "backbone"
    HubertModel(tiny_hubert_config(hidden_size=32, num_layers=2)).save_pretrained(backbone)
    _tiny_feature_extractor().save_pretrained(backbone)
    weights = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        code = subprocess.run([sys.executable, str(REPO / "recipes" / "train.py"), "--model_name_or_path",
                               str(backbone), "--dataset", str(demo_dataset), "--protocol", "speaker", "--output_dir",
                               str(out), "--max_steps", "3", "--per_device_train_batch_size", "8", "--report_to",
                               "none", "--max_duration", "2.0", *NO_EVAL], capture_output=True,
                              env={**os.environ, "TQDM_DISABLE": "1"}).returncode  # fmt: skip
        assert code == 0
        weights.append((out / "model.safetensors").read_bytes())
        assert json.loads((out / "results.json").read_text())["seed"] == 42
    assert weights[0] == weights[1]
