"""One pure scanner per corpus: a folder as downloaded -> Utterance records + a report of what was skipped."""

from hf_ser.data.corpora.base import AUDIO_EXTENSIONS, CorpusError, ScanResult, Skipped, UnparseableName, Utterance
from hf_ser.data.corpora.crema_d import scan_crema_d
from hf_ser.data.corpora.ravdess import scan_ravdess
from hf_ser.data.corpora.savee import scan_savee
from hf_ser.data.corpora.tess import scan_tess

__all__ = [
    "AUDIO_EXTENSIONS",
    "SCANNERS",
    "CorpusError",
    "ScanResult",
    "Skipped",
    "UnparseableName",
    "Utterance",
    "scan_crema_d",
    "scan_ravdess",
    "scan_savee",
    "scan_tess",
]

SCANNERS = {"ravdess": scan_ravdess, "crema_d": scan_crema_d, "tess": scan_tess, "savee": scan_savee}
