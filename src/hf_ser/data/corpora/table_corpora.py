"""Corpora labelled by CSV tables beside the audio: Emozionalmente (``metadata/samples.csv`` + ``users.csv``) and MELD
(``{train,dev,test}_sent_emo.csv``, audio demuxed from the mp4 clips by FFmpeg when decoded). A clip with no line is
skipped, and so is a line with no clip, each with the reason."""

from __future__ import annotations

import contextlib
import csv
import os
import re
from dataclasses import replace
from pathlib import Path

from hf_ser.data.corpora.base import (
    ANY_AUDIO,
    CorpusError,
    ScanResult,
    Skipped,
    UnparseableName,
    Utterance,
    corpus_folder,
    scan_tree,
)
from hf_ser.data.corpora.catalogue import CorpusInfo

__all__ = ["EMOZIONALMENTE", "MELD", "scan_emozionalmente", "scan_meld"]


def _rows(path: Path) -> list[dict[str, str]]:
    # MELD's tables carry Windows-1252 quotes in UTF-8 files: undecodable bytes become U+FFFD, never a crash
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        return [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(fh)]


def _need(rows: list[dict[str, str]], path: Path, columns: tuple[str, ...], display: str) -> None:
    missing = [c for c in columns if rows and c not in rows[0]]
    if missing:
        raise CorpusError(f"{display}: {path} has no column {missing[0]} (columns: {', '.join(rows[0])})")


# ------------------------------------------------------------------------------------------------ Emozionalmente
EMOZIONALMENTE = CorpusInfo(
    name="emozionalmente",
    display="Emozionalmente",
    language="it",
    licence="other",
    licence_note="the terms of its Zenodo record; not restated here",
    homepage="https://zenodo.org/search?q=Emozionalmente",
    citation="Catania F, Wilke JW, Garzotto F (2025). Emozionalmente: A Crowdsourced Corpus of Simulated Emotional "
    "Speech in Italian. IEEE/ACM Transactions on Audio, Speech, and Language Processing.",
    grammar="audio/<file_name>.wav, labels from metadata/samples.csv (file_name, actor, sentence, emotion_expressed) "
    "and speakers from metadata/users.csv (username, gender, age)",
    labels={
        "anger": "angry",
        "disgust": "disgust",
        "fear": "fear",
        "joy": "happy",
        "neutrality": "neutral",
        "neutral": "neutral",
        "sadness": "sad",
        "surprise": "surprise",
    },
    speakers=None,
    notes=(
        "Crowdsourced: each actor recorded on their own device; the speaker is the actor's username, the gender and "
        "age come from users.csv (age is the extra column age).",
        "The label is what the actor meant to express (emotion_expressed), not the listeners' votes.",
    ),
)


def scan_emozionalmente(root: str | os.PathLike) -> ScanResult:
    root_path = corpus_folder(root, "Emozionalmente")
    samples, users = root_path / "metadata" / "samples.csv", root_path / "metadata" / "users.csv"
    if not samples.is_file():
        raise CorpusError(f"Emozionalmente: no metadata/samples.csv in {root_path}")
    rows = _rows(samples)
    _need(rows, samples, ("file_name", "actor", "emotion_expressed"), "Emozionalmente")
    labels = {Path(r["file_name"]).stem: r for r in rows}
    people = {r.get("username", ""): r for r in _rows(users)} if users.is_file() else {}

    def parse(path: Path, _root: Path) -> Utterance:
        row = labels.get(path.stem)
        if row is None:
            raise UnparseableName("no line for it in metadata/samples.csv")
        code = row["emotion_expressed"].lower()
        if code not in EMOZIONALMENTE.labels:
            raise UnparseableName(f"unknown emotion_expressed {row['emotion_expressed']!r} in metadata/samples.csv")
        person = people.get(row["actor"], {})
        gender = {"male": "male", "female": "female"}.get(person.get("gender", "").lower(), "unknown")
        u = EMOZIONALMENTE.utterance(path, root_path, code, row["actor"], gender, text=row.get("sentence") or None)
        return replace(u, key=path.stem, extra=(("age", person.get("age") or None),))

    result = scan_tree("emozionalmente", root_path, parse, display_name="Emozionalmente", extensions=ANY_AUDIO)
    found = {Path(u.file).stem for u in result.utterances} | {Path(s.file).stem for s in result.skipped}
    result.skipped += [Skipped("emozionalmente", f"audio/{n}.wav", "in metadata/samples.csv but no audio file")
                       for n in sorted(set(labels) - found)]  # fmt: skip
    return result


