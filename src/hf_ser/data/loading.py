"""A built dataset as training and scoring read it: load_dataset with every way it can be wrong as one DataError."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hf_ser.labels import EMOTIONS, merged_labels

__all__ = ["REQUIRED_COLUMNS", "DataError", "load_ser_dataset", "merge_labels"]

REQUIRED_COLUMNS = ("audio", "label")


class DataError(RuntimeError):
    """A dataset that cannot be trained on; the message names the dataset, split or column."""


def load_ser_dataset(dataset: str, protocol: str, splits=("train", "validation", "test")):
    """load_dataset(dataset, protocol) with every way it can be wrong turned into one clear DataError."""
    from datasets import ClassLabel

    from hf_ser.data.layout import load_eight_emotions
    from hf_ser.hub import hub_offline, looks_like_hub_id

    local = Path(dataset).expanduser()
    if not local.exists() and not looks_like_hub_id(dataset):
        raise DataError(f"--dataset {dataset}: no such folder, and not a Hub id")
    if local.exists() and not local.is_dir():
        raise DataError(
            f"--dataset {dataset}: a file, not a dataset folder (build one with dataset_scripts/eight_emotions.py)"
        )
    if not local.exists() and hub_offline():
        raise DataError(
            f"--dataset {dataset}: no such folder here, and as a Hub id it cannot be loaded (the Hub is unreachable "
            "offline). Build the folder with dataset_scripts/eight_emotions.py, or download it on a connected "
            "machine, and pass its path."
        )
    try:
        dd = load_eight_emotions(str(local) if local.exists() else dataset, protocol)
    except ValueError as err:
        raise DataError(f"--dataset {dataset}: cannot load config {protocol!r} ({err})") from err
    except Exception as err:  # noqa: BLE001 - datasets raises many types for 'not there' (offline, 404, no files)
        if local.exists():
            raise DataError(f"--dataset {dataset}: cannot load this folder: {type(err).__name__}: {err}") from err
        raise DataError(
            f"--dataset {dataset}: no such folder here, and as a Hub id it cannot be loaded (the Hub is unreachable "
            f"offline, or the id is wrong): {type(err).__name__}: {err}. Build the folder with "
            "dataset_scripts/eight_emotions.py, or download it on a connected machine, and pass its path."
        ) from err
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
