"""``hf_ser.predict``, the documented path of :class:`EmotionPredictor`: a re-export of
:mod:`hf_ser.inference.predict`."""

from hf_ser.inference import predict as _predict
from hf_ser.inference.predict import *  # noqa: F403 - the re-export is the point

__all__ = list(_predict.__all__)
