"""One pure scanner per corpus: a folder as downloaded -> Utterance records + a report of what was skipped."""

from hf_ser.data.corpora.base import AUDIO_EXTENSIONS, CorpusError, ScanResult, Skipped, UnparseableName, Utterance
from hf_ser.data.corpora.catalogue import CorpusInfo
from hf_ser.data.corpora.code_grammars import ASVP_ESD, MESD, OREAU, scan_asvp_esd, scan_mesd, scan_oreau
from hf_ser.data.corpora.crema_d import scan_crema_d
from hf_ser.data.corpora.emodb import EMODB, scan_emodb
from hf_ser.data.corpora.folder_grammars import (
    AESDD,
    CASIA,
    EMOV_DB,
    MEAD,
    TUREV_DB,
    URDU,
    scan_aesdd,
    scan_casia,
    scan_emov_db,
    scan_mead,
    scan_turev_db,
    scan_urdu,
)
from hf_ser.data.corpora.grammars import (
    CAFE,
    EMOVO,
    JL_CORPUS,
    SHEMO,
    SUBESCO,
    scan_cafe,
    scan_emovo,
    scan_jl_corpus,
    scan_shemo,
    scan_subesco,
)
from hf_ser.data.corpora.label_files import ESD, IEMOCAP, scan_esd, scan_iemocap
from hf_ser.data.corpora.msp_podcast import MSP_PODCAST, scan_msp_podcast
from hf_ser.data.corpora.ravdess import scan_ravdess
from hf_ser.data.corpora.savee import scan_savee
from hf_ser.data.corpora.table_corpora import EMOZIONALMENTE, MELD, scan_emozionalmente, scan_meld
from hf_ser.data.corpora.tess import scan_tess

__all__ = [
    "AUDIO_EXTENSIONS",
    "MORE_CORPORA",
    "SCANNERS",
    "CorpusInfo",
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
# Corpora beyond the paper's four, each read by its own scanner: name -> (what is known of it, scanner).
MORE_CORPORA = {
    info.name: (info, scan)
    for info, scan in (
        (EMODB, scan_emodb),
        (EMOVO, scan_emovo),
        (SUBESCO, scan_subesco),
        (SHEMO, scan_shemo),
        (JL_CORPUS, scan_jl_corpus),
        (CAFE, scan_cafe),
        (IEMOCAP, scan_iemocap),
        (ESD, scan_esd),
        (MSP_PODCAST, scan_msp_podcast),
        (EMOZIONALMENTE, scan_emozionalmente),
        (MELD, scan_meld),
        (ASVP_ESD, scan_asvp_esd),
        (MEAD, scan_mead),
        (EMOV_DB, scan_emov_db),
        (URDU, scan_urdu),
        (AESDD, scan_aesdd),
        (CASIA, scan_casia),
        (TUREV_DB, scan_turev_db),
        (OREAU, scan_oreau),
        (MESD, scan_mesd),
    )
}
