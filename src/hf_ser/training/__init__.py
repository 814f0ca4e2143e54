"""The training stage: recipe arguments, the Trainer run (fine-tune, then score and report), batching, the
classifier-only feature cache, the run folder, and self-supervised pretraining. May use every other stage."""

from hf_ser._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "hf_ser.training.run": ("DIVERGED_ERRORS", "USER_ERRORS", "train"),
        "hf_ser.training.trainer": ("DivergenceGuard", "TrainingDivergedError", "make_trainer", "peak_memory_mb"),
        "hf_ser.evaluation.validation": ("SCALAR_METRICS", "compute_metrics", "log_validation"),
    },
)
