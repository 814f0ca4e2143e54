"""Validation as the Trainer reports it: the SER bundle's scalar metrics hook, and the logging of validation logits
computed outside the Trainer's loop (the run's whole-clip validation, the cached classifier-only head)."""

from __future__ import annotations

import numpy as np
import torch

from hf_ser.evaluation.metrics.functional import ser_metrics

__all__ = ["SCALAR_METRICS", "compute_metrics", "log_validation"]

SCALAR_METRICS = ("accuracy", "f1_macro", "f1_weighted", "uar", "eer", "eer_micro")


def compute_metrics(eval_pred) -> dict[str, float]:
    """Trainer hook: the scalar part of the SER bundle on the validation logits.

    Non-finite logits give NaN metrics and ``nonfinite_logits`` (the count), which DivergenceGuard turns into a
    stop before the diverged model is saved."""
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    bad = int((~np.isfinite(logits)).any(axis=1).sum())
    if bad:
        return {**dict.fromkeys(SCALAR_METRICS, float("nan")), "nonfinite_logits": bad}
    full = ser_metrics(logits, labels)  # the scalars only: they do not depend on the label names
    return {k: full[k] for k in SCALAR_METRICS}


def log_validation(trainer, logits: np.ndarray, labels: np.ndarray, prefix: str, start: float) -> dict:
    """What Trainer.evaluate reports, for validation logits computed outside its loop: metrics (and loss) prefixed,
    speed, logged, and passed to the callbacks (DivergenceGuard reads them there)."""
    from transformers import EvalPrediction
    from transformers.trainer_utils import speed_metrics

    metrics = compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    if "nonfinite_logits" not in metrics:
        metrics["loss"] = float(torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)))
    metrics = {f"{prefix}_{k}": v for k, v in metrics.items()}
    metrics.update(speed_metrics(prefix, start, num_samples=len(labels)))
    trainer.log(metrics)
    trainer.control = trainer.callback_handler.on_evaluate(trainer.args, trainer.state, trainer.control, metrics)
    return metrics
