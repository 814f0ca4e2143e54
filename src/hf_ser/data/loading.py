"""A built dataset as training and scoring read it: load_dataset with every way it can be wrong as one DataError."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from hf_ser.labels import EMOTIONS, merged_labels

__all__ = [
    "REQUIRED_COLUMNS",
    "DataError",
    "dataset_configs",
    "describe_splits",
    "load_ser_dataset",
    "merge_labels",
    "resolve_dataset",
    "resolve_protocol",
    "select_labels",
    "split_summary",
]

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("audio", "label")


class DataError(RuntimeError):
    """A dataset that cannot be trained on; the message names the dataset, split or column."""


def resolve_dataset(dataset: str, source_options=None, split_options=None) -> Path:
    """The hf-ser dataset folder behind ``--dataset``: a folder hf-ser built as it is, anything else a user has
    (manifest, audiofolder, save_to_disk, Parquet, Hub id) prepared once into the cache."""
    from hf_ser.data.prepare import is_hf_ser_build, prepare_dataset
    from hf_ser.data.sources import SourceError
    from hf_ser.data.staging import BuildError

    local = Path(dataset).expanduser()
    if local.is_dir() and is_hf_ser_build(local):
        return local
    try:
        return prepare_dataset(dataset, source_options, split_options)
    except (SourceError, BuildError) as err:
        msg = str(err)
        raise DataError(msg if msg.startswith("--dataset") else f"--dataset {dataset}: {msg}") from err


def _left_out(folder: Path) -> dict:
    from huggingface_hub import DatasetCard

    card = Path(folder) / "README.md"
    return (DatasetCard.load(card).data.to_dict().get("hf_ser_left_out") or {}) if card.is_file() else {}


def dataset_configs(folder: str | Path) -> list[str]:
    """The config names a built dataset folder's card declares, in its order."""
    from huggingface_hub import DatasetCard

    card = Path(folder) / "README.md"
    if not card.is_file():
        return sorted(p.name for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith("."))
    return [c["config_name"] for c in DatasetCard.load(card).data.to_dict().get("configs") or []]


def resolve_protocol(folder: str | Path, protocol: str) -> str:
    """``auto``: the data's own splits (``default``) when it has them, else ``speaker``, else ``random`` (with a
    warning: without speakers a test clip's speaker may be heard in training). Any other name is itself."""
    if protocol != "auto":
        return protocol
    configs = dataset_configs(folder)
    for name in ("default", "speaker"):
        if name in configs:
            return name
    logger.warning("--protocol auto: the dataset has neither splits of its own nor speakers, so the split is random "
                   "and a test clip's speaker may be heard in training (name a --speaker_column to avoid that)")  # fmt: skip
    return "random"


def load_ser_dataset(dataset: str, protocol: str, splits=("train", "validation", "test"), *, source_options=None,
                     split_options=None, resolved: list | None = None):  # fmt: skip
    """load_dataset of ``dataset``'s ``protocol`` with every way it can be wrong turned into one clear DataError.

    ``dataset`` is a folder hf-ser built, or any corpus a user has (hf_ser.data.sources: a manifest, an audiofolder,
    a save_to_disk or Parquet folder, a Hub id), prepared once; ``source_options`` name its columns. ``protocol``
    ``auto`` picks the data's own splits, else speaker-disjoint ones; ``resolved`` (a list) receives
    ``(folder, protocol)`` as loaded."""
    from datasets import ClassLabel

    from hf_ser.data.layout import load_eight_emotions
    from hf_ser.hub import looks_like_hub_id

    local = Path(dataset).expanduser()
    if not local.exists() and not looks_like_hub_id(dataset):
        raise DataError(f"--dataset {dataset}: no such file or folder, and not a Hub id")
    folder = resolve_dataset(dataset, source_options, split_options)
    protocol = resolve_protocol(folder, protocol)
    if resolved is not None:
        resolved[:] = [folder, protocol]
    why = _left_out(folder).get("speaker_fold*" if protocol.startswith("speaker_fold") else protocol)
    if why and protocol not in dataset_configs(folder):
        raise DataError(f"--dataset {dataset} has no {protocol!r} protocol: {why}; it has "
                        f"{', '.join(dataset_configs(folder))}")  # fmt: skip
    try:
        dd = load_eight_emotions(str(folder), protocol)
    except ValueError as err:
        raise DataError(f"--dataset {dataset}: cannot load config {protocol!r} ({err})") from err
    except Exception as err:  # noqa: BLE001 - datasets raises many types for unreadable files
        raise DataError(f"--dataset {dataset}: cannot load this folder: {type(err).__name__}: {err}") from err
    missing = [s for s in splits if s not in dd]
    if missing:
        raise DataError(f"--dataset {dataset} ({protocol}): missing split(s) {missing}; it has {list(dd)}")
    for split in splits:
        cols = dd[split].column_names
        absent = [c for c in REQUIRED_COLUMNS if c not in cols]
        if absent:
            raise DataError(f"--dataset {dataset} ({protocol}/{split}): missing column(s) {absent}; it has {cols}")
        label = dd[split].features["label"]
        if not isinstance(label, ClassLabel) or not label.names:
            raise DataError(
                f"--dataset {dataset} ({protocol}/{split}): 'label' must be a ClassLabel (the label names, as "
                f"{list(EMOTIONS)} in the eight-emotion dataset), got {label}"
            )
        if list(label.names) != list(dd[splits[0]].features["label"].names):
            raise DataError(
                f"--dataset {dataset} ({protocol}): split {split} is labelled {label.names}, split {splits[0]} "
                f"{dd[splits[0]].features['label'].names}; every split needs the same label set"
            )
        if len(dd[split]) == 0:
            raise DataError(f"--dataset {dataset} ({protocol}/{split}): the split is empty")
    return dd


