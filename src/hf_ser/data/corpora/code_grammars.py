"""Corpora whose file names are fields of codes (ASVP-ESD, Oréau, MESD): one parser each, the codes from each
corpus's documentation; what it leaves open is said in the notes, not guessed."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from hf_ser.data.corpora.base import ScanResult, UnparseableName, Utterance
from hf_ser.data.corpora.catalogue import CorpusInfo

__all__ = ["ASVP_ESD", "MESD", "OREAU", "scan_asvp_esd", "scan_mesd", "scan_oreau"]


# --------------------------------------------------------------------------------------------------- ASVP-ESD
ASVP_ESD = CorpusInfo(
    name="asvp_esd",
    display="ASVP-ESD",
    language="mul",
    licence="other",
    licence_note="the terms of its Zenodo record (cite it in any use, the authors ask); not restated here",
    homepage="https://zenodo.org/records/5573185",
    citation="Landry DTT, He Q, Xie W (2021). Audio, Speech and Vision Processing Lab Emotional Sound database "
    "(ASVP-ESD), version 2. Zenodo, record 5573185.",
    grammar="<modality>-<vocal channel>-<emotion>-<intensity>-<statement>-<actor>-<age>-<source>[-<language>...]"
    ".wav, e.g. 03-01-06-01-02-12-02-01-01-16.wav",
    labels={
        "01": "boredom",
        "02": "neutral",
        "03": "happy",
        "04": "sad",
        "05": "angry",
        "06": "fear",
        "07": "disgust",
        "08": "surprise",
        "09": "excited",
        "10": "pleasure",
        "11": "pain",
        "12": "disappointment",
        "13": "breath",
    },  # fmt: skip
    speakers=None,
    notes=(
        "Speech only by default: a clip whose vocal channel is 02 (non-speech: laughs, sighs, screams) is listed in "
        "skipped.csv.",
        "Clips were collected from films, TV and websites and grouped into numbered actor folders by gender (odd "
        "female, even male): the speaker is that folder, not a person, so speaker configs keep folders apart, "
        "not voices.",
        "The language codes are documented differently by different releases: the field is kept as the extra "
        "column language_code and the language is 'mul'.",
        "Emotion codes group related sounds (01 boredom/sigh, 03 happy/laugh, 05 angry/grunt, 12 disappointment); "
        "a code outside 01-13 is skipped.",
        "EmoBox splits ASVP-ESD at random with speaker overlap; hf-ser's speaker configs share no actor folder.",
    ),  # fmt: skip
)
_ASVP = re.compile(r"^03-(0[12])-(\d\d)-(0[12])-(\d\d)-(\d{2,3})-(\d\d)-(\d\d)((?:-\d\d+)*)$")
_ASVP_AGE = {"01": "over 65", "02": "20-64", "03": "under 20", "04": "baby"}


def parse_asvp_esd_name(path: Path, root: Path) -> Utterance:
    m = _ASVP.match(path.stem)
    if not m:
        raise UnparseableName("not an ASVP-ESD name (03-<vocal>-<emotion>-<intensity>-<statement>-<actor>-<age>-"
                              "<source>[-...], e.g. 03-01-06-01-02-12-02-01-01-16)")  # fmt: skip
    vocal, code, level, _statement, actor, age, source, rest = m.groups()
    if vocal == "02":
        raise UnparseableName("non-speech clip (vocal channel 02): ASVP-ESD is read as speech only")
    if code not in ASVP_ESD.labels:
        raise UnparseableName(f"unknown emotion code {code} (one of {', '.join(ASVP_ESD.labels)})")
    gender = "male" if int(actor) % 2 == 0 else "female"
    u = ASVP_ESD.utterance(path, root, code, actor, gender, intensity="high" if level == "02" else "normal")
    extra = (("age_group", _ASVP_AGE.get(age, age)), ("source", source),
             ("language_code", rest.split("-")[1] if rest else None))  # fmt: skip
    return replace(u, key=path.stem, extra=extra)


def scan_asvp_esd(root: str | os.PathLike) -> ScanResult:
    return ASVP_ESD.scan(root, parse_asvp_esd_name)


# ------------------------------------------------------------------------------------------------------ Oréau
OREAU = CorpusInfo(
    name="oreau",
    display="Oréau",
    language="fr",
    licence="other",
    licence_note="the terms of its Zenodo record (French Emotional Speech Database - Oréau); not restated here",
    homepage="https://zenodo.org/search?q=Or%C3%A9au%20French%20emotional%20speech",
    citation="Kerkeni L, Cleder C, Serrestou Y, Raoof K (2020). French Emotional Speech Database - Oréau. Zenodo.",
    grammar="<f|m>/sess<letter>/<speaker 2><text 3><emotion letter><version>.wav, e.g. m/sessj/33a03Ja.wav",
    labels={"C": "angry", "D": "disgust", "J": "happy", "N": "neutral", "P": "fear", "S": "surprise", "T": "sad"},
    speakers=None,
    notes=(
        "The number of speakers is not stated in the file tree; speaker ids are the first two digits.",
        "Letters are French (the EmoDB scheme in French): C colère, D dégoût, J joie, N neutre, P peur, "
        "S surprise, T tristesse.",
        "The gender is the f/m folder; a file in a sess<letter> folder must carry that letter.",
        "The file names carry the sentence code, not the transcript: text is empty.",
        "Some copies spell the top folder OréauFR_02 with a combining accent (macOS); folder names are not parsed "
        "beyond f/m and sess<letter>, so either spelling reads.",
    ),  # fmt: skip
)
_OREAU = re.compile(r"^(\d\d)([a-z]\d\d)([A-Z])([a-z]?)$")


def parse_oreau_name(path: Path, root: Path) -> Utterance:
    m = _OREAU.match(path.stem)
    if not m:
        raise UnparseableName("not an Oréau name (<speaker 2><text 3><emotion letter><version>, e.g. 33a03Ja)")
    speaker, _text, code, _version = m.groups()
    if code not in OREAU.labels:
        raise UnparseableName(f"unknown emotion letter {code} (one of {''.join(OREAU.labels)})")
    folders = [f.lower() for f in reversed(path.relative_to(root).parent.parts)]
    session = next((f for f in folders if re.fullmatch(r"sess[a-z]", f)), None)
    if session is not None and session[-1] != code.lower():
        raise UnparseableName(f"in folder {session} but named {code} ({OREAU.labels[code]})")
    gender = next(({"f": "female", "m": "male"}[f] for f in folders if f in ("f", "m")), None)
    if gender is None:
        raise UnparseableName("not under an Oréau f/ or m/ folder (the gender)")
    u = OREAU.utterance(path, root, code, speaker, gender)
    return replace(u, key=path.stem)  # case matters: the capital is the emotion, the small letter the version


def scan_oreau(root: str | os.PathLike) -> ScanResult:
    return OREAU.scan(root, parse_oreau_name)


# ------------------------------------------------------------------------------------------------------- MESD
MESD = CorpusInfo(
    name="mesd",
    display="MESD",
    language="es-MX",
    licence="other",
    licence_note="the terms of its Mendeley Data record (10.17632/cy34mh68j9.1); not restated here",
    homepage="https://data.mendeley.com/datasets/cy34mh68j9",
    citation="Duville MM, Alonso-Valerdi LM, Ibarra-Zarate DI (2021). Mexican Emotional Speech Database Based on "
    "Semantic, Frequency, Familiarity, Concreteness, and Cultural Shaping of Affective Prosody. Data 6(12), 130.",
    grammar="<Emotion>_<C|F|M>_<A|B>_<word>.wav, e.g. Anger_F_A_abajo.wav",
    labels={
        "Anger": "angry",
        "Disgust": "disgust",
        "Fear": "fear",
        "Happiness": "happy",
        "Neutral": "neutral",
        "Sadness": "sad",
    },  # fmt: skip
    speakers=None,
    notes=(
        "Eleven voices (3 women, 2 men, 6 children, as the record states); the names say the kind of voice (C child, "
        "F woman, M man), not who spoke: clips name no speaker, so a "
        "build with MESD has no speaker configs (EmoBox uses the voice kind as the speaker).",
        "Each clip is one Spanish word, the last part of the name: text is that word; word set A or B and the "
        "voice kind are extra columns.",
    ),  # fmt: skip
)
_MESD = re.compile(r"^([A-Za-z]+)_([CFM])_([AB])_(.+)$")


def parse_mesd_name(path: Path, root: Path) -> Utterance:
    m = _MESD.match(path.stem)
    if not m:
        raise UnparseableName("not a MESD name (<Emotion>_<C|F|M>_<A|B>_<word>, e.g. Anger_F_A_abajo)")
    code, voice, word_set, word = m.groups()
    code = code.capitalize()
    if code not in MESD.labels:
        raise UnparseableName(f"unknown emotion {m.group(1)} (one of {', '.join(MESD.labels)})")
    gender = {"F": "female", "M": "male"}.get(voice, "unknown")
    u = MESD.utterance(path, root, code, voice, gender, text=word.replace("_", " "))
    extra = (("voice", {"C": "child", "F": "woman", "M": "man"}[voice]), ("word_set", word_set))
    return replace(u, speaker=None, key=path.stem.lower(), extra=extra)


def scan_mesd(root: str | os.PathLike) -> ScanResult:
    return MESD.scan(root, parse_mesd_name)
