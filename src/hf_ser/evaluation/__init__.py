"""The evaluation stage: scoring a split (SER bundle with intervals, per-clip predictions), the metrics and their
evaluate modules, statistics, comparisons, reports and model cards. Imports data and inference, never training."""

from hf_ser._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "hf_ser.evaluation.scoring": (
            "NonFiniteLogitsError",
            "clip_ids",
            "clips_fingerprint",
            "predict_split",
            "score_checkpoint",
            "score_logits",
            "write_predictions",
        ),  # fmt: skip
    },
)
