"""File-name grammars of further acted corpora (EMOVO, SUBESCO, ShEMO, JL-Corpus, CaFE): one parser each, the
codes from each corpus's documentation; what it does not state is said in the notes, not guessed."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from hf_ser.data.corpora.base import ScanResult, UnparseableName, Utterance
from hf_ser.data.corpora.catalogue import CorpusInfo

__all__ = ["CAFE", "EMOVO", "JL_CORPUS", "SHEMO", "SUBESCO", "scan_cafe", "scan_emovo", "scan_jl_corpus",
           "scan_shemo", "scan_subesco"]  # fmt: skip

_GENDER = {"f": "female", "m": "male"}


# ------------------------------------------------------------------------------------------------------ EMOVO
EMOVO = CorpusInfo(
    name="emovo",
    display="EMOVO",
    language="it",
    licence="other",
    licence_note="distributed by the authors (Fondazione Ugo Bordoni) for research; no licence file ships with it",
    homepage="http://voice.fub.it/activities/corpora/emovo/index.html",
    citation="Costantini G, Iaderola I, Paoloni A, Todisco M (2014). EMOVO Corpus: an Italian Emotional Speech "
    "Database. Proc. LREC 2014, 3501-3504.",
    grammar="<actor>/<emotion>-<actor>-<sentence>.wav, e.g. f2/gio-f2-b2.wav",
    labels={
        "dis": "disgust",
        "gio": "happy",
        "neu": "neutral",
        "pau": "fear",
        "rab": "angry",
        "sor": "surprise",
        "tri": "sad",
    },  # fmt: skip
    speakers=6,
    notes=(
        "Codes are Italian: gio gioia (joy), pau paura (fear), rab rabbia (anger), sor sorpresa, tri tristezza.",
        "The file names carry the sentence code (b1-b3, l1-l4, n1-n5, d1-d2), not the transcript: text is empty.",
        "Six actors: EmoBox's rule for 4-6 speakers with equal per-emotion counts leaves one speaker out per fold.",
    ),  # fmt: skip
)
_EMOVO = re.compile(r"^([a-z]{3})-([fm][1-3])-([a-z]\d)$")
_EMOVO_SENTENCES = {"b1", "b2", "b3", "l1", "l2", "l3", "l4", "n1", "n2", "n3", "n4", "n5", "d1", "d2"}


def parse_emovo_name(path: Path, root: Path) -> Utterance:
    m = _EMOVO.match(path.stem.lower())
    if not m:
        raise UnparseableName("not an EMOVO name (<emotion>-<actor>-<sentence>, e.g. gio-f2-b2)")
    code, actor, sentence = m.groups()
    if code not in EMOVO.labels:
        raise UnparseableName(f"unknown emotion code {code} (one of {', '.join(EMOVO.labels)})")
    if sentence not in _EMOVO_SENTENCES:
        raise UnparseableName(f"unknown sentence code {sentence}")
    folder = path.parent.name.lower()
    if re.fullmatch(r"[fm][1-3]", folder) and folder != actor:
        raise UnparseableName(f"in actor folder {path.parent.name} but named for actor {actor}")
    return EMOVO.utterance(path, root, code, actor, _GENDER[actor[0]])


def scan_emovo(root: str | os.PathLike) -> ScanResult:
    return EMOVO.scan(root, parse_emovo_name)


# ---------------------------------------------------------------------------------------------------- SUBESCO
SUBESCO = CorpusInfo(
    name="subesco",
    display="SUBESCO",
    language="bn",
    licence="cc-by-4.0",
    licence_note="CC BY 4.0, as its Zenodo release (10.5281/zenodo.4526477) states",
    homepage="https://doi.org/10.5281/zenodo.4526477",
    citation="Sultana S, Rahman MS, Selim MR, Iqbal MZ (2021). SUST Bangla Emotional Speech Corpus (SUBESCO): An "
    "audio-only emotional speech corpus for Bangla. PLOS ONE 16(4): e0250173.",
    grammar="<F|M>_<speaker 2>_<NAME>_S_<sentence>_<EMOTION>_<take>.wav, e.g. F_10_FAHMEE_S_6_FEAR_5.wav",
    labels={
        "ANGRY": "angry",
        "DISGUST": "disgust",
        "FEAR": "fear",
        "HAPPY": "happy",
        "NEUTRAL": "neutral",
        "SAD": "sad",
        "SURPRISE": "surprise",
    },  # fmt: skip
    speakers=20,
    notes=(
        "Speakers are numbered within each gender (F_01 and M_01 are two people): the speaker is gender + number.",
        "Transcripts of the ten sentences are not in the file names: text is empty.",
    ),  # fmt: skip
)
_SUBESCO = re.compile(r"^([FM])_(\d\d)_([A-Z]+)_S_(\d{1,2})_([A-Z]+)_(\d)$")


def parse_subesco_name(path: Path, root: Path) -> Utterance:
    m = _SUBESCO.match(path.stem.upper())
    if not m:
        raise UnparseableName("not a SUBESCO name (<F|M>_<nn>_<NAME>_S_<sentence>_<EMOTION>_<take>)")
    gender, number, _name, sentence, code, take = m.groups()
    if code not in SUBESCO.labels:
        raise UnparseableName(f"unknown emotion {code} (one of {', '.join(SUBESCO.labels)})")
    if not 1 <= int(sentence) <= 10 or not 1 <= int(take) <= 5:
        raise UnparseableName(f"sentence {sentence} / take {take} outside 1-10 / 1-5")
    return SUBESCO.utterance(path, root, code, f"{gender}{number}", _GENDER[gender.lower()])


def scan_subesco(root: str | os.PathLike) -> ScanResult:
    return SUBESCO.scan(root, parse_subesco_name)


# ------------------------------------------------------------------------------------------------------ ShEMO
SHEMO = CorpusInfo(
    name="shemo",
    display="ShEMO",
    language="fa",
    licence="other",
    licence_note="the release does not state a licence in its file tree; see the authors' repository",
    homepage="https://github.com/mansourehk/ShEMO",
    citation="Mohamad Nezami O, Jamshid Lou P, Karami M (2019). ShEMO: a large-scale validated database for "
    "Persian speech emotion detection. Language Resources and Evaluation 53, 1-16.",
    grammar="<F|M><speaker 2><emotion letter><utterance 2>.wav, e.g. M36S02.wav",
    labels={"A": "angry", "F": "fear", "H": "happy", "N": "neutral", "S": "sad", "W": "surprise"},
    speakers=87,
    notes=(
        "W is surprise (wonder); the few fear clips make fear a very small class.",
        "Speaker numbers are taken to be unique within a gender (F01 and M01 are two people).",
    ),  # fmt: skip
)
_SHEMO = re.compile(r"^([FM])(\d\d)([A-Z])(\d\d)$")


def parse_shemo_name(path: Path, root: Path) -> Utterance:
    m = _SHEMO.match(path.stem.upper())
    if not m:
        raise UnparseableName("not a ShEMO name (<F|M><nn><emotion letter><nn>, e.g. M36S02)")
    gender, number, code, _utterance = m.groups()
    if code not in SHEMO.labels:
        raise UnparseableName(f"unknown emotion letter {code} (one of {''.join(SHEMO.labels)})")
    return SHEMO.utterance(path, root, code, f"{gender}{number}", _GENDER[gender.lower()])


def scan_shemo(root: str | os.PathLike) -> ScanResult:
    return SHEMO.scan(root, parse_shemo_name)


# -------------------------------------------------------------------------------------------------- JL-Corpus
JL_CORPUS = CorpusInfo(
    name="jl_corpus",
    display="JL-Corpus",
    language="en-NZ",
    licence="other",
    licence_note="the authors' release states no licence in its file tree; check the source you downloaded it from",
    homepage="https://www.kaggle.com/datasets/tli725/jl-corpus",
    citation="James J, Tian L, Watson CI (2018). An open source emotional speech corpus for human robot "
    "interaction applications. Proc. Interspeech 2018, 2768-2772.",
    grammar="<male|female><n>_<emotion>_<sentence><variant>_<take>.wav, e.g. male2_concerned_6b_1.wav",
    labels={
        "angry": "angry",
        "sad": "sad",
        "neutral": "neutral",
        "happy": "happy",
        "excited": "excited",
        "anxious": "anxious",
        "apologetic": "apologetic",
        "assertive": "assertive",
        "concerned": "concerned",
        "encouraging": "encouraging",
    },  # fmt: skip
    speakers=4,
    notes=(
        "Five primary emotions (angry, sad, neutral, happy, excited) and five secondary ones (anxious, "
        "apologetic, assertive, concerned, encouraging), kept under their own names.",
        "Four speakers: EmoBox's rule for 4-6 speakers with equal per-emotion counts leaves one speaker out per fold.",
    ),  # fmt: skip
)
_JL = re.compile(r"^(male|female)(\d)_([a-z]+)_(\d+[a-z]?)_(\d+)$")


def parse_jl_corpus_name(path: Path, root: Path) -> Utterance:
    m = _JL.match(path.stem.lower())
    if not m:
        raise UnparseableName("not a JL-Corpus name (<male|female><n>_<emotion>_<sentence>_<take>)")
    gender, number, code, _sentence, _take = m.groups()
    if code not in JL_CORPUS.labels:
        raise UnparseableName(f"unknown emotion {code} (one of {', '.join(JL_CORPUS.labels)})")
    return JL_CORPUS.utterance(path, root, code, f"{gender}{number}", gender)


def scan_jl_corpus(root: str | os.PathLike) -> ScanResult:
    return JL_CORPUS.scan(root, parse_jl_corpus_name)


# ------------------------------------------------------------------------------------------------------- CaFE
CAFE = CorpusInfo(
    name="cafe",
    display="CaFE",
    language="fr-CA",
    licence="cc-by-nc-sa-4.0",
    licence_note="CC BY-NC-SA 4.0, as its Zenodo release states (non-commercial)",
    homepage="https://doi.org/10.5281/zenodo.1478765",
    citation="Gournay P, Lahaie O, Lefebvre R (2018). A Canadian French Emotional Speech Dataset. Proc. 9th ACM "
    "Multimedia Systems Conference (MMSys '18), 399-402.",
    grammar="<Émotion>/<Intensité>/<actor 2>-<emotion letter>-<intensity>-<sentence>.wav, e.g. Peur/Fort/12-P-2-5.wav"
    " (neutral: Neutre/<actor>-N-<sentence>.wav)",
    labels={"C": "angry", "D": "disgust", "J": "happy", "N": "neutral", "P": "fear", "S": "surprise", "T": "sad"},
    speakers=12,
    notes=(
        "Letters are French: C colère, D dégoût, J joie, P peur, S surprise, T tristesse, N neutre; intensity "
        "1 faible (weak), 2 fort (strong).",
        "Which actor numbers are female is not stated in the file names: gender is 'unknown'.",
        "A file whose emotion folder disagrees with its name's letter is skipped, not relabelled.",
    ),  # fmt: skip
)
_CAFE = re.compile(r"^(\d\d)-([A-Z])(?:-([12]))?-(\d)$")
_CAFE_FOLDERS = {"colere": "C", "degout": "D", "joie": "J", "neutre": "N", "peur": "P", "surprise": "S",
                 "tristesse": "T"}  # fmt: skip
_CAFE_INTENSITY = {"1": "weak", "2": "strong"}


def _plain(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))


def parse_cafe_name(path: Path, root: Path) -> Utterance:
    m = _CAFE.match(path.stem.upper())
    if not m:
        raise UnparseableName("not a CaFE name (<actor>-<emotion>-<intensity>-<sentence>, e.g. 12-P-2-5)")
    actor, code, level, sentence = m.groups()
    if code not in CAFE.labels:
        raise UnparseableName(f"unknown emotion letter {code} (one of {''.join(CAFE.labels)})")
    if (level is None) != (code == "N"):
        raise UnparseableName("neutral clips have no intensity, the others must" if level else "intensity missing")
    if not 1 <= int(actor) <= 12 or not 1 <= int(sentence) <= 6:
        raise UnparseableName(f"actor {actor} / sentence {sentence} outside 01-12 / 1-6")
    for folder in path.relative_to(root).parent.parts:
        said = _CAFE_FOLDERS.get(_plain(folder))
        if said is not None and said != code:
            raise UnparseableName(f"in folder {folder} but named {code} ({CAFE.labels[code]})")
    return CAFE.utterance(path, root, code, actor, "unknown",
                intensity=_CAFE_INTENSITY.get(level) if level else None)  # fmt: skip


def scan_cafe(root: str | os.PathLike) -> ScanResult:
    return CAFE.scan(root, parse_cafe_name)
