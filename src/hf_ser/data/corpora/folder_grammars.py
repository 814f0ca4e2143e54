"""Corpora whose label lives in a folder name (MEAD, EmoV-DB, CASIA, TurEV-DB, AESDD, URDU): one parser each. Where
the file name repeats the label, the two must agree or the file is skipped, never relabelled."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from hf_ser.data.corpora.base import ScanResult, UnparseableName, Utterance
from hf_ser.data.corpora.catalogue import CorpusInfo

__all__ = ["AESDD", "CASIA", "EMOV_DB", "MEAD", "TUREV_DB", "URDU", "scan_aesdd", "scan_casia", "scan_emov_db",
           "scan_mead", "scan_turev_db", "scan_urdu"]  # fmt: skip


def _folders(path: Path, root: Path) -> list[str]:
    """The folders between the corpus root and the file, nearest first."""
    return list(reversed(path.relative_to(root).parent.parts))


def _check_folders(path: Path, root: Path, folders: dict[str, str], code: str, info: CorpusInfo) -> None:
    """An emotion folder (``folders``: lower-case name -> code) above the file must name the file's own code."""
    for folder in _folders(path, root):
        said = folders.get(folder.lower())
        if said is not None and said != code:
            raise UnparseableName(f"in folder {folder} but named {code} ({info.labels[code]})")


def _label_folder(path: Path, root: Path, info: CorpusInfo) -> str:
    """The corpus's label code from the nearest folder named for one (case-insensitive)."""
    codes = {code.lower(): code for code in info.labels}
    for folder in _folders(path, root):
        if folder.lower() in codes:
            return codes[folder.lower()]
    raise UnparseableName(f"not under a {info.display} emotion folder ({', '.join(info.labels)})")


# ------------------------------------------------------------------------------------------------------- MEAD
MEAD = CorpusInfo(
    name="mead",
    display="MEAD",
    language="en",
    licence="other",
    licence_note="the authors' terms for academic research (see the project page); no licence file in the audio",
    homepage="https://wywu.github.io/projects/MEAD/MEAD.html",
    citation="Wang K, Wu Q, Song L, Yang Z, Wu W, Qian C, He R, Qiao Y, Loy CC (2020). MEAD: A Large-scale "
    "Audio-visual Dataset for Emotional Talking-face Generation. Proc. ECCV 2020.",
    grammar="<M|W><nnn>/audio/<emotion>/level_<n>/<nnn>.m4a, e.g. M040/audio/angry/level_3/034.m4a",
    labels={
        "angry": "angry",
        "contempt": "contempt",
        "disgusted": "disgust",
        "fear": "fear",
        "happy": "happy",
        "neutral": "neutral",
        "sad": "sad",
        "surprised": "surprise",
    },  # fmt: skip
    speakers=60,
    notes=(
        "Speaker ids start with M (men) or W (women); the level folder (1-3) is the intensity.",
        "Clip numbers repeat in every emotion and level: a clip is speaker/emotion/level/number.",
        "The file names carry a sentence number, not the transcript: text is empty.",
        "EmoBox splits MEAD at random with speaker overlap; hf-ser's speaker configs share no speaker.",
    ),  # fmt: skip
)
_MEAD_SPEAKER = re.compile(r"^([MW])(\d{3})$")
_MEAD_LEVEL = re.compile(r"^level_([1-3])$")


def parse_mead_name(path: Path, root: Path) -> Utterance:
    if not re.fullmatch(r"\d{3}", path.stem):
        raise UnparseableName("not a MEAD clip name (<nnn>, e.g. 034.m4a)")
    folders = _folders(path, root)
    level = _MEAD_LEVEL.match(folders[0].lower()) if folders else None
    if level is None or len(folders) < 2:
        raise UnparseableName("not in a MEAD <emotion>/level_<n> folder")
    code = folders[1].lower()
    if code not in MEAD.labels:
        raise UnparseableName(f"unknown emotion folder {folders[1]} (one of {', '.join(MEAD.labels)})")
    speaker = next((m for m in map(_MEAD_SPEAKER.match, folders[2:]) if m), None)
    if speaker is None:
        raise UnparseableName("no MEAD speaker folder (M<nnn> or W<nnn>) above it")
    gender = "male" if speaker.group(1) == "M" else "female"
    u = MEAD.utterance(path, root, code, speaker.group(0), gender, intensity=f"level {level.group(1)}")
    return replace(u, key=f"{speaker.group(0)}/{code}/{level.group(1)}/{path.stem}")


