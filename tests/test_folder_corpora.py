"""Scanners of MEAD, EmoV-DB, CASIA, TurEV-DB, AESDD, URDU (label in a folder) and ASVP-ESD, Oréau, MESD (codes in
the name): fixture trees in each corpus's layout with the quirks of real copies (m4a audio, clip numbers repeated in
every folder, folders that disagree with the name, non-speech clips, voices that name no speaker)."""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

from conftest import load_script, write_wav

from hf_ser.data.corpora import MORE_CORPORA


def _tree(root: Path, names: list[str]) -> Path:
    for name in names:
        seed = zlib.crc32(name.encode())
        write_wav(root / name, seconds=0.6, freq=150 + seed % 200, seed=seed)
    return root


def _scan(name: str, root: Path):
    return MORE_CORPORA[name][1](root)


def _why(scan) -> dict[str, str]:
    return {s.file: s.reason for s in scan.skipped}


def _one(scan, file: str):
    return next(u for u in scan.utterances if u.file == file)


def test_mead_speaker_emotion_level_folders_and_m4a(tmp_path):
    names = [f"{spk}/audio/{emo}/level_{lv}/00{n}.wav" for spk in ("M003", "W009") for emo in ("angry", "contempt")
             for lv in (1, 3) for n in (1, 2)]  # fmt: skip
    root = _tree(tmp_path / "MEAD", [*names, "M003/audio/bored/level_1/001.wav", "M003/audio/angry/001.wav",
                                     "audio/angry/level_1/001.wav"])  # fmt: skip
    m4a = root / "W009/audio/surprised/level_2/034.m4a"
    m4a.parent.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(root / names[0]), "-c:a", "aac", str(m4a)],
                   check=True)  # fmt: skip
    scan = _scan("mead", root)
    assert len(scan.utterances) == 17  # the same clip number in every emotion and level is a different clip
    u = _one(scan, "W009/audio/surprised/level_2/034.m4a")
    assert (u.emotion, u.raw_label, u.speaker, u.gender, u.intensity) == ("surprise", "surprised", "mead_W009",
                                                                           "female", "level 2")  # fmt: skip
    assert _one(scan, "M003/audio/contempt/level_3/002.wav").emotion == "contempt"
    why = _why(scan)
    assert "unknown emotion folder bored" in why["M003/audio/bored/level_1/001.wav"]
    assert "level_<n> folder" in why["M003/audio/angry/001.wav"]
    assert "no MEAD speaker folder" in why["audio/angry/level_1/001.wav"]


def test_emov_db_speaker_emotion_folders_must_agree_with_names(tmp_path):
    names = [f"{spk}_{folder}/{word}_1-28_000{n}.wav" for spk in ("bea", "sam")
             for folder, word in (("Amused", "amused"), ("Angry", "anger"), ("Sleepy", "sleepiness"),
                                  ("Disgusted", "disgust")) for n in (1, 2)]  # fmt: skip
    root = _tree(tmp_path / "EmoV-DB", [*names, "josh_Amused/anger_1-28_0001.wav", "tom_Amused/amused_1-28_0001.wav",
                                        "amused_1-28_0001.wav"])  # fmt: skip
    scan = _scan("emov_db", root)
    assert len(scan.utterances) == 16
    u = _one(scan, "sam_Sleepy/sleepiness_1-28_0002.wav")
    assert (u.emotion, u.raw_label, u.speaker, u.gender, u.language) == ("sleepy", "Sleepy", "emov_db_sam", "male",
                                                                          "en")  # fmt: skip
    assert _one(scan, "bea_Disgusted/disgust_1-28_0001.wav").emotion == "disgust"
    why = _why(scan)
    assert "in folder josh_Amused but named anger" in why["josh_Amused/anger_1-28_0001.wav"]
    assert "unknown speaker tom" in why["tom_Amused/amused_1-28_0001.wav"]
    assert "not in an EmoV-DB" in why["amused_1-28_0001.wav"]


