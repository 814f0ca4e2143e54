"""SER metrics as plain numpy functions: EER (binary, one-vs-rest, pooled), accuracy, F1, UAR, confusion.

The code lives in ``ser/ser_functional.py``, the folder of the ``ser`` evaluate module, so that folder runs on its
own (copied, or pushed as a metric Space); the ``eer`` module's folder holds a copy
(``scripts/vendor_metric_maths.py``). This module is its import path inside hf-ser; the maths and the definition
of the EER are documented there.
"""

from hf_ser.evaluation.metrics.ser.ser_functional import *  # noqa: F403 - the re-export is the point
from hf_ser.evaluation.metrics.ser.ser_functional import __all__  # noqa: F401
