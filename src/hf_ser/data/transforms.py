"""Dataset rows as model inputs: the train transform (crop, augmentation), the eval transform, the collator."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from hf_ser.audio import SAMPLING_RATE, AugmentConfig, build_augmentation, random_crop
from hf_ser.modeling.architectures import feature_inputs

__all__ = ["AudioCollator", "EvalTransform", "TrainTransform", "clip_lengths", "clip_samples"]

logger = logging.getLogger(__name__)


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
    min_length: int = 0  # samples; shorter batches are padded to it (SpecAugment's minimum, see modeling)

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
