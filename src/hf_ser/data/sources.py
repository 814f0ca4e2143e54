"""A user's own corpus as records: any labelled audio a user has, read into the records the builder takes.

What ``--dataset`` (and ``dataset_scripts/build.py --manifest``) accepts besides a folder hf-ser built:

- a manifest file: CSV, TSV, JSONL (or a JSON list): a row per clip, the audio path relative to the manifest (or
  ``--audio_root``), a label, optionally speaker, gender, corpus, split, text, language; EmoBox's JSONL manifests
  (``key, wav, emo, ...``) as they are, their ``label_map.json`` applied and their ``wav`` paths found from the
  folder that holds ``downloads/``;
- a folder of manifests named by split (``train.csv``, ``validation.csv``, ``test.csv``; EmoBox's
  ``<corpus>_train_fold_1.jsonl``, ``..._test_fold_1.jsonl``): those files are the data's own splits;
- an ``audiofolder`` (a folder per label, optional ``metadata.csv``/``metadata.jsonl``), loaded through datasets'
  own ``audiofolder`` builder; the folder names are the labels unless the metadata has a label column;
- a ``save_to_disk`` folder, a folder of Parquet files, or a Hub dataset id, through ``datasets``.

Columns are found by name (``--audio_column``, ``--label_column``, ``--speaker_column``, else the usual names); a
missing one is a :class:`SourceError` that lists the columns there are. Rows that cannot be used (no label, a file
that is not there) are reported as skipped with the reason, never dropped silently.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hf_ser.data.corpora.base import AUDIO_EXTENSIONS, ScanResult, Skipped, Utterance

__all__ = [
    "AUDIO_COLUMNS",
    "LABEL_COLUMNS",
    "SPEAKER_COLUMNS",
    "SourceError",
    "SourceOptions",
    "SourceScan",
    "corpus_name_for",
    "read_source",
    "source_kind",
]

logger = logging.getLogger(__name__)

AUDIO_COLUMNS = ("audio", "path", "file", "file_name", "filename", "wav", "audio_path", "filepath", "audio_file")
LABEL_COLUMNS = ("label", "emotion", "emo", "labels", "class", "category")
SPEAKER_COLUMNS = ("speaker", "speaker_id", "spk", "spk_id", "actor", "actor_id", "client_id")
_OPTIONAL_COLUMNS = {
    "gender": ("gender", "sex"),
    "corpus": ("corpus", "dataset"),
    "split": ("split", "set", "partition"),
    "text": ("text", "transcript", "transcription", "sentence"),
    "language": ("language", "lang", "locale"),
    "intensity": ("intensity", "level"),
}
# EmoBox's per-clip facts about the original file (hf-ser re-measures them after resampling), not metadata.
_EMOBOX_TECHNICAL = {"type", "sample_rate", "num_frame", "task", "length", "channel", "dim"}
SPLIT_NAMES = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
               "val": "validation", "dev": "validation", "test": "test", "testing": "test"}  # fmt: skip
_GENDERS = {"m": "male", "male": "male", "man": "male", "f": "female", "female": "female", "woman": "female"}
_MANIFEST_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")
_SPLIT_IN_NAME = re.compile(r"(?:^|[_\-.])(train|training|valid|validation|val|dev|test|testing)(?:[_\-.]|$)")
_AUDIO_SUFFIXES = (*AUDIO_EXTENSIONS, ".mp3", ".m4a", ".ogg", ".opus")


class SourceError(ValueError):
    """Data that cannot be read as a corpus; the message names the file, the column or the flag."""


@dataclass(frozen=True)
class SourceOptions:
    """Which columns of a user's data are the audio, the label and the speaker (None: found by the usual names),
    and the folder relative audio paths start from (None: the manifest's folder, or EmoBox's ``downloads/`` root)."""

    audio_column: str | None = None
    label_column: str | None = None
    speaker_column: str | None = None
    audio_root: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class SourceScan(ScanResult):
    """A :class:`ScanResult` of a user's data, with what was read and how."""

    kind: str = ""
    label_names: list[str] | None = None  # the data's own label order (a ClassLabel, EmoBox's label map)
    columns: dict[str, str | None] = field(default_factory=dict)  # role -> the column that filled it
    notes: list[str] = field(default_factory=list)  # how the data was read, for the card and the terminal


