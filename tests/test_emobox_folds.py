"""EmoBox's fold rules (``--emobox-folds``): which rule each corpus gets, that each fold tests exactly what the rule
says, and that a build without the flag writes the same files as before."""

from __future__ import annotations

import zlib
from collections import Counter
from pathlib import Path

from conftest import load_script, write_wav

from hf_ser.data.emobox import emobox_folds, emobox_split


def _rows(corpus: str, speakers: dict[str, dict[str, int]], **extra) -> list[dict]:
    rows = []
    for spk, counts in speakers.items():
        for emotion, n in counts.items():
            for _ in range(n):
                rows.append({"corpus": corpus, "speaker": spk, "emotion": emotion,
                             "extra": tuple((k, v(spk) if callable(v) else v) for k, v in extra.items())})  # fmt: skip
    return rows


def _test_speakers(rows, roles, k):
    return [{rows[i]["speaker"] for i, r in enumerate(roles) if r == f"f{j}"} for j in range(1, k + 1)]


def test_balanced_corpora_leave_one_speaker_out_or_deal_speaker_folds():
    rows = _rows("emovo", {s: {"angry": 3, "sad": 3} for s in ("f1", "f2", "f3", "m1", "m2")})
    out = emobox_folds(rows, seed=42)
    assert out.k == {"emovo": 5} and out.rule["emovo"] == "leave one speaker out"
    assert _test_speakers(rows, out.roles, 5) == [{"f1"}, {"f2"}, {"f3"}, {"m1"}, {"m2"}]
    rows = _rows("big", {f"s{i:02d}": {"angry": 2, "sad": 2} for i in range(9)})
    out = emobox_folds(rows, seed=42)
    assert out.k == {"big": 2}  # 9 speakers // 4
    tests = _test_speakers(rows, out.roles, 2)
    assert sorted(len(t) for t in tests) == [4, 5] and set.union(*tests) == {r["speaker"] for r in rows}
    assert emobox_folds(rows, seed=42).roles == out.roles  # reproducible, unlike EmoBox's unseeded shuffle
    assert emobox_folds(rows, seed=7).roles != out.roles


def test_unbalanced_or_few_speakers_give_one_stratified_fold_with_25_percent_of_each_emotion():
    rows = _rows("crema_d", {"a": {"angry": 9, "sad": 4}, "b": {"angry": 7, "sad": 4}, "c": {"angry": 8, "sad": 5},
                             "d": {"angry": 8, "sad": 4}, "e": {"angry": 8, "sad": 4}})  # fmt: skip
    out = emobox_folds(rows, seed=0)
    assert out.k == {"crema_d": 1} and "counts differ" in out.rule["crema_d"]
    test = Counter(rows[i]["emotion"] for i, r in enumerate(out.roles) if r == "f1")
    assert test == {"angry": int(40 * 0.25), "sad": int(21 * 0.25)}
    assert set(out.roles) == {"f0", "f1"}
    few = emobox_folds(_rows("tess", {"OAF": {"sad": 4}, "YAF": {"sad": 4}}), seed=0)
    assert few.k == {"tess": 1} and "fewer than 4 speakers" in few.rule["tess"]
    no_speakers = [{**r, "speaker": None} for r in _rows("mesd", {"x": {"angry": 8}})]
    assert emobox_folds(no_speakers, seed=0).k == {"mesd": 1}


def test_corpora_with_folds_of_their_own():
    rows = _rows("iemocap", {f"Ses0{n}{g}": {"angry": 2} for n in (1, 2, 3) for g in "FM"},
                 session=lambda s: str(int(s[3:5])))  # fmt: skip
    out = emobox_folds(rows, seed=0)
    assert out.k == {"iemocap": 3} and out.rule["iemocap"] == "leave one session out"
    assert _test_speakers(rows, out.roles, 3) == [{"Ses01F", "Ses01M"}, {"Ses02F", "Ses02M"}, {"Ses03F", "Ses03M"}]
    splits = ["train", "validation", "test1", "test2"]
    msp = [
        {"corpus": "msp_podcast", "speaker": "1", "emotion": "sad", "extra": (("official_split", s),)} for s in splits
    ]
    assert emobox_folds(msp, seed=0).roles == ["t", "v", "f1", ""]
    emodb = emobox_folds(_rows("emodb", {"03": {"angry": 2}}), seed=0)
    assert emodb.k == {} and "lists/cv_k_fold1-5" in emodb.none["emodb"]


