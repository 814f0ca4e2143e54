"""The label layer: canonical emotion names, the alias table that maps the spellings in the wild onto them, explicit
many-to-one maps (presets and a user's ``--label_map``), and each corpus's code -> emotion map.

Every model and dataset keeps its own label set; names meet only where two label sets meet (scoring a model on
another dataset, warm-starting a head, merging corpora), and there through :func:`label_set`: a lookup, never a guess.
A name that is not in the table stays itself and is reported as unknown."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CANONICAL_EMOTIONS",
    "LABEL_MAP_PRESETS",
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
    "LabelAlignment",
    "LabelMapError",
    "LabelSet",
    "align_labels",
    "canonical_emotion",
    "is_generic_label",
    "label_set",
    "merged_labels",
    "model_labels",
    "parse_label_map",
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

# The paper's eight, then the other classes popular SER corpora and checkpoints use (MSP-Podcast, IEMOCAP, EmoDB).
CANONICAL_EMOTIONS: tuple[str, ...] = (*EMOTIONS, "contempt", "boredom", "excited", "frustrated", "other", "unknown")
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "angry": ("ang", "anger", "angry", "angered"),
    "calm": ("cal", "calm", "calmness"),
    "disgust": ("dis", "disgust", "disgusted"),
    "fear": ("fea", "fear", "fearful", "afraid", "scared"),
    "happy": ("hap", "happy", "happiness", "joy", "joyful"),
    "neutral": ("neu", "neutral", "neutrality"),
    "sad": ("sad", "sadness"),
    "surprise": (
        "sur",
        "surprise",
        "surprised",
        "suprise",
        "suprised",
        "ps",
        "pleasant_surprise",
        "pleasant_surprised",
        "pleasantly_surprised",
    ),  # fmt: skip
    "contempt": ("con", "contempt"),
    "boredom": ("bor", "boredom", "bored"),
    "excited": ("exc", "excited", "excitement"),
    "frustrated": ("fru", "frustrated", "frustration"),
    "other": ("oth", "other", "others"),
    "unknown": ("unk", "unknown"),
}
ALIASES: dict[str, str] = {spelling: name for name, spellings in _SPELLINGS.items() for spelling in spellings}
# Explicit many-to-one merges a user asks for by name (IEMOCAP's usual 4-class set folds excited into happy).
LABEL_MAP_PRESETS: dict[str, dict[str, str]] = {
    "iemocap4": {"excited": "happy"},
    "no_calm": {"calm": "neutral"},
}
_GENERIC = re.compile(r"label_?\d+")
_TAG = re.compile(r"<\|?\s*([^<>|]*?)\s*\|?>")  # <|HAPPY|>, <unk>
_PARTS = re.compile(r"[/|,;()\[\]（）、]+")


class LabelMapError(ValueError):
    """A ``--label_map`` that cannot be read; the message names the part that is wrong."""


def _key(name: str) -> str:
    s = _TAG.sub(r"\1", str(name)).strip().lower()
    return re.sub(r"[\s\-]+", "_", s).strip("_")


def is_generic_label(name: str) -> bool:
    """``LABEL_0`` and the like: a head whose config never named its classes."""
    return bool(_GENERIC.fullmatch(_key(name)))


def canonical_emotion(name: str) -> str | None:
    """The canonical name of one label as spelled in the wild, or None when the table does not know it.

    Case, whitespace, hyphens and ``<|TAG|>`` wrappers are ignored; a bilingual label (``生气/angry``) maps when its
    parts name exactly one emotion. Two parts naming different emotions are not guessed between."""
    key = _key(name)
    if key in ALIASES:
        return ALIASES[key]
    hits = {ALIASES[k] for k in (_key(part) for part in _PARTS.split(key)) if k in ALIASES}
    return hits.pop() if len(hits) == 1 else None


@dataclass(frozen=True)
class LabelSet:
    """A model's or a dataset's labels as they are (``names``, in id order) and what each one means
    (``canonical``: a canonical emotion, or the name itself where the table does not know it)."""

    names: tuple[str, ...]
    canonical: tuple[str, ...]
    unknown: tuple[str, ...]  # names neither the table nor the map knows (kept as themselves)
    generic: bool  # every name is LABEL_n and the map names none of them
    mapped: tuple[tuple[str, str], ...] = ()  # (name, canonical) pairs a preset or the user's map decided

    @property
    def duplicates(self) -> dict[str, list[str]]:
        """canonical -> names, where two or more names mean the same emotion."""
        return {c: [self.names[i] for i in ids] for c, ids in self.index().items() if len(ids) > 1}

    def index(self) -> dict[str, list[int]]:
        """canonical -> the ids carrying it, in id order (more than one where a map merges classes)."""
        out: dict[str, list[int]] = {}
        for i, canon in enumerate(self.canonical):
            out.setdefault(canon, []).append(i)
        return out


def label_set(names: Sequence[str] | Mapping[int, str], label_map: Mapping[str, str] | None = None) -> LabelSet:
    """Canonical meaning of each of ``names`` (a list in id order or an ``id2label`` dict), after ``label_map``.

    ``label_map`` keys are matched against a name as written, its normalised spelling and its canonical name (so
    ``excited=happy`` folds ``exc`` too); its values may be any spelling the table knows, or a new name."""
    if isinstance(names, Mapping):
        names = [names[k] for k in sorted(names, key=int)]
    names = tuple(str(n) for n in names)
    lookup = {_key(k): v for k, v in (label_map or {}).items()}
    canonical, unknown, mapped = [], [], []
    for name in names:
        canon = canonical_emotion(name)
        target = next((lookup[k] for k in (_key(name), canon) if k is not None and k in lookup), None)
        if target is not None:
            canon = canonical_emotion(target) or str(target).strip()
            mapped.append((name, canon))
        if canon is None:
            unknown.append(name)
            canon = name
        canonical.append(canon)
    generic = bool(names) and all(is_generic_label(n) for n in names) and not mapped
    return LabelSet(names, tuple(canonical), tuple(unknown), generic, tuple(mapped))


def model_labels(config) -> list[str]:
    """A model's labels in id order (its config's ``id2label``, whose keys JSON makes strings)."""
    id2label = {int(k): str(v) for k, v in (getattr(config, "id2label", None) or {}).items()}
    return [id2label[i] for i in sorted(id2label)]


def merged_labels(names: Sequence[str], label_map: Mapping[str, str] | None) -> tuple[list[str], dict[str, str]]:
    """(new label names, {old name: new name} for every name) after ``label_map``'s merges and renames.

    Only what the map names moves: a mapped name joins the first name the map left alone that means its target
    (``no_calm`` on the eight emotions: calm joins neutral, seven names), else becomes a class of the target's name
    (shared by every mapped name with that target). Names the map leaves alone stay classes of their own, synonyms
    or not. Without a map, or with one that names none of ``names``, the names are as they were."""
    names = [str(n) for n in names]
    ls = label_set(names, label_map)
    mapped = dict(ls.mapped)
    if not mapped:
        return names, {n: n for n in names}
    kept = {}  # meaning -> the first name the map left alone that has it
    for name, meaning in zip(names, ls.canonical, strict=True):
        if name not in mapped:
            kept.setdefault(meaning, name)
    to = {n: n if n not in mapped else kept.get(mapped[n], mapped[n]) for n in names}
    # each class where its name stood, a new one where its first member stood
    first = {}
    for i, n in enumerate(names):
        first.setdefault(to[n], names.index(to[n]) if to[n] in names and to[n] not in mapped else i)
    return sorted(first, key=first.get), to


@dataclass(frozen=True)
class LabelAlignment:
    """Where a dataset's labels and a model's outputs meet: the meanings both have, in the dataset's order, with the
    dataset ids and model columns carrying each (more than one where a map merges classes), and what each side has
    that the other does not."""

    names: tuple[str, ...]  # what a shared meaning is called in reports: the dataset's name, or the canonical one
    meanings: tuple[str, ...]
    dataset_ids: tuple[tuple[int, ...], ...]
    model_columns: tuple[tuple[int, ...], ...]
    dataset_only: tuple[str, ...]  # dataset labels the model cannot predict: their clips are left out
    model_only: tuple[str, ...]  # model outputs no dataset label means: dropped before the argmax

    @property
    def is_identity(self) -> bool:
        """The model's outputs are the dataset's labels, one to one, in the same order."""
        n = len(self.names)
        return (not self.dataset_only and not self.model_only and self.dataset_ids == tuple((i,) for i in range(n))
                and self.model_columns == self.dataset_ids)  # fmt: skip

    def dataset_lookup(self) -> dict[int, int]:
        """dataset label id -> index of its shared meaning (ids of left-out labels are absent)."""
        return {d: k for k, ids in enumerate(self.dataset_ids) for d in ids}


def align_labels(dataset_labels: Sequence[str], model_labels: Sequence[str] | Mapping[int, str],
                 label_map: Mapping[str, str] | None = None) -> LabelAlignment:  # fmt: skip
    """Match a dataset's label names with a model's ``id2label`` through the label layer (aliases, then ``label_map``).

    Names that the table does not know match only when they are spelled the same; ``LABEL_n`` never matches."""
    ds, md = label_set(dataset_labels, label_map), label_set(model_labels, label_map)
    classes, to = merged_labels(ds.names, label_map)  # the dataset's classes as a run would train on them
    meaning_of = {to[n]: m for n, m in zip(ds.names, ds.canonical, strict=True)}
    md_index = md.index()
    groups: dict[str, list[str]] = {}  # meaning -> the classes carrying it (synonyms the map left alone: several)
    for cls in classes:
        groups.setdefault(meaning_of[cls], []).append(cls)
    names, meanings, ds_ids, md_cols = [], [], [], []
    for meaning, members in groups.items():
        if meaning in md_index and not is_generic_label(meaning):
            names.append(members[0])
            meanings.append(meaning)
            ds_ids.append(tuple(i for i, n in enumerate(ds.names) if meaning_of[to[n]] == meaning))
            md_cols.append(tuple(md_index[meaning]))
    shared = set(meanings)
    return LabelAlignment(
        names=tuple(names),
        meanings=tuple(meanings),
        dataset_ids=tuple(ds_ids),
        model_columns=tuple(md_cols),
        dataset_only=tuple(n for n, c in zip(ds.names, ds.canonical, strict=True) if c not in shared),
        model_only=tuple(n for n, c in zip(md.names, md.canonical, strict=True) if c not in shared),
    )


def parse_label_map(spec: str | Mapping[str, str] | Iterable[str] | None, flag: str = "--label_map") -> dict[str, str]:
    """``{name: target}`` from presets, ``a=b`` pairs and YAML/JSON files, comma-separated or as a list.

    ``iemocap4,fru=other`` and ``maps.yaml`` (a mapping) are both fine; later entries win."""
    if spec is None or spec == "":
        return {}
    if isinstance(spec, Mapping):
        return {str(k): str(v) for k, v in spec.items()}
    parts = [p.strip() for p in spec.split(",")] if isinstance(spec, str) else [str(p).strip() for p in spec]
    out: dict[str, str] = {}
    for part in filter(None, parts):
        if part in LABEL_MAP_PRESETS:
            out.update(LABEL_MAP_PRESETS[part])
        elif "=" in part:
            key, _, value = (s.strip() for s in part.partition("="))
            if not key or not value:
                raise LabelMapError(f"{flag}: {part!r} is not a name=target pair")
            out[key] = value
        elif Path(part).expanduser().is_file():
            out.update(_read_map_file(Path(part).expanduser(), flag))
        else:
            raise LabelMapError(
                f"{flag}: {part!r} is neither a preset ({', '.join(LABEL_MAP_PRESETS)}), a name=target pair nor "
                "a YAML/JSON file"
            )
    return out


def _read_map_file(path: Path, flag: str) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as err:  # noqa: BLE001 - yaml and json raise their own error types
        raise LabelMapError(f"{flag} {path}: not valid {path.suffix.lstrip('.') or 'YAML'} ({err})") from err
    if not isinstance(data, dict) or not all(isinstance(v, str | int) for v in data.values()):
        raise LabelMapError(f"{flag} {path}: expected a mapping of label names to target names")
    return {str(k): str(v) for k, v in data.items()}