def corpus_name_for(location: str) -> str:
    """A corpus name from a path or Hub id: lower-case letters, digits and ``_`` (``EmoDB-manifest.csv`` -> ``emodb_manifest``)."""
    stem = Path(location.rstrip("/")).name
    for suffix in _MANIFEST_SUFFIXES:
        stem = stem.removesuffix(suffix)
    name = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
    return name or "corpus"


def source_kind(location: str) -> str:
    """``manifest``, ``manifest_splits``, ``audiofolder``, ``save_to_disk``, ``parquet`` or ``hub``."""
    path = Path(location).expanduser()
    if path.is_file():
        if path.suffix.lower() in _MANIFEST_SUFFIXES:
            return "manifest"
        raise SourceError(f"--dataset {location}: a {path.suffix or 'suffix-less'} file; a manifest is a .csv, .tsv, "
                          ".jsonl or .json file")  # fmt: skip
    if not path.exists():
        return "hub"
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        return "save_to_disk"
    if _split_manifests(path):
        return "manifest_splits"
    files = [
        p for p in path.rglob("*") if p.is_file() and not any(q.startswith(".") for q in p.relative_to(path).parts)
    ]
    if any(p.suffix.lower() in _AUDIO_SUFFIXES for p in files):
        return "audiofolder"
    if any(p.suffix.lower() == ".parquet" for p in files):
        return "parquet"
    some = ", ".join(sorted(p.relative_to(path).as_posix() for p in files)[:5]) or "nothing"
    raise SourceError(
        f"--dataset {location}: not a dataset hf-ser can read: no audio files (an audiofolder), no Parquet files, no "
        f"save_to_disk files and no train/test manifests in it (it holds {some}). Pass a manifest file, or build "
        "the folder with dataset_scripts/build.py"
    )


def _split_manifests(folder: Path) -> dict[str, Path]:
    """split -> manifest file, for a folder of manifests named by split (one per split, nothing ambiguous)."""
    found: dict[str, list[Path]] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in _MANIFEST_SUFFIXES and not p.name.startswith("."):
            m = _SPLIT_IN_NAME.search(p.stem.lower())
            if m:
                found.setdefault(SPLIT_NAMES[m.group(1)], []).append(p)
    if "train" not in found or "test" not in found or any(len(v) > 1 for v in found.values()):
        return {}
    return {s: v[0] for s, v in found.items()}


# ----------------------------------------------------------------------------------------------------------------
# Columns
# ----------------------------------------------------------------------------------------------------------------
def _find_column(columns: Sequence[str], chosen: str | None, defaults: Sequence[str], *, flag: str, what: str,
                 where: str, required: bool) -> str | None:  # fmt: skip
    if chosen:
        if chosen not in columns:
            raise SourceError(f"{where}: no column {chosen!r} ({flag}); it has: {', '.join(columns)}")
        return chosen
    lower = {c.lower(): c for c in columns}
    for d in defaults:
        if d in lower:
            return lower[d]
    if required:
        raise SourceError(f"{where}: no {what} column (looked for {', '.join(defaults)}); it has: "
                          f"{', '.join(columns)}. Name it with {flag} COLUMN")  # fmt: skip
    return None


def _columns(columns: Sequence[str], opts: SourceOptions, where: str, *, need_label: bool = True) -> dict:
    roles = {
        "audio": _find_column(columns, opts.audio_column, AUDIO_COLUMNS, flag="--audio_column", what="audio",
                              where=where, required=True),
        "label": _find_column(columns, opts.label_column, LABEL_COLUMNS, flag="--label_column", what="label",
                              where=where, required=need_label),
        "speaker": _find_column(columns, opts.speaker_column, SPEAKER_COLUMNS, flag="--speaker_column",
                                what="speaker", where=where, required=False),
    }  # fmt: skip
    for role, names in _OPTIONAL_COLUMNS.items():
        roles[role] = _find_column(columns, None, names, flag="", what=role, where=where, required=False)
    return roles


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from a Parquet or pandas-written file
        return None
    s = str(value).strip()
    return s or None


def _gender(value) -> str:
    s = (_text(value) or "").lower()
    return _GENDERS.get(s, s or "unknown")