# ------------------------------------------------------------------------------------------------------- MELD
MELD = CorpusInfo(
    name="meld",
    display="MELD",
    language="en",
    licence="gpl-3.0",
    licence_note="GPL-3.0, as the MELD repository states; the clips are cut from the TV series Friends",
    homepage="https://affective-meld.github.io/",
    citation="Poria S, Hazarika D, Majumder N, Naik G, Cambria E, Mihalcea R (2019). MELD: A Multimodal Multi-Party "
    "Dataset for Emotion Recognition in Conversations. Proc. ACL 2019, 527-536.",
    grammar="train/train_splits/dia<d>_utt<u>.mp4, dev_splits_complete/..., output_repeated_splits_test/..., labels "
    "from {train,dev,test}_sent_emo.csv (Utterance, Speaker, Emotion, Sentiment, Dialogue_ID, Utterance_ID)",
    labels={
        "anger": "angry",
        "disgust": "disgust",
        "fear": "fear",
        "joy": "happy",
        "neutral": "neutral",
        "sadness": "sad",
        "surprise": "surprise",
    },
    speakers=None,
    notes=(
        "The audio is the sound track of each mp4 clip, demuxed by FFmpeg when the build decodes it.",
        "Speakers are the characters as the tables name them; the six main ones speak in every split, so the "
        "official split (the extra column official_split: train, validation for dev, test) shares speakers, while "
        "hf-ser's speaker configs do not.",
        "Dialogue and utterance ids restart in each split: a clip is split/dia<d>_utt<u>.",
        "Sentiment, dialogue, utterance, season and episode are extra columns.",
    ),
)
_MELD_TABLES = {"train": "train_sent_emo.csv", "validation": "dev_sent_emo.csv", "test": "test_sent_emo.csv"}
_MELD_FOLDERS = {"train_splits": "train", "dev_splits_complete": "validation", "output_repeated_splits_test": "test"}
_MELD_NAME = re.compile(r"^(?:final_videos_test)?dia(\d+)_utt(\d+)$")


def scan_meld(root: str | os.PathLike) -> ScanResult:
    root_path = corpus_folder(root, "MELD")
    lines: dict[str, dict[str, str]] = {}  # split/dia<d>_utt<u> -> its table row
    for split, name in _MELD_TABLES.items():
        tables = (
            sorted(root_path.glob(name)) + sorted(root_path.glob(f"*/{name}")) + sorted(root_path.glob(f"*/*/{name}"))
        )
        if not tables:
            continue
        rows = _rows(tables[0])
        _need(rows, tables[0], ("Speaker", "Emotion", "Dialogue_ID", "Utterance_ID"), "MELD")
        for r in rows:
            if r["Dialogue_ID"].isdigit() and r["Utterance_ID"].isdigit():  # a stray line (no ids) names no clip
                lines[f"{split}/dia{int(r['Dialogue_ID'])}_utt{int(r['Utterance_ID'])}"] = r
    if not lines:
        raise CorpusError(f"MELD: no train_sent_emo.csv, dev_sent_emo.csv or test_sent_emo.csv in {root_path}")

    def parse(path: Path, _root: Path) -> Utterance:
        key = _meld_key(path.relative_to(root_path).as_posix())
        split = key.split("/")[0]
        row = lines.get(key)
        if row is None:
            raise UnparseableName(f"no line for it in {_MELD_TABLES[split]}")
        code = row["Emotion"].lower()
        if code not in MELD.labels:
            raise UnparseableName(f"unknown Emotion {row['Emotion']!r} in {_MELD_TABLES[split]}")
        speaker = re.sub(r"\s+", "_", row["Speaker"]) or "unknown"
        u = MELD.utterance(path, root_path, code, speaker, "unknown", text=row.get("Utterance") or None)
        extra = (("official_split", split), ("sentiment", row.get("Sentiment") or None),
                 ("dialogue", row["Dialogue_ID"]), ("utterance", row["Utterance_ID"]),
                 ("season", row.get("Season") or None), ("episode", row.get("Episode") or None))  # fmt: skip
        return replace(u, key=key, extra=extra)

    result = scan_tree("meld", root_path, parse, display_name="MELD", extensions=(*ANY_AUDIO, ".mp4"))
    found = {u.key for u in result.utterances}
    for s in result.skipped:
        with contextlib.suppress(UnparseableName):  # a name that is no MELD clip stands for no table line
            found.add(_meld_key(s.file))
    result.skipped += [Skipped("meld", k, f"in {_MELD_TABLES[k.split('/')[0]]} but no clip")
                       for k in sorted(set(lines) - found)]  # fmt: skip
    return result


def _meld_key(file: str) -> str:
    """``split/dia<d>_utt<u>`` of a clip's path under the corpus root."""
    parts = file.split("/")
    m = _MELD_NAME.match(Path(parts[-1]).stem)
    if not m:
        raise UnparseableName("not a MELD clip name (dia<d>_utt<u>.mp4)")
    split = next((_MELD_FOLDERS[p] for p in parts[:-1] if p in _MELD_FOLDERS), None)
    if split is None:
        raise UnparseableName(f"not in a MELD split folder ({', '.join(_MELD_FOLDERS)})")
    return f"{split}/dia{int(m.group(1))}_utt{int(m.group(2))}"
