"""EmoDB (Berlin Database of Emotional Speech): ``wav/03a01Wa.wav`` = speaker 03, text a01, emotion W, version a."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from hf_ser.data.corpora.base import ScanResult, UnparseableName, Utterance
from hf_ser.data.corpora.catalogue import CorpusInfo

__all__ = ["EMODB", "SPEAKERS", "TEXTS", "parse_emodb_name", "scan_emodb"]

# The ten speakers, as the corpus's documentation lists them (sex, age).
SPEAKERS = {"03": "male", "08": "female", "09": "female", "10": "male", "11": "male", "12": "male",
             "13": "female", "14": "female", "15": "male", "16": "female"}  # fmt: skip
TEXTS = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}
EMODB = CorpusInfo(
    name="emodb",
    display="EmoDB",
    language="de",
    licence="other",
    licence_note="free for research from TU Berlin (emodb.bilderbar.info); a re-release on Zenodo "
    "(10.5281/zenodo.7447302) states its own licence, reported as CC0 1.0 but not confirmed here: read that record "
    "before any other use",
    homepage="http://emodb.bilderbar.info/",
    citation="Burkhardt F, Paeschke A, Rolfes M, Sendlmeier W, Weiss B (2005). A database of German emotional "
    "speech. Proc. Interspeech 2005, 1517-1520.",
    grammar="wav/<speaker 2><text 3><emotion letter><version>.wav, e.g. 03a01Wa.wav",
    labels={"W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"},
    speakers=10,
    notes=(
        "Letters are German: W Ärger (anger), L Langeweile (boredom), E Ekel (disgust), A Angst (fear), "
        "F Freude (happiness), T Trauer (sadness), N neutral.",
        "EmoBox's EmoDB folds are the five lists lists/cv_k_fold1-5 of the copy it downloads, which the TU Berlin "
        "release does not hold; to score on them, give EmoBox's fold folders with --dataset or --manifest.",
    ),  # fmt: skip
)
_NAME = re.compile(r"^(\d\d)([ab]\d\d)([A-Z])([a-z])$")


def parse_emodb_name(path: Path, root: Path) -> Utterance:
    m = _NAME.match(path.stem)
    if not m:
        raise UnparseableName("not an EmoDB name (<speaker 2><text 3><emotion><version>, e.g. 03a01Wa)")
    speaker, text, code, version = m.groups()
    if speaker not in SPEAKERS:
        raise UnparseableName(f"speaker {speaker} is not one of EmoDB's ten ({', '.join(SPEAKERS)})")
    if text not in TEXTS:
        raise UnparseableName(f"text code {text} is not one of EmoDB's ten")
    if code not in EMODB.labels:
        raise UnparseableName(f"unknown emotion letter {code} (one of {''.join(EMODB.labels)})")
    utt = EMODB.utterance(path, root, code, speaker, SPEAKERS[speaker], text=TEXTS[text])
    return replace(utt, key=path.stem)  # EmoDB's names are case-sensitive (W anger, w is no code)


def scan_emodb(root: str | os.PathLike) -> ScanResult:
    return EMODB.scan(root, parse_emodb_name)
