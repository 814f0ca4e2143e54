"""What every scanner shares: the Utterance record, the skipped report, a recursive case-insensitive file walk."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ANY_AUDIO",
    "AUDIO_EXTENSIONS",
    "CorpusError",
    "ScanResult",
    "Skipped",
    "UnparseableName",
    "Utterance",
    "corpus_folder",
    "scan_tree",
]

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".flac")
# What copies of the other corpora circulate as (converted releases, Kaggle mirrors, MEAD's m4a).
ANY_AUDIO = (*AUDIO_EXTENSIONS, ".mp3", ".m4a", ".ogg", ".opus", ".aac")
# Folders that zips and tools leave behind; never part of a corpus.
_IGNORED_DIRS = {"__macosx", ".git", ".ipynb_checkpoints", ".trash"}
_LFS_MAGIC = b"version https://git-lfs.github.com/spec"


class CorpusError(ValueError):
    """A corpus folder that cannot be used at all (missing, empty, only Git LFS pointers)."""


class UnparseableName(ValueError):
    """A file name that does not follow the corpus's grammar; the message says which part is wrong."""


# The fields a corpus repeats (a few labels, speakers, genders): one string object each, however many clips name them.
_SHARED_FIELDS = ("corpus", "emotion", "speaker", "gender", "intensity", "given", "language", "raw_label")


@dataclass(frozen=True, slots=True)
class Utterance:
    corpus: str
    emotion: str
    speaker: str | None  # None: the data names no speaker (a manifest without a speaker column)
    gender: str
    text: str | None
    intensity: str | None
    path: str  # absolute
    file: str  # relative to the corpus root, POSIX separators
    key: str  # identity inside the corpus: two files with one key are the same recording
    # What a user's manifest or dataset may add (hf_ser.data.sources); the four scanners leave them unset.
    given: str | None = None  # the split the data itself puts the clip in
    language: str | None = None
    raw_label: str | None = None  # the label as the data spells it, before a label file or map renamed it
    data: bytes | None = None  # the file's bytes, where the audio lives inside a dataset rather than in a file
    extra: tuple[tuple[str, str | None], ...] = ()  # further scalar columns of the user's data, as strings

    def __post_init__(self):
        # Slots and shared strings: a corpus of 100,000 clips is 100,000 of these, held through the whole scan.
        for name in _SHARED_FIELDS:
            value = getattr(self, name)
            if type(value) is str:
                object.__setattr__(self, name, sys.intern(value))


@dataclass(frozen=True)
class Skipped:
    corpus: str
    file: str
    reason: str


@dataclass
class ScanResult:
    corpus: str
    root: str
    utterances: list[Utterance] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    ignored_non_audio: int = 0
    # What release() keeps of the records: clips per label, how many, whether the data gave a validation split.
    released: tuple[dict[str, int], int, bool] | None = None

    def counts(self) -> dict[str, int]:
        if self.released is not None:
            return dict(self.released[0])
        out: dict[str, int] = {}
        for u in self.utterances:
            out[u.emotion] = out.get(u.emotion, 0) + 1
        return out

    @property
    def n_utterances(self) -> int:
        return self.released[1] if self.released is not None else len(self.utterances)

    @property
    def gives_validation(self) -> bool:
        return self.released[2] if self.released is not None else any(u.given == "validation" for u in self.utterances)

    def release(self) -> None:
        """Drop the records, keeping what a build's card reads of them: a build's rows hold their own copy, and a
        corpus's worth of records twice over is what made its memory grow with the corpus."""
        if self.released is None:
            self.released = (self.counts(), len(self.utterances), self.gives_validation)
        self.utterances = []


def _lossless(file: str) -> bool:
    return file.lower().endswith(AUDIO_EXTENSIONS)


def _walk(root: Path) -> Iterator[Path]:
    # Sorted walk: results (and which of two duplicates is kept) must not depend on the file system's order.
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d.lower() not in _IGNORED_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _is_lfs_pointer(path: Path, size: int) -> bool:
    if size > 1024:  # pointers are ~130 bytes; real audio never this small, so no read for normal files
        return False
    with open(path, "rb") as fh:
        return fh.read(len(_LFS_MAGIC)) == _LFS_MAGIC


def corpus_folder(root: str | os.PathLike, display_name: str) -> Path:
    """``root`` resolved, or CorpusError naming the corpus when it is not a folder."""
    path = Path(root).expanduser()
    if not path.exists():
        raise CorpusError(f"{display_name}: folder not found: {path}")
    if not path.is_dir():
        raise CorpusError(f"{display_name}: not a folder: {path}")
    return path.resolve()


def scan_tree(
    corpus: str,
    root: str | os.PathLike,
    parse: Callable[[Path, Path], Utterance],
    *,
    display_name: str,
    extensions: tuple[str, ...] = AUDIO_EXTENSIONS,
) -> ScanResult:
    """Walk ``root``, parse every audio file name with ``parse(path, root)`` and de-duplicate by ``Utterance.key``.

    Names that do not parse, song/video files, Git LFS pointers, empty files and second copies of a recording
    are put in ``ScanResult.skipped`` with the reason; files that are not audio are only counted.
    """
    root_path = corpus_folder(root, display_name)
    result = ScanResult(corpus=corpus, root=str(root_path))
    seen: dict[str, Utterance] = {}
    n_audio = n_lfs = 0
    for path in _walk(root_path):
        rel = path.relative_to(root_path).as_posix()
        if path.name.startswith("._"):  # AppleDouble metadata next to every file of a zip made on a Mac
            result.ignored_non_audio += 1
            continue
        if path.suffix.lower() not in extensions:
            result.ignored_non_audio += 1
            continue
        n_audio += 1
        size = path.stat().st_size
        if size == 0:
            result.skipped.append(Skipped(corpus, rel, "empty file (0 bytes)"))
            continue
        if _is_lfs_pointer(path, size):
            n_lfs += 1
            result.skipped.append(Skipped(corpus, rel, "Git LFS pointer, not audio"))
            continue
        try:
            utt = parse(path, root_path)
        except UnparseableName as err:
            result.skipped.append(Skipped(corpus, rel, str(err)))
            continue
        first = seen.get(utt.key)
        if first is not None and _lossless(rel) and not _lossless(first.file):  # keep the lossless copy
            result.skipped.append(Skipped(corpus, first.file, f"lossy copy of {rel}"))
            result.utterances[result.utterances.index(first)] = utt
            seen[utt.key] = utt
            continue
        if first is not None:
            result.skipped.append(Skipped(corpus, rel, f"duplicate of {first.file}"))
            continue
        seen[utt.key] = utt
        result.utterances.append(utt)
    if n_audio and n_lfs == n_audio:
        raise CorpusError(
            f"{display_name}: {root_path} holds {n_lfs} Git LFS pointer files, not audio (a clone or zip of the "
            "Git repository without LFS). Run `git lfs pull` in the clone, or download the corpus's audio release."
        )
    if not result.utterances:
        what = (f"{n_audio} audio file{'s' if n_audio != 1 else ''}, none with a {display_name} file name"
                if n_audio else "no audio files")  # fmt: skip
        raise CorpusError(f"{display_name}: no recognisable files in {root_path} ({what}).")
    logger.info(
        "%s: %d utterances, %d skipped, %d non-audio files ignored",
        display_name,
        len(result.utterances),
        len(result.skipped),
        result.ignored_non_audio,
    )
    return result
