"""Scanners of corpora beyond the paper's four: fixture trees in each corpus's documented file-name grammar with the
quirks real copies have, and a build that mixes them with one of the four through the label layer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import _seed_of, load_script, write_wav

from hf_ser.data.corpora import MORE_CORPORA, CorpusError

EMODB_SPEAKERS = {"03": "male", "08": "female", "09": "female", "10": "male", "16": "female"}


def _tree(root: Path, names: list[str], **kw) -> Path:
    for i, name in enumerate(names):
        write_wav(root / name, seconds=0.6, freq=150 + 17 * (i % 23), seed=_seed_of(name), **kw)
    return root


def _scan(name: str, root: Path):
    return MORE_CORPORA[name][1](root)


def _reasons(scan) -> dict[str, str]:
    return {s.file: s.reason for s in scan.skipped}


def test_emodb_letters_speakers_texts_and_a_converted_copy(tmp_path):
    names = [f"wav/{s}a01{e}a.wav" for s in EMODB_SPEAKERS for e in "WLEAFTN"]
    root = _tree(tmp_path / "emodb", names + ["wav/03a01Xa.wav", "wav/99a01Wa.wav", "wav/03a01wa.wav"])
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(root / "wav/08a01Fa.wav"),
                    str(root / "wav/08a01Fa.mp3")], check=True)  # fmt: skip
    (root / "wav" / "._03a01Wa.wav").write_bytes(b"\0" * 10)  # AppleDouble
    scan = _scan("emodb", root)
    assert len(scan.utterances) == 35
    u = next(u for u in scan.utterances if u.file == "wav/03a01Wa.wav")
    assert (u.emotion, u.raw_label, u.speaker, u.gender, u.language) == ("angry", "W", "emodb_03", "male", "de")
    assert u.text == "Der Lappen liegt auf dem Eisschrank."
    assert {u.emotion for u in scan.utterances} == {"angry", "boredom", "disgust", "fear", "happy", "sad", "neutral"}
    why = _reasons(scan)
    assert "unknown emotion letter X" in why["wav/03a01Xa.wav"]
    assert "speaker 99" in why["wav/99a01Wa.wav"]
    assert "not an EmoDB name" in why["wav/03a01wa.wav"]
    assert why["wav/08a01Fa.mp3"] == "lossy copy of wav/08a01Fa.wav"  # a converted copy beside the original
    assert next(u for u in scan.utterances if u.key == "08a01Fa").file == "wav/08a01Fa.wav"  # the lossless copy


def test_emovo_actor_folders_and_codes(tmp_path):
    names = [f"{a}/{e}-{a}-b1.wav" for a in ("f1", "f2", "m1", "m3") for e in ("dis", "gio", "neu", "pau", "rab")]
    root = _tree(tmp_path / "EMOVO", names + ["f1/gio-m2-b1.wav", "f1/xyz-f1-b1.wav", "f1/gio-f1-z9.wav"])
    scan = _scan("emovo", root)
    assert len(scan.utterances) == 20
    u = next(u for u in scan.utterances if u.file == "f2/gio-f2-b1.wav")
    assert (u.emotion, u.raw_label, u.speaker, u.gender, u.language) == ("happy", "gio", "emovo_f2", "female", "it")
    why = _reasons(scan)
    assert "named for actor m2" in why["f1/gio-m2-b1.wav"] and "unknown emotion code xyz" in why["f1/xyz-f1-b1.wav"]
    assert "unknown sentence code z9" in why["f1/gio-f1-z9.wav"]


def test_subesco_speakers_are_gender_and_number(tmp_path):
    names = [f"{g}_{n:02d}_{'AB'[n - 1] * 3}_S_{s}_{e}_1.wav" for g in "FM" for n in (1, 2) for s in (1, 6)
             for e in ("ANGRY", "SAD", "SURPRISE")]  # fmt: skip
    root = _tree(tmp_path / "SUBESCO", names + ["F_01_X_S_11_SAD_1.wav", "F_01_X_S_1_BORED_1.wav"])
    scan = _scan("subesco", root)
    assert len(scan.utterances) == 24 and len({u.speaker for u in scan.utterances}) == 4  # F_01 and M_01 differ
    u = next(u for u in scan.utterances if u.file == "M_02_BBB_S_6_SURPRISE_1.wav")
    assert (u.emotion, u.raw_label, u.speaker, u.gender) == ("surprise", "SURPRISE", "subesco_M02", "male")
    why = _reasons(scan)
    assert "sentence 11" in why["F_01_X_S_11_SAD_1.wav"] and "unknown emotion BORED" in why["F_01_X_S_1_BORED_1.wav"]


def test_shemo_and_jl_corpus(tmp_path):
    shemo = _tree(tmp_path / "shemo", [f"{g}{n:02d}{e}01.wav" for g in "FM" for n in (1, 36) for e in "AFHNSW"]
                  + ["female/F01Q01.wav"])  # fmt: skip
    scan = _scan("shemo", shemo)
    assert len(scan.utterances) == 24
    u = next(u for u in scan.utterances if u.file == "M36S01.wav")
    assert (u.emotion, u.raw_label, u.speaker, u.gender, u.language) == ("sad", "S", "shemo_M36", "male", "fa")
    assert next(u for u in scan.utterances if u.raw_label == "W").emotion == "surprise"
    assert "unknown emotion letter Q" in _reasons(scan)["female/F01Q01.wav"]
    jl = _tree(tmp_path / "jl", [f"{s}_{e}_{k}_1.wav" for s in ("male1", "male2", "female1", "female2")
                                 for e in ("angry", "excited", "concerned", "anxious") for k in ("1a", "6b")]
               + ["male1_bored_1a_1.wav", "male1_angry.wav"])  # fmt: skip
    scan = _scan("jl_corpus", jl)
    assert len(scan.utterances) == 32
    u = next(u for u in scan.utterances if u.file == "male2_concerned_6b_1.wav")
    assert (u.emotion, u.speaker, u.gender, u.language) == ("concerned", "jl_corpus_male2", "male", "en-NZ")
    why = _reasons(scan)
    assert "unknown emotion bored" in why["male1_bored_1a_1.wav"] and "not a JL-Corpus name" in why["male1_angry.wav"]


def test_cafe_folders_must_agree_with_names(tmp_path):
    names = [f"{folder}/{level}/{a:02d}-{c}-{i}-{s}.wav" for folder, c in (("Colère", "C"), ("Peur", "P"))
             for level, i in (("Faible", 1), ("Fort", 2)) for a in (1, 12) for s in (1, 5)]  # fmt: skip
    names += [f"Neutre/{a:02d}-N-{s}.wav" for a in (1, 12) for s in (1, 5)]
    root = _tree(
        tmp_path / "CaFE", names + ["Peur/Fort/03-C-2-1.wav", "Neutre/01-N-1-1.wav", "Joie/Fort/13-J-2-1.wav"]
    )
    scan = _scan("cafe", root)
    assert len(scan.utterances) == 20
    u = next(u for u in scan.utterances if u.file == "Peur/Fort/12-P-2-5.wav")
    assert (u.emotion, u.raw_label, u.speaker, u.intensity, u.gender) == ("fear", "P", "cafe_12", "strong", "unknown")
    why = _reasons(scan)
    assert "in folder Peur but named C" in why["Peur/Fort/03-C-2-1.wav"]
    assert "neutral clips have no intensity" in why["Neutre/01-N-1-1.wav"]
    assert "actor 13" in why["Joie/Fort/13-J-2-1.wav"]


def test_a_folder_with_none_of_a_corpus_names_is_one_clear_error(tmp_path):
    _tree(tmp_path / "wrong", ["03-01-05-01-01-01-01.wav"])
    with pytest.raises(CorpusError, match="EmoDB: no recognisable files .* none with a EmoDB file name"):
        _scan("emodb", tmp_path / "wrong")
    with pytest.raises(CorpusError, match="folder not found"):
        _scan("shemo", tmp_path / "absent")


def test_build_mixes_more_corpora_with_one_of_the_four_keeping_raw_labels_and_licences(small_corpora, tmp_path,
                                                                                      capsys):  # fmt: skip
    from datasets import load_dataset
    from huggingface_hub import DatasetCard

    emodb = _tree(tmp_path / "emodb", [f"wav/{s}a0{t}{e}a.wav" for s in EMODB_SPEAKERS for t in (1, 2)
                                       for e in "WLTN"])  # fmt: skip
    emovo = _tree(tmp_path / "emovo", [f"{a}/{e}-{a}-b{k}.wav" for a in ("f1", "f2", "f3", "m1", "m2")
                                       for e in ("rab", "tri", "neu") for k in (1, 2)])  # fmt: skip
    build = load_script("dataset_scripts/build.py")
    out = tmp_path / "mix"
    argv = ["--corpus", f"emodb={emodb}", "--corpus", f"emovo={emovo}", "--corpus", f"ravdess={small_corpora['ravdess']}",
            "--output", str(out), "--num-proc", "1"]  # fmt: skip
    assert build.main(argv) == 0
    ds = load_dataset(str(out), "speaker")
    names = ds["train"].features["label"].names
    assert {"angry", "sad", "neutral", "boredom"} <= set(names) and "W" not in names and "rab" not in names
    every = [r for split in ds.values() for r in split]
    corpus_names = ds["train"].features["corpus"].names
    by_corpus = {c: {(names[r["label"]], r["raw_label"]) for r in every if corpus_names[r["corpus"]] == c}
                 for c in ("emodb", "emovo")}  # fmt: skip
    assert by_corpus["emodb"] == {("angry", "W"), ("boredom", "L"), ("sad", "T"), ("neutral", "N")}
    assert by_corpus["emovo"] == {("angry", "rab"), ("sad", "tri"), ("neutral", "neu")}
    assert {r["language"] for r in every if corpus_names[r["corpus"]] == "emovo"} == {"it"}
    licences = (out / "LICENSE.md").read_text()
    assert "Burkhardt F" in licences and "Costantini G" in licences and "RAVDESS" in licences
    card = (out / "README.md").read_text()
    assert "EmoDB: read as wav/<speaker 2><text 3><emotion letter><version>.wav" in card
    assert DatasetCard.load(out / "README.md").data.license == "other"
    for split in ("train", "validation", "test"):  # no speaker in two splits
        others = {r["speaker"] for s in ds if s != split for r in ds[s]}
        assert not {r["speaker"] for r in ds[split]} & others
    capsys.readouterr()
    assert build.main(["--corpus", f"emodbx={emodb}", "--output", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "--corpus emodbx=...: not one of ravdess" in err and "emodb" in err and "cafe" in err


def test_build_help_lists_every_corpus_it_accepts(capsys):
    build = load_script("dataset_scripts/build.py")
    with pytest.raises(SystemExit):
        build.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in ("ravdess", "crema_d", "tess", "savee", *MORE_CORPORA):
        assert name in text