def scan_mead(root: str | os.PathLike) -> ScanResult:
    return MEAD.scan(root, parse_mead_name)


# ---------------------------------------------------------------------------------------------------- EmoV-DB
EMOV_DB = CorpusInfo(
    name="emov_db",
    display="EmoV-DB",
    language="en",
    licence="other",
    licence_note="see the release's README (openslr SLR115 / the authors' repository); not restated here",
    homepage="https://www.openslr.org/115/",
    citation="Adigwe A, Tits N, El Haddad K, Ostadabbas S, Dutoit T (2018). The Emotional Voices Database: "
    "Towards Controlling the Emotion Dimension in Voice Generation Systems. arXiv:1806.09514.",
    grammar="<speaker>_<Emotion>/<emotion>_<a>-<b>_<nnnn>.wav, e.g. bea_Amused/amused_1-15_0001.wav",
    labels={
        "Amused": "amused",
        "Angry": "angry",
        "Disgusted": "disgust",
        "Neutral": "neutral",
        "Sleepy": "sleepy",
    },  # fmt: skip
    speakers=4,
    notes=(
        "Speakers bea and jenie are women, josh and sam men (the corpus's description); josh has no angry or "
        "disgusted folder.",
        "The last four digits number the CMU Arctic prompt read; the prompt text is not in the release: text is "
        "empty.",
        "Amused and sleepy are kept under their own names (no canonical class means the same).",
    ),  # fmt: skip
)
_EMOV_SPEAKERS = {"bea": "female", "jenie": "female", "josh": "male", "sam": "male"}
_EMOV_FOLDER = re.compile(r"^([a-z]+)_(amused|angry|disgusted|disgust|neutral|sleepy)$")
_EMOV_NAME = re.compile(r"^([a-z]+)_(\d+)-(\d+)_(\d{4})$")
# The word a file name starts with, per emotion folder (the release spells them differently).
_EMOV_WORDS = {"Amused": {"amused"}, "Angry": {"anger", "angry"}, "Disgusted": {"disgust", "disgusted"},
               "Neutral": {"neutral"}, "Sleepy": {"sleepiness", "sleepy"}}  # fmt: skip


def parse_emov_db_name(path: Path, root: Path) -> Utterance:
    m = _EMOV_NAME.match(path.stem.lower())
    if not m:
        raise UnparseableName("not an EmoV-DB name (<emotion>_<a>-<b>_<nnnn>, e.g. amused_1-15_0001)")
    folder = next((f for f in map(_EMOV_FOLDER.match, (x.lower() for x in _folders(path, root))) if f), None)
    if folder is None:
        raise UnparseableName("not in an EmoV-DB <speaker>_<Emotion> folder")
    speaker, emotion = folder.groups()
    if speaker not in _EMOV_SPEAKERS:
        raise UnparseableName(f"unknown speaker {speaker} (one of {', '.join(_EMOV_SPEAKERS)})")
    code = "Disgusted" if emotion.startswith("disgust") else emotion.capitalize()
    if m.group(1) not in _EMOV_WORDS[code]:
        raise UnparseableName(f"in folder {speaker}_{code} but named {m.group(1)}")
    u = EMOV_DB.utterance(path, root, code, speaker, _EMOV_SPEAKERS[speaker])
    return replace(u, key=f"{speaker}/{code}/{m.group(4)}")


def scan_emov_db(root: str | os.PathLike) -> ScanResult:
    return EMOV_DB.scan(root, parse_emov_db_name)


