"""CREMA-D: ``AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav``; sex per actor from VideoDemographics.csv."""

from __future__ import annotations

import csv
import logging
import os
import re
from functools import partial
from pathlib import Path

from hf_ser.data.corpora.base import ScanResult, UnparseableName, Utterance, scan_tree
from hf_ser.labels import CREMA_D_EMOTIONS

__all__ = ["CREMA_D_FEMALE_ACTORS", "parse_crema_d_name", "read_crema_d_demographics", "scan_crema_d"]

logger = logging.getLogger(__name__)

SENTENCES = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
# "X": the pre-2022 spelling of "XX" that Kaggle and other common copies still carry (1040_ITH_SAD_X.wav).
_LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified", "X": "unspecified"}
# From the corpus's VideoDemographics.csv (43 female, the other 48 of 1001-1091 male); used when the CSV is absent.
CREMA_D_FEMALE_ACTORS = frozenset(
    {
        1002, 1003, 1004, 1006, 1007, 1008, 1009, 1010, 1012, 1013, 1018, 1020, 1021, 1024, 1025, 1028, 1029,
        1030, 1037, 1043, 1046, 1047, 1049, 1052, 1053, 1054, 1055, 1056, 1058, 1060, 1061, 1063, 1072, 1073,
        1074, 1075, 1076, 1078, 1079, 1082, 1084, 1089, 1091,
    }
)  # fmt: skip
_NAME = re.compile(r"^(\d{4})_([A-Za-z]{3})_([A-Za-z]{3})_([A-Za-z]{1,2})$")


def read_crema_d_demographics(root: Path) -> dict[int, str] | None:
    """Actor id -> 'male'/'female' from the first VideoDemographics.csv under ``root``, if there is one."""
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if name.lower() == "videodemographics.csv":
                sexes: dict[int, str] = {}
                with open(Path(dirpath) / name, newline="", encoding="utf-8-sig") as fh:
                    for row in csv.DictReader(fh):
                        try:
                            sexes[int(row["ActorID"])] = row["Sex"].strip().lower()
                        except (KeyError, ValueError):
                            continue
                if sexes:
                    return sexes
    return None


def parse_crema_d_name(path: Path, root: Path, *, sexes: dict[int, str] | None = None) -> Utterance:
    m = _NAME.match(path.stem)
    if not m:
        raise UnparseableName("not a CREMA-D name (<actor>_<sentence>_<emotion>_<level>)")
    actor_s, sentence, emotion, level = m.groups()
    actor = int(actor_s)
    sentence, emotion, level = sentence.upper(), emotion.upper(), level.upper()
    if not 1001 <= actor <= 1091:
        raise UnparseableName(f"actor {actor} outside 1001-1091")
    if sentence not in SENTENCES:
        raise UnparseableName(f"unknown sentence code {sentence}")
    if emotion not in CREMA_D_EMOTIONS:
        raise UnparseableName(f"unknown emotion code {emotion}")
    if level not in _LEVELS:
        raise UnparseableName(f"unknown emotion level {level}")
    if sexes is not None and actor in sexes:
        gender = sexes[actor]
    else:
        gender = "female" if actor in CREMA_D_FEMALE_ACTORS else "male"
    return Utterance(
        corpus="crema_d",
        emotion=CREMA_D_EMOTIONS[emotion],
        speaker=f"crema_d_{actor}",
        gender=gender,
        text=SENTENCES[sentence],
        intensity=_LEVELS[level],
        path=str(path),
        file=path.relative_to(root).as_posix(),
        key=f"{actor}_{sentence}_{emotion}_{'XX' if level == 'X' else level}",  # both spellings: one clip
    )


def scan_crema_d(root: str | os.PathLike) -> ScanResult:
    root_path = Path(root).expanduser()
    sexes = read_crema_d_demographics(root_path) if root_path.is_dir() else None
    if sexes is None and root_path.is_dir():
        logger.info("CREMA-D: no VideoDemographics.csv under %s; using the built-in actor sex table", root_path)
    return scan_tree("crema_d", root, partial(parse_crema_d_name, sexes=sexes), display_name="CREMA-D")