def _given_split(value, where: str) -> str | None:
    s = _text(value)
    if s is None:
        return None
    split = SPLIT_NAMES.get(s.lower())
    if split is None:
        raise SourceError(f"{where}: split {s!r} is none of {', '.join(sorted(SPLIT_NAMES))}")
    return split


# ----------------------------------------------------------------------------------------------------------------
# Manifests
# ----------------------------------------------------------------------------------------------------------------
def _read_rows(path: Path) -> list[dict]:
    where = f"--dataset {path}"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise SourceError(f"{where}: cannot read the manifest ({err})") from err
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        delimiter = "\t" if suffix == ".tsv" else ","
        try:
            rows = list(csv.DictReader(text.splitlines(), delimiter=delimiter))
        except csv.Error as err:
            raise SourceError(f"{where}: not a valid {suffix[1:].upper()} file ({err})") from err
        if rows and None in rows[0]:
            raise SourceError(f"{where}: row 2 has more fields than the header; is it a "
                              f"{'TSV' if delimiter == ',' else 'CSV'} file?")  # fmt: skip
        return rows
    if suffix == ".jsonl":
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise SourceError(f"{where}: line {n} is not JSON ({err.msg})") from err
        return rows
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SourceError(f"{where}: not valid JSON ({err.msg})") from err
    if isinstance(data, Mapping):  # EmoBox's .json: key -> record
        return [{"key": k, **v} if isinstance(v, Mapping) else {"key": k, "value": v} for k, v in data.items()]
    if isinstance(data, list):
        return data
    raise SourceError(f"{where}: a JSON manifest is a list of rows (or a mapping of key -> row)")


def _is_emobox(rows: list[dict]) -> bool:
    return bool(rows) and {"key", "wav", "emo"} <= set(rows[0])


def _emobox_label_map(manifest: Path) -> tuple[dict[str, str] | None, Path | None]:
    for folder in (manifest.parent, manifest.parent.parent):
        p = folder / "label_map.json"
        if p.is_file():
            try:
                return {str(k): str(v) for k, v in json.loads(p.read_text()).items()}, p
            except (ValueError, AttributeError, OSError) as err:
                raise SourceError(f"{p}: not a JSON mapping of label codes to names ({err})") from err
    return None, None


def _audio_root(manifest: Path, first: str, opts: SourceOptions) -> Path:
    """Where relative paths start: --audio_root, else the manifest's folder, else the nearest folder up from it where
    the first row's file exists (EmoBox's paths start at the folder holding ``downloads/``)."""
    if opts.audio_root:
        root = Path(opts.audio_root).expanduser()
        if not root.is_dir():
            raise SourceError(f"--audio_root {opts.audio_root}: no such folder")
        return root.resolve()
    base = manifest.parent.resolve()
    for folder in (base, *base.parents):
        if (folder / first).exists():
            return folder
    return base