def test_casia_and_turev_db_labels_from_folders(tmp_path):
    casia = _tree(tmp_path / "CASIA", [f"{spk}/{emo}/2{n:02d}.wav" for spk in ("liuchanhg", "wangzhe")
                                       for emo in ("angry", "surprise") for n in (1, 2)]
                  + ["wangzhe/bored/201.wav", "201.wav"])  # fmt: skip
    scan = _scan("casia", casia)
    assert len(scan.utterances) == 8 and len({u.key for u in scan.utterances}) == 8
    u = _one(scan, "liuchanhg/surprise/202.wav")
    assert (u.emotion, u.speaker, u.gender, u.language) == ("surprise", "casia_liuchanhg", "unknown", "zh")
    assert "unknown emotion folder bored" in _why(scan)["wangzhe/bored/201.wav"]
    turev = _tree(tmp_path / "TurEV-DB", [f"Sound Source/{emo}/{spk}_{code}_{word}.wav" for spk in ("1234", "1984")
                                          for emo, code in (("Calm", "sk"), ("Sad", "hl")) for word in ("goz", "dil")]
                  + ["Sound Source/1234_sk_goz.wav", "Sound Source/Sad/12_hl_goz.wav"])  # fmt: skip
    scan = _scan("turev_db", turev)
    assert len(scan.utterances) == 8
    u = _one(scan, "Sound Source/Sad/1984_hl_dil.wav")
    assert (u.emotion, u.speaker, u.text, dict(u.extra)) == ("sad", "turev_db_1984", "dil", {"style": "hl"})
    why = _why(scan)
    assert "not under a TurEV-DB emotion folder" in why["Sound Source/1234_sk_goz.wav"]
    assert "not a TurEV-DB name" in why["Sound Source/Sad/12_hl_goz.wav"]


def test_aesdd_and_urdu_folders_must_agree_with_letters(tmp_path):
    aesdd = _tree(tmp_path / "AESDD", [f"{folder}/{c}0{n} ({spk}).wav" for folder, c in (("anger", "a"),
              ("sadness", "s")) for n in (1, 2) for spk in (1, 5)] + ["anger/a01 (1)b.wav", "anger/s03 (2).wav",
              "fear/x01 (1).wav"])  # fmt: skip
    scan = _scan("aesdd", aesdd)
    assert len(scan.utterances) == 9  # the second take a01 (1)b is its own clip
    u = _one(scan, "sadness/s02 (5).wav")
    assert (u.emotion, u.raw_label, u.speaker, u.language) == ("sad", "s", "aesdd_5", "el")
    why = _why(scan)
    assert "in folder anger but named s" in why["anger/s03 (2).wav"] and "not an AESDD name" in why["fear/x01 (1).wav"]
    urdu = _tree(
        tmp_path / "URDU",
        [
            f"{folder}/S{g}{n}_F1{n}_{folder[0]}0{n}0.wav"
            for folder in ("Angry", "Neutral")
            for g in "MF"
            for n in (1, 2)
        ]
        + ["Angry/SM1_F10_S010.wav", "Sad/SM1_F10_Q010.wav"],
    )
    scan = _scan("urdu", urdu)
    assert len(scan.utterances) == 8
    u = _one(scan, "Neutral/SF2_F12_N020.wav")
    assert (u.emotion, u.speaker, u.gender, u.language) == ("neutral", "urdu_SF2", "female", "ur")
    why = _why(scan)
    assert "in folder Angry but named S" in why["Angry/SM1_F10_S010.wav"]
    assert "unknown emotion letter Q" in why["Sad/SM1_F10_Q010.wav"]


def test_asvp_esd_speech_only_gender_by_actor_parity_and_codes_kept(tmp_path):
    names = [f"actor_{a}/03-01-{e}-0{i}-02-{a}-02-01-01-16.wav" for a in ("01", "02", "11", "12")
             for e in ("01", "05", "09") for i in (1, 2)]  # fmt: skip
    root = _tree(
        tmp_path / "ASVP-ESD",
        [
            *names,
            "actor_01/03-02-03-01-01-01-02-03-01-16.wav",
            "actor_01/03-01-17-01-01-01-02-03-01-16.wav",
            "actor_01/03-01-05.wav",
        ],
    )
    scan = _scan("asvp_esd", root)
    assert len(scan.utterances) == 24
    u = _one(scan, "actor_12/03-01-09-02-02-12-02-01-01-16.wav")
    assert (u.emotion, u.raw_label, u.speaker, u.gender, u.intensity) == ("excited", "09", "asvp_esd_12", "male",
                                                                           "high")  # fmt: skip
    assert dict(u.extra) == {"age_group": "20-64", "source": "01", "language_code": "01"}
    assert _one(scan, "actor_11/03-01-01-01-02-11-02-01-01-16.wav").gender == "female"
    why = _why(scan)
    assert "non-speech clip" in why["actor_01/03-02-03-01-01-01-02-03-01-16.wav"]
    assert "unknown emotion code 17" in why["actor_01/03-01-17-01-01-01-02-03-01-16.wav"]
    assert "not an ASVP-ESD name" in why["actor_01/03-01-05.wav"]


