"""hf-ser: speech emotion recognition on the Hugging Face stack."""

from hf_ser.labels import CORPORA, EMOTIONS, ID2LABEL, LABEL2ID

__all__ = ["CORPORA", "EMOTIONS", "ID2LABEL", "LABEL2ID", "__version__"]
__version__ = "0.1.0"
