"""SER metrics: plain functions (no evaluate needed) and the `eer` / `ser` evaluate modules shipped in this folder."""

from __future__ import annotations

from pathlib import Path

from hf_ser.evaluation.metrics.functional import (
    binary_eer,
    confusion_matrix,
    eer_micro,
    eer_per_class,
    multiclass_eer,
    roc_points,
    ser_metrics,
    softmax,
)

__all__ = [
    "MODULES",
    "binary_eer",
    "confusion_matrix",
    "eer_micro",
    "eer_per_class",
    "load",
    "module_path",
    "multiclass_eer",
    "roc_points",
    "ser_metrics",
    "softmax",
]

MODULES = ("eer", "ser")


def module_path(name: str) -> str:
    """Folder of an hf-ser evaluate module, for ``evaluate.load(module_path("eer"))``."""
    if name not in MODULES:
        raise ValueError(f"unknown hf-ser metric {name!r}; available: {', '.join(MODULES)}")
    return str(Path(__file__).parent / name)


def load(name: str, **kwargs):
    """``evaluate.load`` of an hf-ser metric module; offline, no Hub access."""
    import evaluate

    return evaluate.load(module_path(name), **kwargs)
