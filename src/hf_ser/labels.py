"""The eight emotions and each corpus's code -> emotion map (the label contract of DESIGN.md)."""

from __future__ import annotations

__all__ = [
    "CORPORA",
    "CORPUS_LICENSES",
    "CREMA_D_EMOTIONS",
    "EMOTIONS",
    "EMOTION_ABBREVIATIONS",
    "ID2LABEL",
    "LABEL2ID",
    "RAVDESS_EMOTIONS",
    "SAVEE_EMOTIONS",
    "TESS_EMOTIONS",
]

EMOTIONS: tuple[str, ...] = ("angry", "calm", "disgust", "fear", "happy", "neutral", "sad", "surprise")
ID2LABEL: dict[int, str] = dict(enumerate(EMOTIONS))
LABEL2ID: dict[str, int] = {name: i for i, name in ID2LABEL.items()}
# The paper's confusion-matrix headers (Tables 4-6).
EMOTION_ABBREVIATIONS: dict[str, str] = {e: e[:3] for e in EMOTIONS}

CORPORA: tuple[str, ...] = ("ravdess", "crema_d", "tess", "savee")

RAVDESS_EMOTIONS: dict[str, str] = {
    "01": "neutral",
    "02": "calm",
    "03": "happy",
    "04": "sad",
    "05": "angry",
    "06": "fear",
    "07": "disgust",
    "08": "surprise",
}
CREMA_D_EMOTIONS: dict[str, str] = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fear",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
# TESS file names end in one of these; the popular copies also carry the spelled-out forms.
TESS_EMOTIONS: dict[str, str] = {
    "angry": "angry",
    "anger": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "happy": "happy",
    "happiness": "happy",
    "neutral": "neutral",
    "ps": "surprise",
    "pleasant_surprise": "surprise",
    "pleasant_surprised": "surprise",
    "surprise": "surprise",
    "surprised": "surprise",
    "sad": "sad",
    "sadness": "sad",
}
SAVEE_EMOTIONS: dict[str, str] = {
    "a": "angry",
    "d": "disgust",
    "f": "fear",
    "h": "happy",
    "n": "neutral",
    "sa": "sad",
    "su": "surprise",
}

CORPUS_LICENSES: dict[str, dict[str, str]] = {
    "ravdess": {
        "name": "RAVDESS (speech, audio-only)",
        "license": "CC BY-NC-SA 4.0",
        "homepage": "https://zenodo.org/records/1188976",
        "citation": "Livingstone SR, Russo FA (2018). The Ryerson Audio-Visual Database of Emotional Speech and Song "
        "(RAVDESS). PLoS ONE 13(5): e0196391.",
    },
    "crema_d": {
        "name": "CREMA-D",
        "license": "ODbL 1.0 (contents DbCL 1.0)",
        "homepage": "https://github.com/CheyneyComputerScience/CREMA-D",
        "citation": "Cao H, Cooper DG, Keutmann MK, Gur RC, Nenkova A, Verma R (2014). CREMA-D: Crowd-sourced "
        "Emotional Multimodal Actors Dataset. IEEE Trans. Affective Computing 5(4): 377-390.",
    },
    "tess": {
        "name": "TESS",
        "license": "CC BY-NC-ND 4.0",
        "homepage": "https://doi.org/10.5683/SP2/E8H2MF",
        "citation": "Pichora-Fuller MK, Dupuis K (2020). Toronto emotional speech set (TESS). Borealis, V1.",
    },
    "savee": {
        "name": "SAVEE",
        "license": "no public licence text; registration required (research use)",
        "homepage": "http://kahlan.eps.surrey.ac.uk/savee/",
        "citation": "Haq S, Jackson PJB (2010). Multimodal Emotion Recognition. In W. Wang (ed), Machine Audition: "
        "Principles, Algorithms and Systems, IGI Global, 398-423.",
    },
}