# ------------------------------------------------------------------------------------------------------ CASIA
CASIA = CorpusInfo(
    name="casia",
    display="CASIA",
    language="zh",
    licence="other",
    licence_note="sold by the Chinese LDC (CASIA Chinese emotional corpus); the circulating 1,200-clip copy "
    "states no licence",
    homepage="http://www.chineseldc.org/",
    citation="Tao J, Liu F, Zhang M, Jia H (2008). Design of speech corpus for Mandarin text to speech. Proc. "
    "Blizzard Challenge 2008 workshop.",
    grammar="<speaker>/<emotion>/<nnn>.wav, e.g. wangzhe/happy/201.wav",
    labels={
        "angry": "angry",
        "fear": "fear",
        "happy": "happy",
        "neutral": "neutral",
        "sad": "sad",
        "surprise": "surprise",
    },  # fmt: skip
    speakers=4,
    notes=(
        "The speaker is the folder above the emotion folder, as the copy spells it (one copy's liuchanhg is kept "
        "as it is).",
        "Which speakers are women is not stated in the layout: gender is 'unknown'.",
        "Clip numbers repeat in every speaker and emotion: a clip is speaker/emotion/number.",
    ),  # fmt: skip
)


def parse_casia_name(path: Path, root: Path) -> Utterance:
    if not re.fullmatch(r"\d{3}", path.stem):
        raise UnparseableName("not a CASIA clip name (<nnn>, e.g. 201.wav)")
    folders = _folders(path, root)
    if len(folders) < 2:
        raise UnparseableName("not in a CASIA <speaker>/<emotion> folder")
    code = folders[0].lower()
    if code not in CASIA.labels:
        raise UnparseableName(f"unknown emotion folder {folders[0]} (one of {', '.join(CASIA.labels)})")
    speaker = folders[1].lower()
    u = CASIA.utterance(path, root, code, speaker, "unknown")
    return replace(u, key=f"{speaker}/{code}/{path.stem}")


def scan_casia(root: str | os.PathLike) -> ScanResult:
    return CASIA.scan(root, parse_casia_name)


# --------------------------------------------------------------------------------------------------- TurEV-DB
TUREV_DB = CorpusInfo(
    name="turev_db",
    display="TurEV-DB",
    language="tr",
    licence="other",
    licence_note="the authors' repository; no licence is restated here",
    homepage="https://github.com/Xeonen/TurEV-DB",
    citation="Canpolat SF, Ormanoglu Z, Zeyrek D (2020). Turkish Emotion Voice Database (TurEV-DB). Proc. 1st "
    "Joint Workshop on SLTU and CCURL (LREC 2020).",
    grammar="Sound Source/<Emotion>/<speaker 4>_<style>_<word>.wav, e.g. Sound Source/Sad/1234_hl_goz.wav",
    labels={"Angry": "angry", "Calm": "calm", "Happy": "happy", "Sad": "sad"},
    speakers=6,  # six speaker ids in EmoBox's manifest of it
    notes=(
        "The emotion is the folder; the two-letter style code in the name (sk in Calm, hl in Sad) is kept as the "
        "extra column style, its meaning for the other folders is not documented in the release.",
        "Each clip is one Turkish word, the last part of the name: text is that word as spelled in ASCII.",
        "Which speakers are women is not stated in the names: gender is 'unknown'.",
    ),  # fmt: skip
)
_TUREV = re.compile(r"^(\d{4})_([a-z]{2})_([a-z]+)$")


def parse_turev_db_name(path: Path, root: Path) -> Utterance:
    m = _TUREV.match(path.stem.lower())
    if not m:
        raise UnparseableName("not a TurEV-DB name (<speaker 4>_<style>_<word>, e.g. 1234_hl_goz)")
    speaker, style, word = m.groups()
    code = _label_folder(path, root, TUREV_DB)
    u = TUREV_DB.utterance(path, root, code, speaker, "unknown", text=word)
    return replace(u, key=f"{code}/{path.stem.lower()}", extra=(("style", style),))


def scan_turev_db(root: str | os.PathLike) -> ScanResult:
    return TUREV_DB.scan(root, parse_turev_db_name)


