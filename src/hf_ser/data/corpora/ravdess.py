"""RAVDESS speech: ``Actor_NN/MM-VV-EE-II-SS-RR-AA.wav``; only audio-only speech (``03-01-*``) is taken."""

from __future__ import annotations

import os
import re
from pathlib import Path

from hf_ser.data.corpora.base import ScanResult, UnparseableName, Utterance, scan_tree
from hf_ser.labels import RAVDESS_EMOTIONS

__all__ = ["parse_ravdess_name", "scan_ravdess"]

_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
_INTENSITY = {"01": "normal", "02": "strong"}
_MODALITY = {"01": "audio-video", "02": "video-only", "03": "audio-only"}


def parse_ravdess_name(path: Path, root: Path) -> Utterance:
    m = _NAME.match(path.stem)
    if not m:
        raise UnparseableName("not a RAVDESS name (MM-VV-EE-II-SS-RR-AA)")
    modality, channel, emotion, intensity, statement, repetition, actor = m.groups()
    if modality != "03":
        raise UnparseableName(
            f"modality {modality} ({_MODALITY.get(modality, 'unknown')}): only audio-only (03) is used"
        )
    if channel == "02":
        raise UnparseableName("vocal channel 02 (song): only speech (01) is part of the eight-emotion corpus")
    if channel != "01":
        raise UnparseableName(f"unknown vocal channel {channel}")
    if emotion not in RAVDESS_EMOTIONS:
        raise UnparseableName(f"unknown emotion code {emotion}")
    if intensity not in _INTENSITY:
        raise UnparseableName(f"unknown intensity code {intensity}")
    if emotion == "01" and intensity == "02":
        raise UnparseableName("neutral with strong intensity does not exist in RAVDESS")
    if statement not in _STATEMENTS:
        raise UnparseableName(f"unknown statement code {statement}")
    if repetition not in ("01", "02"):
        raise UnparseableName(f"unknown repetition {repetition}")
    if not 1 <= int(actor) <= 24:
        raise UnparseableName(f"actor {actor} outside 01-24")
    return Utterance(
        corpus="ravdess",
        emotion=RAVDESS_EMOTIONS[emotion],
        speaker=f"ravdess_{actor}",
        gender="male" if int(actor) % 2 else "female",
        text=_STATEMENTS[statement],
        intensity=_INTENSITY[intensity],
        path=str(path),
        file=path.relative_to(root).as_posix(),
        key=path.stem,
    )


def scan_ravdess(root: str | os.PathLike) -> ScanResult:
    return scan_tree("ravdess", root, parse_ravdess_name, display_name="RAVDESS")