def _manifest_scan(path: Path, opts: SourceOptions, corpus: str, given: str | None = None,
                   scan: SourceScan | None = None) -> SourceScan:  # fmt: skip
    rows = _read_rows(path)
    where = f"--dataset {path}"
    if not rows:
        raise SourceError(f"{where}: the manifest has no rows")
    emobox = _is_emobox(rows)
    cols = _columns(list(rows[0]), opts if not emobox else SourceOptions(
        audio_column=opts.audio_column or "wav", label_column=opts.label_column or "emo",
        speaker_column=opts.speaker_column, audio_root=opts.audio_root), where)  # fmt: skip
    if emobox and not opts.speaker_column:
        cols["speaker"] = next((c for c in ("speaker", "spk", "speaker_id") if c in rows[0]), None)
    scan = scan or SourceScan(corpus=corpus, root=str(path.parent.resolve()), kind="emobox" if emobox else "manifest")
    scan.columns = cols
    label_map, map_file = _emobox_label_map(path) if emobox else (None, None)
    if label_map and map_file and not any(n.startswith("label map") for n in scan.notes):
        scan.notes.append(f"label map {map_file} applied ({', '.join(f'{k} -> {v}' for k, v in label_map.items())})")
        scan.label_names = list(dict.fromkeys(label_map.values()))
    first = next((_text(r.get(cols["audio"])) for r in rows if _text(r.get(cols["audio"]))), None)
    if first is None:
        raise SourceError(f"{where}: the audio column {cols['audio']!r} is empty in every row")
    root = _audio_root(path, first, opts)
    if root != path.parent.resolve():
        note = f"relative audio paths of {path.name} start at {root}"
        scan.notes.append(note)
        logger.info("%s", note)
    skip_extra = {c for c in cols.values() if c} | ({"key"} | _EMOBOX_TECHNICAL if emobox else set())
    for n, row in enumerate(rows, 2 if path.suffix.lower() in (".csv", ".tsv") else 1):
        audio = _text(row.get(cols["audio"]))
        label = _text(row.get(cols["label"]))
        ref = audio or f"row {n}"
        if audio is None:
            scan.skipped.append(Skipped(corpus, ref, f"{path.name} row {n}: no audio path"))
            continue
        if label is None:
            scan.skipped.append(Skipped(corpus, audio, f"{path.name} row {n}: no label"))
            continue
        file = Path(audio).expanduser()
        full = file if file.is_absolute() else root / file
        if not full.is_file():
            scan.skipped.append(Skipped(corpus, audio, f"file not found ({full})"))
            continue
        raw = label
        if label_map is not None:
            if label not in label_map:
                scan.skipped.append(Skipped(corpus, audio, f"label {label!r} is not in {map_file}"))
                continue
            label = label_map[label]
        split = given or (_given_split(row.get(cols["split"]), f"{where} row {n}") if cols["split"] else None)
        rel = full.resolve().relative_to(root).as_posix() if full.resolve().is_relative_to(root) else str(full)
        scan.utterances.append(_utterance(corpus, row, cols, label=label, raw=raw, path=str(full.resolve()),
                                          file=rel, given=split, skip_extra=skip_extra))  # fmt: skip
    return scan


def _utterance(corpus: str, row: Mapping, cols: dict, *, label: str, raw: str | None, path: str, file: str,
               given: str | None, skip_extra: set, data: bytes | None = None) -> Utterance:  # fmt: skip
    speaker = _text(row.get(cols["speaker"])) if cols["speaker"] else None
    extra = tuple(
        (k, _text(v)) for k, v in row.items() if k not in skip_extra and (v is None or isinstance(v, (str, int, float, bool)))
    )  # fmt: skip
    return Utterance(
        corpus=_text(row.get(cols["corpus"])) if cols["corpus"] and _text(row.get(cols["corpus"])) else corpus,
        emotion=label,
        speaker=speaker,
        gender=_gender(row.get(cols["gender"])) if cols["gender"] else "unknown",
        text=_text(row.get(cols["text"])) if cols["text"] else None,
        intensity=_text(row.get(cols["intensity"])) if cols["intensity"] else None,
        path=path,
        file=file,
        key=f"{file}",
        given=given,
        language=_text(row.get(cols["language"])) if cols["language"] else None,
        raw_label=raw,
        data=data,
        extra=extra,
    )


# ----------------------------------------------------------------------------------------------------------------
# datasets: audiofolder, save_to_disk, Parquet, Hub
# ----------------------------------------------------------------------------------------------------------------
def _load_datasets(location: str, kind: str):
    from datasets import DatasetDict, load_dataset, load_from_disk

    from hf_ser.hub import hub_offline

    if kind == "hub" and hub_offline():
        raise SourceError(
            f"--dataset {location}: no such folder here, and as a Hub id it cannot be loaded (the Hub is unreachable "
            "offline). Download it on a connected machine (`load_dataset(...).save_to_disk(DIR)` or `hf download "
            "--repo-type dataset`) and pass its folder."
        )
    try:
        if kind == "save_to_disk":
            dd = load_from_disk(location)
        elif kind == "audiofolder":
            dd = load_dataset("audiofolder", data_dir=location)
        elif kind == "parquet":
            dd = load_dataset("parquet", data_dir=location)
        else:
            dd = load_dataset(location)
    except Exception as err:  # noqa: BLE001 - datasets raises many types for 'cannot load' (offline, 404, bad files)
        raise SourceError(
            f"--dataset {location}: datasets cannot load it as {kind}: {type(err).__name__}: {err}"
        ) from err
    return dd if isinstance(dd, DatasetDict) else DatasetDict({"": dd})


