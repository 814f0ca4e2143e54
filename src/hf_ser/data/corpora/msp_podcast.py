"""MSP-Podcast: ``Audios/MSP-PODCAST_0001_0008.wav`` labelled by ``Labels/labels_consensus.csv`` (or its JSON twin):
consensus category, arousal/valence/dominance, speaker id, gender and the official split of each clip."""

from __future__ import annotations

import csv
import json
import os
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

__all__ = ["MSP_PODCAST", "scan_msp_podcast"]

MSP_PODCAST = CorpusInfo(
    name="msp_podcast",
    display="MSP-Podcast",
    language="en",
    licence="other",
    licence_note="UT Dallas MSP lab's academic licence agreement; each user must request it",
    homepage="https://ecs.utdallas.edu/research/researchlabs/msp-lab/MSP-Podcast.html",
    citation="Lotfian R, Busso C (2019). Building Naturalistic Emotionally Balanced Speech Corpus by Retrieving "
    "Emotional Speech From Existing Podcast Recordings. IEEE Transactions on Affective Computing 10(4), 471-483.",
    grammar="Audios/MSP-PODCAST_<podcast>_<segment>.wav, labels from Labels/labels_consensus.csv (FileName, EmoClass, "
    "EmoAct, EmoVal, EmoDom, SpkrID, Gender, Split_Set) or labels_consensus.json",
    labels={
        "A": "angry",
        "C": "contempt",
        "D": "disgust",
        "F": "fear",
        "H": "happy",
        "N": "neutral",
        "O": "other",
        "S": "sad",
        "U": "surprise",
    },  # fmt: skip
    speakers=None,
    notes=(
        "Labels are the consensus category; X (no agreement among the annotators) is skipped with that reason.",
        "Clips whose SpkrID is Unknown are skipped (listed in skipped.csv): a clip of an unknown speaker could be "
        "in two splits of a speaker-disjoint protocol.",
        "The official split (train, validation for Development, test1, test2, test3) is the extra column "
        "official_split; EmoBox trains on Train, validates on Development and tests on Test1.",
        "The annotators' mean arousal (EmoAct), valence (EmoVal) and dominance (EmoDom), 1-7, are extra columns.",
        "The number of speakers depends on the release (1.x versions grow): it is what the copy's labels name.",
    ),  # fmt: skip
)
_LABEL_FILES = ("labels_consensus.csv", "labels_consensus.json", "labels_concensus.json")
_SPLITS = {"train": "train", "development": "validation", "validation": "validation", "test1": "test1",
           "test2": "test2", "test3": "test3"}  # fmt: skip
_GENDERS = {"female": "female", "male": "male"}


def _label_file(root: Path) -> Path:
    for name in _LABEL_FILES:
        for where in (root / "Labels", root / "labels", root / "label", root):
            if (where / name).is_file():
                return where / name
    raise CorpusError(f"MSP-Podcast: no Labels/labels_consensus.csv (or .json) in {root}")


def _read_labels(path: Path) -> dict[str, dict[str, str]]:
    """Clip stem -> the label file's fields, from the CSV or the JSON (``{"<file>.wav": {...}}``)."""
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8-sig"))
            rows = [{"FileName": name, **fields} for name, fields in data.items()]
        else:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                rows = list(csv.DictReader(fh))
    except (OSError, ValueError, AttributeError) as err:
        raise CorpusError(f"MSP-Podcast: cannot read {path}: {err}") from err
    if rows and "EmoClass" not in rows[0]:
        raise CorpusError(f"MSP-Podcast: {path} has no EmoClass field (columns: {', '.join(rows[0])})")
    return {Path(str(r["FileName"])).stem: {k: str(v) for k, v in r.items()} for r in rows}


def scan_msp_podcast(root: str | os.PathLike) -> ScanResult:
    root_path = corpus_folder(root, "MSP-Podcast")
    label_path = _label_file(root_path)
    labels = _read_labels(label_path)
    where = label_path.relative_to(root_path).as_posix()

    def parse(path: Path, _root: Path) -> Utterance:
        fields = labels.get(path.stem)
        if fields is None:
            raise UnparseableName(f"no line for it in {where}")
        code = fields.get("EmoClass", "").strip()
        if code == "X":
            raise UnparseableName(f"no agreement among the annotators (X in {where})")
        if code not in MSP_PODCAST.labels:
            raise UnparseableName(f"unknown EmoClass {code!r} in {where} (one of {', '.join(MSP_PODCAST.labels)}, X)")
        speaker = fields.get("SpkrID", "").strip()
        if not speaker or speaker.lower() == "unknown":
            raise UnparseableName(f"no speaker id (SpkrID {speaker or 'empty'} in {where})")
        gender = _GENDERS.get(fields.get("Gender", "").strip().lower(), "unknown")
        u = MSP_PODCAST.utterance(path, root_path, code, speaker, gender)
        split = _SPLITS.get(fields.get("Split_Set", "").strip().lower())
        extra = (("official_split", split), ("arousal", fields.get("EmoAct")), ("valence", fields.get("EmoVal")),
                 ("dominance", fields.get("EmoDom")))  # fmt: skip
        return replace(u, key=path.stem, extra=extra)

    audio = next(
        (root_path / d for d in ("Audios", "Audio", "audios", "audio") if (root_path / d).is_dir()), root_path
    )
    result = scan_tree("msp_podcast", audio, parse, display_name="MSP-Podcast", extensions=ANY_AUDIO)
    prefix = audio.relative_to(root_path).as_posix()
    if prefix != ".":
        result.skipped = [replace(s, file=f"{prefix}/{s.file}") for s in result.skipped]
    result.root = str(root_path)
    found = {Path(u.file).stem for u in result.utterances} | {Path(s.file).stem for s in result.skipped}
    result.skipped += [Skipped("msp_podcast", f"{name}.wav", f"labelled in {where} but no audio file")
                       for name in sorted(set(labels) - found)]  # fmt: skip
    return result
