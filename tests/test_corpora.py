"""Scanners: file-name grammars, both layouts, messy copies, Table 2 counts, the skipped report."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_ser.data.corpora import CorpusError, scan_crema_d, scan_ravdess, scan_savee, scan_tess
from hf_ser.data.corpora.crema_d import SENTENCES
from hf_ser.data.dataset_card import PAPER_TABLE_2
from hf_ser.labels import EMOTIONS

# (scanner, relative path, expected fields or None if skipped, reason fragment)
NAME_CASES = [
    (scan_ravdess, "Actor_01/03-01-05-02-01-02-01.wav",
     dict(emotion="angry", speaker="ravdess_01", gender="male", intensity="strong", text="Kids are talking by the door"), None),
    (scan_ravdess, "Actor_12/03-01-02-01-02-01-12.wav",
     dict(emotion="calm", speaker="ravdess_12", gender="female", intensity="normal", text="Dogs are sitting by the door"), None),
    (scan_ravdess, "Actor_01/03-02-05-01-01-01-01.wav", None, "song"),
    (scan_ravdess, "Actor_01/02-01-05-01-01-01-01.wav", None, "video-only"),
    (scan_ravdess, "Actor_01/01-01-05-01-01-01-01.wav", None, "audio-video"),
    (scan_ravdess, "Actor_01/03-01-09-01-01-01-01.wav", None, "unknown emotion code 09"),
    (scan_ravdess, "Actor_01/03-01-01-02-01-01-01.wav", None, "neutral with strong"),
    (scan_ravdess, "Actor_01/03-01-01-01-01-01-25.wav", None, "actor 25"),
    (scan_ravdess, "Actor_01/03-01-01-01-01.wav", None, "not a RAVDESS name"),
    (scan_crema_d, "AudioWAV/1001_DFA_ANG_XX.wav",
     dict(emotion="angry", speaker="crema_d_1001", gender="male", intensity="unspecified", text="Don't forget a jacket"), None),
    (scan_crema_d, "AudioWAV/1091_IEO_hap_hi.wav",
     dict(emotion="happy", speaker="crema_d_1091", gender="female", intensity="high", text="It's eleven o'clock"), None),
    (scan_crema_d, "AudioWAV/1002_TIE_NEU_XX.WAV", dict(emotion="neutral", gender="female"), None),
    # the legacy spelling of the unspecified level (pre-2022 copies, Kaggle): one sad clip a build must not lose
    (scan_crema_d, "AudioWAV/1040_ITH_SAD_X.wav", dict(emotion="sad", speaker="crema_d_1040", intensity="unspecified"), None),
    (scan_crema_d, "AudioWAV/1001_DFA_SUR_XX.wav", None, "unknown emotion code SUR"),
    (scan_crema_d, "AudioWAV/1001_DFA_ANG_Y.wav", None, "unknown emotion level Y"),
    (scan_crema_d, "AudioWAV/1001_ABC_ANG_XX.wav", None, "unknown sentence code ABC"),
    (scan_crema_d, "AudioWAV/0999_DFA_ANG_XX.wav", None, "outside 1001-1091"),
    (scan_tess, "OAF_back_angry.wav", dict(emotion="angry", speaker="tess_oaf", gender="female", text="Say the word back"), None),
    (scan_tess, "YAF_pleasant_surprised/YAF_lose_ps.wav", dict(emotion="surprise", speaker="tess_yaf"), None),
    # the label comes from the name, never from a (wrong) folder
    (scan_tess, "OAF_Fear/OAF_bath_sad.wav", dict(emotion="sad"), None),
    (scan_tess, "OAF_Pleasant_surprise/oaf_bite_pleasant_surprise.wav", dict(emotion="surprise", text="Say the word bite"), None),
    (scan_tess, "OAF_back_bored.wav", None, "unknown TESS emotion 'bored'"),
    (scan_tess, "0AF_back_angry.wav", None, "unknown TESS speaker '0af'"),
    (scan_savee, "AudioData/DC/a01.wav", dict(emotion="angry", speaker="savee_dc", gender="male"), None),
    (scan_savee, "AudioData/KL/su15.wav", dict(emotion="surprise", speaker="savee_kl"), None),
    (scan_savee, "ALL/JK_sa03.wav", dict(emotion="sad", speaker="savee_jk"), None),
    (scan_savee, "ALL/je_n30.wav", dict(emotion="neutral", speaker="savee_je"), None),
    (scan_savee, "AudioData/DC/a16.wav", None, "outside 01-15"),
    (scan_savee, "AudioData/XX/a01.wav", None, "unknown SAVEE speaker 'XX'"),
    (scan_savee, "ALL/DC_x01.wav", None, "unknown SAVEE emotion code 'x'"),
]  # fmt: skip


def _touch(path: Path, size: int = 64) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF" + b"\0" * (size - 4))


@pytest.mark.parametrize(("scanner", "rel", "expected", "reason"), NAME_CASES, ids=[c[1] for c in NAME_CASES])
def test_file_name_grammar(tmp_path, scanner, rel, expected, reason):
    _touch(tmp_path / rel)
    _touch(tmp_path / "anchor" / {scan_ravdess: "03-01-01-01-01-01-02.wav", scan_crema_d: "1003_IEO_SAD_LO.wav",
                                  scan_tess: "YAF_dog_happy.wav", scan_savee: "ALL/KL_h02.wav"}[scanner])  # fmt: skip
    result = scanner(tmp_path)
    got = [u for u in result.utterances if u.file == rel]
    if expected is None:
        assert not got
        reasons = [s.reason for s in result.skipped if s.file == rel]
        assert len(reasons) == 1 and reason in reasons[0], reasons
    else:
        assert len(got) == 1, [s for s in result.skipped if s.file == rel]
        for key, value in expected.items():
            assert getattr(got[0], key) == value, key
        assert got[0].emotion in EMOTIONS and got[0].path == str(tmp_path / rel)


def _complete_trees(root: Path) -> dict[str, Path]:
    """Every file name of the complete corpora (12,162 files), in their most common layouts."""
    roots = {c: root / c for c in ("ravdess", "crema_d", "tess", "savee")}
    for actor in range(1, 25):
        for emo in range(1, 9):
            for inten in ("01",) if emo == 1 else ("01", "02"):
                for stmt in ("01", "02"):
                    for rep in ("01", "02"):
                        _touch(
                            roots["ravdess"]
                            / f"Actor_{actor:02d}"
                            / f"03-01-{emo:02d}-{inten}-{stmt}-{rep}-{actor:02d}.wav"
                        )
    sentences = sorted(SENTENCES)
    counts = {"ANG": 1271, "DIS": 1271, "FEA": 1271, "HAP": 1271, "SAD": 1271, "NEU": 1087}
    for emo, n in counts.items():
        k = 0
        for actor in range(1001, 1092):
            for s in sentences:
                levels = ("LO", "MD", "HI", "XX") if s == "IEO" and emo != "NEU" else ("XX",)
                for lvl in levels:
                    if k < n:
                        _touch(roots["crema_d"] / "AudioWAV" / f"{actor}_{s}_{emo}_{lvl}.wav")
                        k += 1
        assert k == n
    words = [f"w{i:03d}" for i in range(200)]
    for spk in ("OAF", "YAF"):
        for emo in ("angry", "disgust", "fear", "happy", "neutral", "ps", "sad"):
            for w in words:
                _touch(roots["tess"] / f"{spk}_{emo}" / f"{spk}_{w}_{emo}.wav")
    for spk in ("DC", "JE", "JK", "KL"):
        for code in ("a", "d", "f", "h", "n", "sa", "su"):
            for n in range(1, (30 if code == "n" else 15) + 1):
                _touch(roots["savee"] / "AudioData" / spk / f"{code}{n:02d}.wav")
    return roots


def test_complete_corpora_counts_are_table_2(tmp_path):
    roots = _complete_trees(tmp_path)
    scanners = {"ravdess": scan_ravdess, "crema_d": scan_crema_d, "tess": scan_tess, "savee": scan_savee}
    total = 0
    for corpus, scan in scanners.items():
        result = scan(roots[corpus])
        assert result.skipped == []
        assert result.counts() == PAPER_TABLE_2[corpus], corpus
        total += len(result.utterances)
    assert total == 12_162


def test_crema_d_both_spellings_of_one_clip_keep_one(tmp_path):
    _touch(tmp_path / "AudioWAV" / "1040_ITH_SAD_X.wav")
    _touch(tmp_path / "old_copy" / "1040_ITH_SAD_XX.wav")
    result = scan_crema_d(tmp_path)
    assert len(result.utterances) == 1 and result.utterances[0].intensity == "unspecified"
    assert [k.reason.startswith("duplicate of") for k in result.skipped] == [True]


def test_crema_d_genders_from_demographics_csv_else_builtin(tmp_path):
    _touch(tmp_path / "AudioWAV/1001_DFA_ANG_XX.wav")
    _touch(tmp_path / "AudioWAV/1002_DFA_ANG_XX.wav")
    assert {u.speaker: u.gender for u in scan_crema_d(tmp_path).utterances} == {
        "crema_d_1001": "male",
        "crema_d_1002": "female",
    }
    (tmp_path / "VideoDemographics.csv").write_text("ActorID,Age,Sex,Race,Ethnicity\n1001,51,Female,x,y\n")
    genders = {u.speaker: u.gender for u in scan_crema_d(tmp_path).utterances}
    assert genders == {"crema_d_1001": "female", "crema_d_1002": "female"}  # the CSV wins where it has the actor


def test_messy_copy_duplicates_non_audio_and_case(tmp_path):
    root = tmp_path / "RAVDESS"
    name = "03-01-03-01-01-01-05.wav"
    _touch(root / "Audio_Speech_Actors_01-24" / "Actor_05" / name)
    _touch(root / "audio_speech_actors_01-24" / "actor_05" / name.upper().replace(".WAV", ".WAV"))  # second copy
    _touch(root / "__MACOSX" / "Actor_05" / f"._{name}")
    _touch(root / "Actor_05" / f"._{name}")
    (root / "Actor_05" / "notes.txt").write_text("x")
    _touch(root / "Audio_Song_Actors_01-24" / "Actor_05" / "03-02-03-01-01-01-05.wav")
    result = scan_ravdess(root)
    assert [u.file for u in result.utterances] == ["Audio_Speech_Actors_01-24/Actor_05/03-01-03-01-01-01-05.wav"]
    reasons = {s.file: s.reason for s in result.skipped}
    assert reasons == {
        "audio_speech_actors_01-24/actor_05/03-01-03-01-01-01-05.WAV": "duplicate of "
        "Audio_Speech_Actors_01-24/Actor_05/03-01-03-01-01-01-05.wav",
        "Audio_Song_Actors_01-24/Actor_05/03-02-03-01-01-01-05.wav": "vocal channel 02 (song): only speech (01) is "
        "part of the eight-emotion corpus",
    }
    assert result.ignored_non_audio == 2  # notes.txt and the AppleDouble file; __MACOSX is not even walked


def test_lfs_pointers_empty_files(tmp_path):
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n"
    (tmp_path / "AudioWAV").mkdir()
    for n in ("1001_DFA_ANG_XX", "1002_DFA_ANG_XX"):
        (tmp_path / "AudioWAV" / f"{n}.wav").write_bytes(pointer)
    with pytest.raises(CorpusError, match="Git LFS pointer files, not audio.*git lfs pull"):
        scan_crema_d(tmp_path)
    _touch(tmp_path / "AudioWAV" / "1003_DFA_ANG_XX.wav")
    (tmp_path / "AudioWAV" / "1004_DFA_ANG_XX.wav").write_bytes(b"")
    result = scan_crema_d(tmp_path)
    assert [u.speaker for u in result.utterances] == ["crema_d_1003"]
    assert sorted(s.reason for s in result.skipped) == ["Git LFS pointer, not audio"] * 2 + ["empty file (0 bytes)"]


@pytest.mark.parametrize("scanner", [scan_ravdess, scan_crema_d, scan_tess, scan_savee])
def test_missing_or_unrecognisable_folder(tmp_path, scanner):
    with pytest.raises(CorpusError, match="folder not found"):
        scanner(tmp_path / "nope")
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(CorpusError, match="no recognisable files.*no audio files"):
        scanner(tmp_path)
    _touch(tmp_path / "random_name.wav")
    with pytest.raises(CorpusError, match=r"\(1 audio file, none with a"):
        scanner(tmp_path)
    _touch(tmp_path / "another_name.wav")
    with pytest.raises(CorpusError, match=r"\(2 audio files, none with a"):
        scanner(tmp_path)
