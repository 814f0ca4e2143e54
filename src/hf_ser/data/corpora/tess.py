"""TESS: ``<speaker>_<word>_<emotion>.wav``, flat or in per speaker x emotion folders; the label comes from the name."""

from __future__ import annotations

import os
from pathlib import Path

from hf_ser.data.corpora.base import ScanResult, UnparseableName, Utterance, scan_tree
from hf_ser.labels import TESS_EMOTIONS

__all__ = ["parse_tess_name", "scan_tess"]

_SPEAKERS = {"oaf", "yaf"}


def parse_tess_name(path: Path, root: Path) -> Utterance:
    parts = path.stem.lower().split("_")
    if len(parts) < 3:
        raise UnparseableName("not a TESS name (<speaker>_<word>_<emotion>)")
    speaker = parts[0]
    if speaker not in _SPEAKERS:
        raise UnparseableName(f"unknown TESS speaker {parts[0]!r} (OAF or YAF)")
    # 'pleasant_surprise' spans two parts; try the two-part ending first.
    if len(parts) >= 4 and "_".join(parts[-2:]) in TESS_EMOTIONS:
        emotion_code, word_parts = "_".join(parts[-2:]), parts[1:-2]
    else:
        emotion_code, word_parts = parts[-1], parts[1:-1]
    if emotion_code not in TESS_EMOTIONS:
        raise UnparseableName(f"unknown TESS emotion {emotion_code!r}")
    if not word_parts:
        raise UnparseableName("no word between speaker and emotion")
    word = "_".join(word_parts)
    emotion = TESS_EMOTIONS[emotion_code]
    return Utterance(
        corpus="tess",
        emotion=emotion,
        speaker=f"tess_{speaker}",
        gender="female",
        text=f"Say the word {word.replace('_', ' ')}",
        intensity=None,
        path=str(path),
        file=path.relative_to(root).as_posix(),
        key=f"{speaker}_{word}_{emotion}",
    )


def scan_tess(root: str | os.PathLike) -> ScanResult:
    return scan_tree("tess", root, parse_tess_name, display_name="TESS")