def merge_labels(dd, label_map: Mapping[str, str] | None):
    """(dataset dict, {old name: new name} of the names that changed) with the classes ``label_map`` makes mean the
    same merged into one (:func:`hf_ser.labels.merged_labels`: ``no_calm`` gives seven classes, calm clips labelled
    neutral). Without a map, or with one that names none of the dataset's labels, the dataset is returned as it is."""
    from datasets import ClassLabel

    first = next(iter(dd.values()))
    names = list(first.features["label"].names)
    new_names, mapping = merged_labels(names, label_map)
    changed = {a: b for a, b in mapping.items() if a != b}
    if not changed:
        return dd, {}
    lut = [new_names.index(mapping[n]) for n in names]
    features = first.features.copy()
    features["label"] = ClassLabel(names=new_names)
    merged = dd.map(lambda b: {"label": [lut[y] for y in b["label"]]}, batched=True, features=features,
                    desc="Merging labels")  # fmt: skip
    return merged, changed


def select_labels(dd, labels: Sequence[str] | None):
    """(dataset dict, dropped row counts per split) with only the classes ``labels`` names (``--labels``), in that
    order; the rows of the other classes are left out of every split. Which clips each split holds is otherwise
    unchanged: the kept classes' test clips are the same clips as without ``--labels``."""
    from datasets import ClassLabel

    if not labels:
        return dd, {}
    first = next(iter(dd.values()))
    names = list(first.features["label"].names)
    keep = list(dict.fromkeys(str(n).strip() for n in labels if str(n).strip()))
    missing = [n for n in keep if n not in names]
    if missing:
        raise DataError(f"--labels {','.join(keep)}: {', '.join(missing)} not among the dataset's labels "
                        f"({', '.join(names)})")  # fmt: skip
    if len(keep) < 2:
        raise DataError(f"--labels {','.join(keep)}: a classifier needs two or more labels")
    if keep == names:
        return dd, {}
    lut = {names.index(n): i for i, n in enumerate(keep)}
    features = first.features.copy()
    features["label"] = ClassLabel(names=keep)
    before = {s: len(d) for s, d in dd.items()}
    # input_columns: the label alone, so no clip's audio is decoded to filter or renumber it
    kept = dd.filter(lambda ys: [y in lut for y in ys], batched=True, input_columns=["label"], desc="Keeping --labels")
    kept = kept.map(lambda ys: {"label": [lut[y] for y in ys]}, batched=True, input_columns=["label"],
                    features=features, desc="Renumbering labels")  # fmt: skip
    return kept, {s: before[s] - len(kept[s]) for s in dd}


def split_summary(dd) -> dict:
    """Per split: clips, speakers (where the data names them) and clips per label: what runs print and record."""
    out = {}
    for split, ds in dd.items():
        names = ds.features["label"].names
        counts = [0] * len(names)
        for y in ds["label"]:
            counts[y] += 1
        row = {"clips": len(ds), "labels": dict(zip(names, counts, strict=True))}
        if "speaker" in ds.column_names:
            row["speakers"] = len({s for s in ds["speaker"] if s})
        out[split] = row
    return out


def describe_splits(dataset: str, protocol: str, splits: dict, dropped: dict | None = None) -> str:
    """What a run or a score prints before it starts: the clips and speakers of each split."""
    parts = [f"{s} {v['clips']} clips" + (f" / {v['speakers']} speakers" if "speakers" in v else "")
             for s, v in splits.items()]  # fmt: skip
    line = f"{dataset} ({protocol}): " + ", ".join(parts)
    if dropped and any(dropped.values()):
        line += " (--labels left out " + ", ".join(f"{s} {n}" for s, n in dropped.items()) + ")"
    return line