# ------------------------------------------------------------------------------------------------------ AESDD
AESDD = CorpusInfo(
    name="aesdd",
    display="AESDD",
    language="el",
    licence="other",
    licence_note="free for research from the authors (Aristotle University of Thessaloniki); cite the paper",
    homepage="http://m3c.web.auth.gr/research/aesdd-speech-emotion-recognition/",
    citation="Vryzas N, Kotsakis R, Liatsou A, Dimoulas C, Kalliris G (2018). Speech Emotion Recognition for "
    "Performance Interaction. J. Audio Eng. Soc. 66(6), 457-467.",
    grammar="<emotion folder>/<letter><utterance 2> (<speaker>)[take].wav, e.g. anger/a01 (1).wav",
    labels={"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "s": "sad"},
    speakers=None,
    notes=(
        "Five actors in v1 (3 women, 2 men, the README says); the corpus grows and later actors follow the same "
        "names, so the number of speakers is what the copy holds.",
        "Letters: a anger, d disgust, f fear, h happiness, s sadness, as the emotion folders are named.",
        "A letter after the parenthesis marks a further take of the same utterance and speaker.",
        "Which speaker numbers are women is not stated in the names: gender is 'unknown'.",
    ),  # fmt: skip
)
_AESDD = re.compile(r"^([adfhs])(\d\d) ?\((\d+)\)([a-z])?$")
_AESDD_FOLDERS = {"anger": "a", "disgust": "d", "fear": "f", "happiness": "h", "sadness": "s"}


def parse_aesdd_name(path: Path, root: Path) -> Utterance:
    m = _AESDD.match(path.stem.lower())
    if not m:
        raise UnparseableName("not an AESDD name (<letter><nn> (<speaker>), e.g. a01 (1))")
    code, utterance, speaker, take = m.groups()
    _check_folders(path, root, _AESDD_FOLDERS, code, AESDD)
    u = AESDD.utterance(path, root, code, str(int(speaker)), "unknown")
    return replace(u, key=f"{code}{utterance}_{int(speaker)}{take or ''}")


def scan_aesdd(root: str | os.PathLike) -> ScanResult:
    return AESDD.scan(root, parse_aesdd_name)


# ------------------------------------------------------------------------------------------------------- URDU
URDU = CorpusInfo(
    name="urdu",
    display="URDU",
    language="ur",
    licence="other",
    licence_note="the authors' repository (siddiquelatif/URDU-Dataset); no licence is restated here",
    homepage="https://github.com/siddiquelatif/URDU-Dataset",
    citation="Latif S, Qayyum A, Usman M, Qadir J (2018). Cross Lingual Speech Emotion Recognition: Urdu vs. "
    "Western Languages. Proc. Frontiers of Information Technology (FIT) 2018.",
    grammar="<Emotion>/S<M|F><speaker>_F<file>_<letter><nnn>.wav, e.g. Angry/SM1_F10_A010.wav",
    labels={"A": "angry", "H": "happy", "N": "neutral", "S": "sad"},
    speakers=38,
    notes=(
        "Clips are cut from Urdu TV talk shows (spontaneous speech, not acted).",
        "The speaker id carries the gender (SM1 a man, SF1 a woman); the emotion letter must agree with the "
        "folder (Angry, Happy, Neutral, Sad).",
    ),  # fmt: skip
)
_URDU = re.compile(r"^S([MF])(\d+)_F(\d+)_([A-Z])(\d+)$")
_URDU_FOLDERS = {"angry": "A", "happy": "H", "neutral": "N", "sad": "S"}


def parse_urdu_name(path: Path, root: Path) -> Utterance:
    m = _URDU.match(path.stem.upper())
    if not m:
        raise UnparseableName("not a URDU name (S<M|F><n>_F<n>_<letter><nnn>, e.g. SM1_F10_A010)")
    gender, number, _file, code, _clip = m.groups()
    if code not in URDU.labels:
        raise UnparseableName(f"unknown emotion letter {code} (one of {''.join(URDU.labels)})")
    _check_folders(path, root, _URDU_FOLDERS, code, URDU)
    return URDU.utterance(path, root, code, f"S{gender}{number}", "male" if gender == "M" else "female")


def scan_urdu(root: str | os.PathLike) -> ScanResult:
    return URDU.scan(root, parse_urdu_name)
