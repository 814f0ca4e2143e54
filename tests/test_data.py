"""The builder: audio checks, de-duplication, splits, the Parquet + card folder, load_dataset, the CLI's errors."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import load_script, write_wav

from hf_ser.data.build import BuildConfig, BuildError, build_eight_emotions, random_split, speaker_disjoint_split
from hf_ser.labels import CORPORA, EMOTIONS

cli = load_script("dataset_scripts/eight_emotions.py")


def _build(roots, out, **kw):
    return build_eight_emotions(BuildConfig(corpora={k: str(v) for k, v in roots.items()}, output_dir=str(out), **kw))


def _skipped(out: Path) -> dict[str, str]:
    with open(out / "skipped.csv") as fh:
        return {f"{r['corpus']}/{r['file']}": r["reason"] for r in csv.DictReader(fh)}


def test_build_round_trip_through_load_dataset(small_corpora, tmp_path):
    from datasets import Audio, ClassLabel, load_dataset

    # datasets keys the Arrow cache of a folder by its name: give this one a name no other test uses
    out = tmp_path / f"round_trip_{tmp_path.name}"
    report = _build(small_corpora, out)
    assert sorted(p.name for p in out.iterdir()) == ["LICENSE.md", "README.md", "data", "skipped.csv"]
    total = sum(sum(c.values()) for c in report.final.values())
    assert total == 12 + 8 + 8 + 6
    # each clip is stored once, whatever the number of protocols
    assert sum(pq.read_metadata(f).num_rows for f in (out / "data").glob("*.parquet")) == total
    for protocol in ("random", "speaker"):
        dd = load_dataset(str(out), protocol)
        assert set(dd) == {"train", "validation", "test"}
        assert sum(len(d) for d in dd.values()) == total
        feats = dd["train"].features
        assert isinstance(feats["audio"], Audio) and feats["audio"].sampling_rate == 16_000
        assert isinstance(feats["label"], ClassLabel) and feats["label"].names == list(EMOTIONS)
        assert feats["corpus"].names == list(CORPORA)
        for col in ("speaker", "gender", "text", "intensity", "file"):
            assert col in feats
    row = next(r for r in load_dataset(str(out), "random")["train"] if r["corpus"] == CORPORA.index("ravdess"))
    audio = row["audio"]
    assert audio["sampling_rate"] == 16_000
    # 0.5 s at 48 kHz became 0.5 s at 16 kHz, stored once
    assert audio["array"].shape == (8000,) and row["original_sampling_rate"] == 48_000
    card = (out / "README.md").read_text()
    assert "config_name: speaker" in card and "CC BY-NC-SA 4.0" in card and "| ravdess | calm | 192 | 4 | 4 |" in card


def test_rebuilt_folder_never_loads_stale_cache(small_corpora, tmp_path):
    from hf_ser.data.layout import load_eight_emotions

    out = tmp_path / "eight_emotions"
    _build({"savee": small_corpora["savee"], "tess": small_corpora["tess"]}, out)
    first = sum(len(d) for d in load_eight_emotions(str(out), "random").values())
    _build(small_corpora, out, overwrite=True)
    second = load_eight_emotions(str(out), "random")
    assert first == 14 and sum(len(d) for d in second.values()) == 34
    with pytest.raises(ValueError, match="no 'loso' config \\(it has: crema_d, loco_"):
        load_eight_emotions(str(out), "loso")


def test_bad_audio_and_identical_audio_are_reported_not_kept(small_corpora, tmp_path):
    r = small_corpora
    write_wav(r["ravdess"] / "Actor_05" / "03-01-03-01-01-01-05.wav", silent=True)
    (r["ravdess"] / "Actor_05" / "03-01-04-01-01-01-05.wav").write_bytes(b"RIFF not really a wav file at all" * 4)
    write_wav(r["savee"] / "AudioData" / "KL" / "h01.wav", sr=44_100, channels=2, subtype="FLOAT", seconds=0.7)
    # CREMA-D's byte-identical recordings under two labels, and one identical copy under the same label
    shutil.copy(r["crema_d"] / "AudioWAV" / "1001_DFA_ANG_XX.wav", r["crema_d"] / "AudioWAV" / "1001_IEO_SAD_XX.wav")
    shutil.copy(r["tess"] / "OAF_back_angry.wav", r["tess"] / "YAF_dog_angry.wav")
    out = tmp_path / "ds"
    report = _build(r, out)
    skipped = _skipped(out)
    assert skipped["ravdess/Actor_05/03-01-03-01-01-01-05.wav"].startswith("silent")
    assert skipped["ravdess/Actor_05/03-01-04-01-01-01-05.wav"].startswith("unreadable audio")
    assert "identical audio under two labels" in skipped["crema_d/AudioWAV/1001_DFA_ANG_XX.wav"]
    assert "identical audio under two labels" in skipped["crema_d/AudioWAV/1001_IEO_SAD_XX.wav"]
    assert skipped["tess/YAF_dog_angry.wav"] == "identical audio to tess/OAF_back_angry.wav (angry)"
    assert "tess/OAF_back_angry.wav" not in skipped
    # the stereo float 44.1 kHz file is kept, downmixed and resampled
    assert report.final["savee"]["happy"] == 1
    card = (out / "README.md").read_text()
    assert "| crema_d | identical audio under two labels | 2 |" in card
    assert "| ravdess | silent | 1 |" in card


def test_random_split_is_stratified_and_deterministic():
    strata = [f"{e}|{c}" for e in EMOTIONS[:4] for c in ("a", "b") for _ in range(50)]
    a = random_split(strata, test_size=0.2, validation_size=0.1, seed=1)
    assert a == random_split(strata, test_size=0.2, validation_size=0.1, seed=1)
    assert a != random_split(strata, test_size=0.2, validation_size=0.1, seed=2)
    assert sorted(a["train"] + a["validation"] + a["test"]) == list(range(len(strata)))
    for split, share in (("test", 10), ("validation", 5)):
        assert Counter(strata[i] for i in a[split]) == dict.fromkeys(set(strata), share)


def test_speaker_split_is_disjoint_and_spreads_each_group():
    rng = np.random.default_rng(0)
    speakers, groups = [], []
    for corpus, n_spk in (("crema_d", 40), ("ravdess", 12), ("tess", 2)):
        for s in range(n_spk):
            k = int(rng.integers(20, 40))
            speakers += [f"{corpus}_{s}"] * k
            female = corpus == "tess" or s % 2  # TESS: two women
            groups += [f"{corpus}|{'female' if female else 'male'}"] * k
    out = speaker_disjoint_split(speakers, groups, test_size=0.2, validation_size=0.1, seed=3)
    assert out == speaker_disjoint_split(speakers, groups, test_size=0.2, validation_size=0.1, seed=3)
    spk_sets = {k: {speakers[i] for i in v} for k, v in out.items()}
    assert not (spk_sets["train"] & spk_sets["test"] or spk_sets["train"] & spk_sets["validation"]
                or spk_sets["validation"] & spk_sets["test"])  # fmt: skip
    assert sorted(i for v in out.values() for i in v) == list(range(len(speakers)))
    test_share = len(out["test"]) / len(speakers)
    assert 0.12 < test_share < 0.28
    for corpus in ("crema_d", "ravdess"):  # enough speakers: each corpus is in every split
        for split in out:
            assert any(s.startswith(corpus) for s in spk_sets[split]), (corpus, split)
    assert {s for s in spk_sets["train"] if s.startswith("tess")} and {
        s for s in spk_sets["test"] if s.startswith("tess")
    }


def test_cli_bad_input_each_one_line_error_and_no_partial_output(small_corpora, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"

    def run(*args) -> tuple[int, str]:
        code = cli.main(["--output", str(out), *args])
        return code, capsys.readouterr().err

    code, err = run("--ravdess", str(tmp_path / "missing"))
    assert code == 2 and err.strip().count("\n") == 0 and "RAVDESS: folder not found" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = run("--tess", str(empty))
    assert code == 2 and "TESS: no recognisable files" in err
    lfs = tmp_path / "crema_clone" / "AudioWAV"
    lfs.mkdir(parents=True)
    (lfs / "1001_DFA_ANG_XX.wav").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n")
    code, err = run("--crema-d", str(lfs.parent))
    assert code == 2 and "Git LFS pointer" in err
    code, err = run()
    assert code == 2 and "no corpus given" in err
    code, err = run("--savee", str(small_corpora["savee"]), "--test-size", "0.9")
    assert code == 2 and "--test-size" in err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, err = run("--savee", str(small_corpora["savee"]), "--push-to-hub", "me/eight_emotions")
    assert code == 2 and "HF_HUB_OFFLINE is set" in err
    assert not out.exists()
    assert code == 2 and not list(tmp_path.glob(".out.partial-*"))
    # a good build, then a second one refused without --overwrite, leaving the first intact
    two = ["--savee", str(small_corpora["savee"]), "--tess", str(small_corpora["tess"])]  # 4 speakers
    assert cli.main(["--output", str(out), *two, "--num-proc", "2"]) == 0
    assert "Wrote" in capsys.readouterr().out
    before = sorted(p.name for p in out.rglob("*"))
    code, err = run(*two)
    assert code == 2 and "exists and is not empty; pass --overwrite" in err
    assert sorted(p.name for p in out.rglob("*")) == before
    assert cli.main(["--output", str(out), *two, "--overwrite"]) == 0
    code, err = run("--savee", str(small_corpora["savee"]), "--overwrite")
    assert code == 2 and "speaker protocol needs at least 3 speakers; the corpora have 2" in err


def test_interrupted_build_leaves_nothing(small_corpora, tmp_path, monkeypatch):
    import hf_ser.data.build as data

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "_write_skipped", boom)
    with pytest.raises(KeyboardInterrupt):
        _build(small_corpora, tmp_path / "ds")
    assert list(tmp_path.iterdir()) == [p for p in tmp_path.iterdir() if p.name != "ds" and "partial" not in p.name]
    assert not (tmp_path / "ds").exists()


def test_parallel_build_equals_serial(small_corpora, tmp_path):
    from hf_ser.data.layout import load_eight_emotions

    _build(small_corpora, tmp_path / "a", num_proc=1)
    _build(small_corpora, tmp_path / "b", num_proc=2)
    a = load_eight_emotions(str(tmp_path / "a"), "speaker")["test"]
    b = load_eight_emotions(str(tmp_path / "b"), "speaker")["test"]
    assert a["file"] == b["file"] and a["label"] == b["label"]
    assert np.array_equal(a[0]["audio"]["array"], b[0]["audio"]["array"])


def test_build_config_rejects_unknown_corpus(tmp_path):
    with pytest.raises(BuildError, match="unknown corpus"):
        BuildConfig(corpora={"iemocap": "x"}, output_dir=str(tmp_path)).validate()


def test_a_label_map_merges_labels_at_build_time(small_corpora, tmp_path, capsys):
    from hf_ser.data.layout import load_eight_emotions

    out = tmp_path / f"no_calm_{tmp_path.name}"
    assert cli.main(["--output", str(out), *[a for k, v in small_corpora.items()
                                             for a in (f"--{k.replace('_', '-')}", str(v))],
                     "--num-proc", "1", "--label-map", "no_calm"]) == 0  # fmt: skip
    assert "7 labels (angry, disgust, fear, happy, neutral, sad, surprise)" in capsys.readouterr().out
    plain = _build(small_corpora, tmp_path / "plain")
    dd = load_eight_emotions(str(out), "random")
    names = dd["train"].features["label"].names
    assert names == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    counts = Counter(names[y] for d in dd.values() for y in d["label"])
    before = Counter({e: sum(c.get(e, 0) for c in plain.final.values()) for e in EMOTIONS})
    assert counts["neutral"] == before["neutral"] + before["calm"] > before["neutral"]
    assert all(counts[e] == before[e] for e in names if e != "neutral")
    assert "Labels merged\nat build time (`--label-map`): calm -> neutral" in (out / "README.md").read_text()
    assert cli.main(["--output", str(tmp_path / "bad"), "--savee", str(small_corpora["savee"]), "--label-map",
                     "calm2neutral"]) == 2  # fmt: skip
    assert "--label-map: 'calm2neutral' is neither a preset" in capsys.readouterr().err
