"""SAVEE: ``AudioData/<speaker>/<code><nn>.wav`` (original) or ``ALL/<speaker>_<code><nn>.wav`` (Kaggle)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from hf_ser.data.corpora.base import ScanResult, UnparseableName, Utterance, scan_tree
from hf_ser.labels import SAVEE_EMOTIONS

__all__ = ["parse_savee_name", "scan_savee"]

_SPEAKERS = {"DC", "JE", "JK", "KL"}
_PREFIXED = re.compile(r"^([A-Za-z]{2})_([A-Za-z]{1,2})(\d{2})$")
_BARE = re.compile(r"^([A-Za-z]{1,2})(\d{2})$")


def parse_savee_name(path: Path, root: Path) -> Utterance:
    stem = path.stem
    if m := _PREFIXED.match(stem):
        speaker, code, number = m.groups()
    elif m := _BARE.match(stem):
        code, number = m.groups()
        speaker = path.parent.name  # original layout: the folder is the speaker
    else:
        raise UnparseableName("not a SAVEE name (<code><nn> in a speaker folder, or <speaker>_<code><nn>)")
    speaker, code = speaker.upper(), code.lower()
    if speaker not in _SPEAKERS:
        raise UnparseableName(f"unknown SAVEE speaker {speaker!r} (DC, JE, JK or KL)")
    if code not in SAVEE_EMOTIONS:
        raise UnparseableName(f"unknown SAVEE emotion code {code!r}")
    n = int(number)
    limit = 30 if code == "n" else 15
    if not 1 <= n <= limit:
        raise UnparseableName(f"sentence number {number} outside 01-{limit:02d} for code {code!r}")
    return Utterance(
        corpus="savee",
        emotion=SAVEE_EMOTIONS[code],
        speaker=f"savee_{speaker.lower()}",
        gender="male",
        # The sentence list is per emotion and number in the corpus documentation, not in the file name.
        text=None,
        intensity=None,
        path=str(path),
        file=path.relative_to(root).as_posix(),
        key=f"{speaker}_{code}{n:02d}",
    )


def scan_savee(root: str | os.PathLike) -> ScanResult:
    return scan_tree("savee", root, parse_savee_name, display_name="SAVEE")
