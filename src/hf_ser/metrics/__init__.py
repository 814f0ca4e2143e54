"""``hf_ser.metrics``, the documented short path (``hf_ser.metrics.load("eer")``): a re-export of
:mod:`hf_ser.evaluation.metrics`, where the functions and the evaluate modules live."""

from hf_ser.evaluation import metrics as _metrics
from hf_ser.evaluation.metrics import *  # noqa: F403 - the re-export is the point

__all__ = list(_metrics.__all__)