def test_split_of_a_role():
    assert emobox_split("emobox_fold2", "emovo", "train", "f2", single=True) == "test"
    assert emobox_split("emobox_fold1", "emovo", "train", "f2", single=True) == "train"
    assert emobox_split("emobox_fold1", "emovo", "validation", "f2", single=True) == "validation"  # carved
    assert emobox_split("emovo_emobox_fold1", "emovo", "train", "f1", single=False) == "test"
    assert emobox_split("emovo_emobox_fold1", "emodb", "train", "f1", single=False) is None
    assert emobox_split("emobox_fold1", "msp_podcast", "validation", "t", single=True) == "train"
    assert emobox_split("emobox_fold1", "msp_podcast", "train", "", single=True) is None


def _emovo(root: Path) -> Path:
    for a in ("f1", "f2", "f3", "m1", "m2", "m3"):
        for e in ("rab", "tri", "neu"):
            for k in (1, 2, 3):
                name = f"{a}/{e}-{a}-b{k}.wav"
                seed = zlib.crc32(name.encode())
                write_wav(root / name, seconds=0.5, freq=150 + seed % 200, seed=seed)
    return root


def test_build_with_emobox_folds_tests_each_speaker_once_and_without_the_flag_writes_no_role(tmp_path):
    from datasets import load_dataset

    build = load_script("dataset_scripts/build.py")
    emovo = _emovo(tmp_path / "emovo")
    out = tmp_path / "box"
    assert build.main(["--corpus", f"emovo={emovo}", "--emobox-folds", "--output", str(out), "--num-proc", "1"]) == 0
    tested = []
    for j in range(1, 7):
        ds = load_dataset(str(out), f"emobox_fold{j}")
        test = {r["speaker"] for r in ds["test"]}
        assert len(test) == 1 and not test & {r["speaker"] for s in ("train", "validation") for r in ds[s]}
        assert sum(len(s) for s in ds.values()) == 54
        tested += test
    assert sorted(tested) == sorted(f"emovo_{a}" for a in ("f1", "f2", "f3", "m1", "m2", "m3"))
    card = (out / "README.md").read_text()
    assert "EmoBox's rule for emovo: leave one speaker out" in card
    plain = tmp_path / "plain"
    assert build.main(["--corpus", f"emovo={emovo}", "--output", str(plain), "--num-proc", "1"]) == 0
    assert not any("-e_" in f.name for f in (plain / "data").iterdir())
    assert "config_name: emobox_fold" not in (plain / "README.md").read_text()


def test_a_mix_names_folds_per_corpus_and_says_why_emodb_has_none(tmp_path):
    from datasets import load_dataset

    emodb = tmp_path / "emodb"
    for s in ("03", "08", "09", "10", "16"):
        for e in "WTN":
            name = f"wav/{s}a01{e}a.wav"
            write_wav(emodb / name, seconds=0.5, freq=170, seed=zlib.crc32(name.encode()))
    build = load_script("dataset_scripts/build.py")
    out = tmp_path / "mix"
    argv = ["--corpus", f"emovo={_emovo(tmp_path / 'emovo')}", "--corpus", f"emodb={emodb}", "--emobox-folds",
            "--output", str(out), "--num-proc", "1"]  # fmt: skip
    assert build.main(argv) == 0
    ds = load_dataset(str(out), "emovo_emobox_fold3")
    assert {r["corpus"] for s in ds.values() for r in s} == {ds["test"].features["corpus"].str2int("emovo")}
    card = (out / "README.md").read_text()
    assert "emovo_emobox_fold6" in card and "emodb_emobox_fold" not in card.split("configs:")[1].split("---")[0]
    assert "lists/cv_k_fold1-5" in card


def test_cross_validation_expands_emobox_folds_in_order(monkeypatch):
    import hf_ser.evaluation.crossval as crossval

    names = ["random", "speaker", "emovo_emobox_fold10", "emovo_emobox_fold2", "emovo_emobox_fold1", "emovo",
             "tess_emobox_fold1", "emobox_fold1"]  # fmt: skip
    monkeypatch.setattr(crossval, "dataset_configs", lambda dataset, source_options=None: names)
    assert crossval.expand_protocols("emobox:emovo", "d") == ["emovo_emobox_fold1", "emovo_emobox_fold2",
                                                               "emovo_emobox_fold10"]  # fmt: skip
    assert crossval.expand_protocols("emobox", "d") == ["emobox_fold1"]
    assert crossval.expand_protocols("corpora", "d") == ["emovo"]