def test_oreau_gender_folders_session_letters_and_mesd_without_speakers(tmp_path):
    names = [f"Oréau/OréauFR_02/{g}/sess{e.lower()}/{spk}a0{t}{e}a.wav" for g, spk in (("f", "02"), ("m", "33"))
             for e in "JT" for t in (1, 2)]  # fmt: skip
    root = _tree(tmp_path / "oreau", [*names, "Oréau/OréauFR_02/m/sessj/33a03Ta.wav", "Oréau/33a03Ja.wav"])
    scan = _scan("oreau", root)
    assert len(scan.utterances) == 8
    u = _one(scan, "Oréau/OréauFR_02/f/sesst/02a02Ta.wav")
    assert (u.emotion, u.raw_label, u.speaker, u.gender, u.language) == ("sad", "T", "oreau_02", "female", "fr")
    why = _why(scan)
    assert "in folder sessj but named T" in why["Oréau/OréauFR_02/m/sessj/33a03Ta.wav"]
    assert "f/ or m/ folder" in why["Oréau/33a03Ja.wav"]
    mesd = _tree(
        tmp_path / "mesd",
        [
            f"Mexican Emotional Speech Database (MESD)/{e}_{v}_{c}_{w}.wav"
            for e in ("Anger", "Sadness")
            for v in "CFM"
            for c, w in (("A", "abajo"), ("B", "pan_dulce"))
        ]
        + ["Mexican Emotional Speech Database (MESD)/Joy_F_A_sol.wav"],
    )
    scan = _scan("mesd", mesd)
    assert len(scan.utterances) == 12 and {u.speaker for u in scan.utterances} == {None}
    u = _one(scan, "Mexican Emotional Speech Database (MESD)/Sadness_C_B_pan_dulce.wav")
    assert (u.emotion, u.gender, u.text, dict(u.extra)) == ("sad", "unknown", "pan dulce",
                                                            {"voice": "child", "word_set": "B"})  # fmt: skip
    assert "unknown emotion Joy" in _why(scan)["Mexican Emotional Speech Database (MESD)/Joy_F_A_sol.wav"]


def test_build_of_mead_and_asvp_esd_is_speaker_disjoint_and_mesd_alone_says_why_it_has_no_speaker_configs(tmp_path):
    from datasets import load_dataset

    mead = _tree(tmp_path / "mead", [f"{spk}/audio/{emo}/level_1/00{n}.wav" for spk in ("M003", "M005", "W009", "W011")
                                     for emo in ("angry", "sad", "neutral") for n in (1, 2, 3)])  # fmt: skip
    asvp = _tree(
        tmp_path / "asvp",
        [
            f"actor_{a}/03-01-{e}-01-0{n}-{a}-02-01-01-16.wav"
            for a in ("01", "02", "03", "04")
            for e in ("04", "05", "02")
            for n in (1, 2, 3)
        ],
    )
    build = load_script("dataset_scripts/build.py")
    out = tmp_path / "mix"
    assert build.main(["--corpus", f"mead={mead}", "--corpus", f"asvp_esd={asvp}", "--output", str(out),
                       "--num-proc", "1"]) == 0  # fmt: skip
    ds = load_dataset(str(out), "speaker")
    assert sum(len(s) for s in ds.values()) == 72
    for split in ds:
        others = {r["speaker"] for s in ds if s != split for r in ds[s]}
        assert not {r["speaker"] for r in ds[split]} & others
    card = (out / "README.md").read_text()
    assert "Landry DTT" in card and "Wang K" in (out / "LICENSE.md").read_text()
    mesd = _tree(tmp_path / "mesd", [f"{e}_{v}_A_w{n}.wav" for e in ("Anger", "Neutral") for v in "CFM"
                                     for n in range(4)])  # fmt: skip
    assert build.main(["--corpus", f"mesd={mesd}", "--output", str(tmp_path / "m"), "--num-proc", "1"]) == 0
    card = (tmp_path / "m" / "README.md").read_text()
    assert "name no speaker" in card and "config_name: speaker\n" not in card
