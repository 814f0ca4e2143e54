"""The Trainer behind a run: length-grouped or duration-budget batches, whole-clip validation that no batch can
change, and a guard that stops at the first NaN/inf before the diverged model is saved."""

from __future__ import annotations

import math
import resource
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from hf_ser.audio import SAMPLING_RATE
from hf_ser.data.loading import DataError
from hf_ser.evaluation.scoring import predict_split
from hf_ser.evaluation.validation import log_validation
from hf_ser.training.sampling import DurationBatchSampler

__all__ = ["DivergenceGuard", "TrainingDivergedError", "make_trainer", "peak_memory_mb"]


class TrainingDivergedError(RuntimeError):
    """NaN or infinite loss or logits; the message names the step, the learning rate and the last good checkpoint."""


class DivergenceGuard(TrainerCallback):
    """Stops the run at the first NaN/inf training loss or validation logits, before that model is saved (the
    Trainer logs, then evaluates, then saves), so the checkpoints on disk are the last good ones."""

    def _stop(self, args, state, what: str):
        lrs = [h["learning_rate"] for h in state.log_history if "learning_rate" in h]
        lr = f"{lrs[-1]:.3g}" if lrs else f"{args.learning_rate:.3g}"
        ckpts = sorted(Path(args.output_dir).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
        last = str(ckpts[-1]) if ckpts else None
        keep = (f"the last good checkpoint is {last} (resume with --resume_from_checkpoint {last} and a lower "
                "--learning_rate)") if last else "no checkpoint was saved before it"  # fmt: skip
        raise TrainingDivergedError(
            f"training diverged: {what} at step {state.global_step} (learning rate {lr}); {keep}"
        )

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if isinstance(loss, float) and not math.isfinite(loss):
            self._stop(args, state, f"training loss {loss}")

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        bad = (metrics or {}).get("eval_nonfinite_logits", 0)
        if bad:
            self._stop(args, state, f"NaN/inf logits for {int(bad)} validation clips")


def peak_memory_mb() -> dict[str, float]:
    out = {"cpu_rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if torch.cuda.is_available():
        out["gpu_allocated_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def _autocast_dtype(args) -> torch.dtype | None:
    return torch.bfloat16 if args.bf16 else torch.float16 if args.fp16 else None


def make_trainer(
    *args, train_lengths: list[int] | None = None, eval_raw=None, max_batch_seconds: float | None = None, **kwargs
):
    """A transformers Trainer with two SER changes.

    - Training batches are grouped by length from ``train_lengths`` (metadata) instead of indexing the dataset,
      which with an on-the-fly audio transform would decode every clip to measure it; with ``max_batch_seconds``
      they are duration-budget batches (:class:`hf_ser.training.sampling.DurationBatchSampler`).
    - Validation scores ``eval_raw`` (whole clips) through :func:`hf_ser.evaluation.scoring.predict_split`, the path every
      other score takes, so no clip's score depends on its batch (the Trainer's own eval sampler mixes lengths).
      Every process scores the whole split (it is small), so no gathering can drop or repeat clips.
    """
    from transformers import Trainer
    from transformers.trainer_pt_utils import LengthGroupedSampler

    class SERTrainer(Trainer):
        duration_sampler = None

        def _get_train_sampler(self, train_dataset=None):
            if max_batch_seconds is not None:
                if train_lengths is None:
                    raise DataError("--max_batch_seconds needs the dataset's 'duration' column")
                if self.duration_sampler is None:
                    self.duration_sampler = DurationBatchSampler(
                        train_lengths,
                        max_batch_samples=int(max_batch_seconds * SAMPLING_RATE),
                        seed=self.args.data_seed if self.args.data_seed is not None else self.args.seed,
                        num_replicas=max(1, self.args.world_size),
                        rank=self.args.process_index,
                    )
                return self.duration_sampler
            if self.args.train_sampling_strategy == "group_by_length" and train_lengths is not None:
                return LengthGroupedSampler(
                    self.args.train_batch_size * self.args.gradient_accumulation_steps, lengths=train_lengths
                )
            return super()._get_train_sampler(train_dataset)

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            if eval_dataset is not None or eval_raw is None:
                return super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
            start = time.time()
            model = (
                self.model.module if isinstance(self.model, torch.nn.parallel.DistributedDataParallel) else self.model
            )
            logits, labels = predict_split(model, self.processing_class, eval_raw,
                                           batch_size=self.args.eval_batch_size, device=self.args.device,
                                           autocast_dtype=_autocast_dtype(self.args), desc="Validation")  # fmt: skip
            return log_validation(self, logits, labels, metric_key_prefix, start)

    trainer = SERTrainer(*args, **kwargs)
    trainer.add_callback(DivergenceGuard())
    return trainer