def _dataset_scan(location: str, kind: str, opts: SourceOptions, corpus: str) -> SourceScan:
    from datasets import Audio, ClassLabel

    dd = _load_datasets(location, kind)
    root = Path(location).expanduser().resolve() if kind != "hub" else None
    scan = SourceScan(corpus=corpus, root=str(root or location), kind=kind)
    splits = [s for s in dd if s]
    unknown = [s for s in splits if s.lower() not in SPLIT_NAMES]
    if unknown:
        raise SourceError(f"--dataset {location}: split(s) {unknown} are none of train, validation, test "
                          f"(it has {list(dd)})")  # fmt: skip
    for split_name, ds in dd.items():
        where = f"--dataset {location}" + (f" ({split_name})" if split_name else "")
        columns = list(ds.column_names)
        folder_labels = kind == "audiofolder" and not (
            opts.label_column or any(c.lower() in LABEL_COLUMNS for c in columns)
        )
        cols = _columns(columns, opts, where, need_label=not folder_labels)
        if folder_labels:
            scan.notes.append("labels from the audiofolder's folder names (the metadata has no label column)")
        scan.columns = {**cols, "label": cols["label"] or "(folder names)"}
        feature = ds.features[cols["label"]] if cols["label"] else None
        if isinstance(feature, ClassLabel):
            scan.label_names = list(feature.names)
        audio_feature = ds.features[cols["audio"]]
        view = ds.cast_column(cols["audio"], Audio(decode=False)) if isinstance(audio_feature, Audio) else ds
        given = SPLIT_NAMES[split_name.lower()] if split_name else None
        skip_extra = {c for c in cols.values() if c}
        for i, row in enumerate(view):
            audio = row[cols["audio"]]
            data, path = (
                (audio.get("bytes"), audio.get("path")) if isinstance(audio, Mapping) else (None, _text(audio))
            )
            ref = path or f"{split_name or 'rows'}/{i}"
            if folder_labels:
                label = Path(path).parent.name if path else None
            else:
                value = row[cols["label"]]
                label = (
                    feature.int2str(value)
                    if isinstance(feature, ClassLabel) and value is not None and value >= 0
                    else _text(value)
                )
            if label is None:
                scan.skipped.append(Skipped(corpus, ref, f"{where} row {i}: no label"))
                continue
            full = Path(path) if path else None
            if full is not None and not full.is_absolute() and root is not None:
                full = root / full
            if data is None and (full is None or not full.is_file()):
                scan.skipped.append(Skipped(corpus, ref, f"{where} row {i}: no audio bytes and no file at {full}"))
                continue
            if full is not None and root is not None and full.resolve().is_relative_to(root):
                file = full.resolve().relative_to(root).as_posix()
            else:
                file = f"{split_name or 'rows'}/{i:06d}-{Path(path).name if path else 'audio'}"
            scan.utterances.append(_utterance(corpus, row, cols, label=label, raw=None, path=str(full or ""),
                                              file=file, given=given, skip_extra=skip_extra, data=data))  # fmt: skip
    return scan


# ----------------------------------------------------------------------------------------------------------------
def read_source(location: str, opts: SourceOptions | None = None, *, corpus: str | None = None) -> SourceScan:
    """Every clip of a user's data as records (labels as the data names them), with what was skipped and why."""
    opts = opts or SourceOptions()
    kind = source_kind(location)
    corpus = corpus or corpus_name_for(location)
    path = Path(location).expanduser()
    if kind == "manifest":
        scan = _manifest_scan(path, opts, corpus)
    elif kind == "manifest_splits":
        files = _split_manifests(path)
        scan = SourceScan(corpus=corpus, root=str(path.resolve()), kind="manifest_splits")
        for split, file in files.items():
            _manifest_scan(file, opts, corpus, given=split, scan=scan)
        scan.notes.append("the data's own splits: " + ", ".join(f"{s} = {f.name}" for s, f in files.items()))
    else:
        scan = _dataset_scan(location, kind, opts, corpus)
    if not scan.utterances:
        reasons = sorted({s.reason.split(" (")[0] for s in scan.skipped})[:3]
        raise SourceError(f"--dataset {location}: no usable row ({len(scan.skipped)} skipped: {'; '.join(reasons)})")
    logger.info("%s (%s): %d clips, %d skipped", location, scan.kind, len(scan.utterances), len(scan.skipped))
    return scan
