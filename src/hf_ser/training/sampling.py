"""Duration-budget training batches: length-bucketed, rank-aware, the same order again on resume.

fairseq fine-tunes HuBERT with batches of a fixed amount of audio (``max_tokens``), not a fixed number of clips:
short clips then travel many to a batch and long ones few, so every step keeps the accelerator equally busy. As
fairseq does, the batches are packed once (clips sorted by length, so a batch pads little) and only their order is
shuffled each epoch, with the seed and the epoch (the Trainer calls ``set_epoch``, also for a resumed epoch); so
``len()`` is the same every epoch and a resumed run continues the same order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from transformers.trainer_pt_utils import BatchRebalanceSampler

from hf_ser.inference.forward import length_sorted_batches

__all__ = ["DurationBatchSampler", "pack_by_duration"]

logger = logging.getLogger(__name__)


def pack_by_duration(
    lengths: Sequence[int], max_batch_samples: int, *, seed: int = 0, max_batch_size: int | None = None
) -> list[list[int]]:
    """Index batches whose padded size (clips x longest clip) is at most ``max_batch_samples``.

    Clips are sorted by length (equal lengths in a seeded random order) and packed greedily, so each batch holds
    clips of similar length. A clip longer than the budget raises ValueError (crop it first)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(lengths) and lengths.max() > max_batch_samples:
        raise ValueError(
            f"a clip of {lengths.max()} samples is longer than the batch budget of {max_batch_samples} samples"
        )
    tie = np.random.default_rng(seed).permutation(len(lengths))
    order = np.lexsort((tie, lengths)).tolist()  # by length, ties in a seeded order
    return length_sorted_batches(lengths.tolist(), batch_size=max_batch_size, max_batch_samples=max_batch_samples,
                                 order=order)  # fmt: skip


class DurationBatchSampler(BatchRebalanceSampler):
    """Batches of at most ``max_batch_samples`` padded samples; each of ``num_replicas`` processes gets its own.

    Every clip is in exactly one batch per epoch and every process gets the same number of batches (when the count
    does not divide, the batches with most clips are halved until it does), so no process waits for one that
    another lacks. A subclass of transformers' BatchRebalanceSampler because that is how the Trainer recognises a
    rank-aware batch sampler: it passes it to the DataLoader as ``batch_sampler`` and keeps Accelerate from sharding
    it a second time.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        *,
        max_batch_samples: int,
        seed: int = 42,
        num_replicas: int = 1,
        rank: int = 0,
        max_batch_size: int | None = None,
    ):  # no super().__init__: its cost model and fixed batch size are what this sampler replaces
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside 0..{num_replicas - 1}")
        self.lengths = [int(n) for n in lengths]
        self.max_batch_samples = int(max_batch_samples)
        self.seed = seed
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        batches = pack_by_duration(self.lengths, self.max_batch_samples, seed=seed, max_batch_size=max_batch_size)
        while len(batches) % num_replicas:
            k = max(range(len(batches)), key=lambda j: (len(batches[j]), -j))
            if len(batches[k]) < 2:
                raise ValueError(
                    f"{len(self.lengths)} clips cannot give {num_replicas} processes a batch each; use fewer processes"
                )
            half = len(batches[k]) // 2
            batches[k : k + 1] = [batches[k][:half], batches[k][half:]]
        self.batches = batches
        self.drop_last = False
        logger.info(
            "duration-budget batches: %d of at most %.1f s (mean %.1f clips), padding %.1f%% of the samples; "
            "%d per process per epoch",
            len(batches),
            self.max_batch_samples / 16_000,
            len(self.lengths) / max(1, len(batches)),
            100 * self.padding_fraction,
            len(self),
        )

    @property
    def padding_fraction(self) -> float:
        """Share of the padded samples that are padding (the cost of batching clips of unequal length)."""
        padded = sum(len(b) * max(self.lengths[i] for i in b) for b in self.batches)
        return 1.0 - sum(self.lengths) / padded if padded else 0.0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.batches) // self.num_replicas

    def __iter__(self):
        order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.batches))
        for k in order[self.rank :: self.num_replicas].tolist():
            yield list(self.batches[k])
