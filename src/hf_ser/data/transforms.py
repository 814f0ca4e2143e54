"""A built dataset as the recipes read it: loading with clear errors, train/eval transforms and the collator."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hf_ser.architectures import feature_inputs
from hf_ser.audio import SAMPLING_RATE, AugmentConfig, build_augmentation, random_crop
from hf_ser.labels import EMOTIONS

__all__ = [
    "REQUIRED_COLUMNS",
    "AudioCollator",
    "DataError",
    "EvalTransform",
    "TrainTransform",
    "clip_lengths",
    "clip_samples",
    "load_ser_dataset",
]

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("audio", "label")


class DataError(RuntimeError):
    """A dataset that cannot be trained on; the message names the dataset, split or column."""


def load_ser_dataset(dataset: str, protocol: str, splits=("train", "validation", "test")):
    """load_dataset(dataset, protocol) with every way it can be wrong turned into one clear DataError."""
    from datasets import ClassLabel

    from hf_ser.data import load_eight_emotions
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
        if not isinstance(label, ClassLabel) or list(label.names) != list(EMOTIONS):
            raise DataError(
                f"--dataset {dataset} ({protocol}/{split}): 'label' must be a ClassLabel over {list(EMOTIONS)}, "
                f"got {label}"
            )
        if len(dd[split]) == 0:
            raise DataError(f"--dataset {dataset} ({protocol}/{split}): the split is empty")
    return dd


def clip_samples(audio) -> np.ndarray:
    """The float32 samples of one decoded ``audio`` cell (datasets 5 gives a torchcodec AudioDecoder; dict access
    gives the array at the stored 16 kHz)."""
    arr = audio["array"]
    return arr.numpy() if isinstance(arr, torch.Tensor) else np.asarray(arr, dtype=np.float32)


class TrainTransform:
    """Random crop to max_duration, then augmentation (train split only)."""

    def __init__(self, max_duration: float, augment: AugmentConfig | None = None):
        self.max_samples = int(max_duration * SAMPLING_RATE)
        self.augment_cfg = augment or AugmentConfig()
        self._augment = None

    def __call__(self, batch: dict) -> dict:
        if "audio" not in batch:  # a column read (e.g. lengths for the sampler) passes through untouched
            return batch
        if self._augment is None and self.augment_cfg.enabled:
            self._augment = build_augmentation(self.augment_cfg)
        # torch's RNG is seeded by the Trainer (and per dataloader worker): reproducible and distinct per worker.
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,)).item()))
        out = []
        for audio in batch["audio"]:
            x = random_crop(clip_samples(audio), self.max_samples, rng)
            if self._augment is not None:
                x = self._augment(samples=x, sample_rate=SAMPLING_RATE)
            out.append(x.astype(np.float32, copy=False))
        return {"input_values": out, "labels": list(batch["label"])}


class EvalTransform:
    """Whole clips, no augmentation."""

    def __call__(self, batch: dict) -> dict:
        if "audio" not in batch:
            return batch
        return {"input_values": [clip_samples(a) for a in batch["audio"]], "labels": list(batch["label"])}


@dataclass
class AudioCollator:
    """Feature-extractor normalisation + padding per batch: dynamic (to the longest clip) or to a fixed length; the
    model's own input (``input_values``, or Whisper's ``input_features`` in its fixed window)."""

    feature_extractor: object
    max_length: int | None = None  # samples; set to pad every batch to it (the transformers example's way)
    min_length: int = 0  # samples; shorter batches are padded to it (SpecAugment's minimum, architectures.py)

    def __call__(self, features: list[dict]) -> dict:
        arrays = [f["input_values"] for f in features]
        max_length = self.max_length
        if max_length is None and self.min_length and max(len(a) for a in arrays) < self.min_length:
            max_length = self.min_length
        batch = feature_inputs(self.feature_extractor, arrays, max_length=max_length)
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return batch


def clip_lengths(ds, max_duration: float | None = None) -> list[int] | None:
    """Samples per row (after cropping to ``max_duration``), from the metadata column (no audio decoded); None
    without a 'duration' column."""
    if "duration" not in ds.column_names:
        logger.warning("dataset has no 'duration' column: batches will not be grouped by length")
        return None
    # A column read honours select()/sort() index mappings (ds.data would not) and decodes no audio.
    seconds = np.asarray(ds["duration"], dtype=np.float64)
    if max_duration is not None:
        seconds = np.minimum(seconds, max_duration)
    return np.rint(seconds * SAMPLING_RATE).astype(np.int64).tolist()
