"""What hf-ser knows about each corpus beyond the paper's four: its language, licence, citation and label codes.

A corpus here is read by its own scanner (``dataset_scripts/build.py --corpus NAME=DIR``) into the same records as the
four: label (canonical name of the label layer), the corpus's own code as ``raw_label``, speaker, gender, text,
language. Facts the corpus's documentation does not state are said to be unstated in ``notes`` (and so in the
dataset card), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hf_ser.data.corpora.base import ANY_AUDIO, ScanResult, Utterance, scan_tree

__all__ = ["CorpusInfo"]


@dataclass(frozen=True)
class CorpusInfo:
    name: str  # the build's corpus name (--corpus NAME=DIR)
    display: str
    language: str  # BCP-47
    licence: str  # SPDX id where the corpus states one; "other" when its own terms apply (see licence_note)
    licence_note: str
    homepage: str
    citation: str
    grammar: str  # the file names it reads, for --help and the card
    labels: dict[str, str]  # the corpus's own label code -> canonical emotion name
    speakers: int | None = None  # as documented
    notes: tuple[str, ...] = field(default_factory=tuple)  # what the documentation leaves open, and quirks handled

    @property
    def label_set(self) -> list[str]:
        return list(dict.fromkeys(self.labels.values()))

    def scan(self, root, parse) -> ScanResult:
        """``root`` walked by ``parse(path, root)``, audio in any container (the scanners of name grammars)."""
        return scan_tree(self.name, root, parse, display_name=self.display, extensions=ANY_AUDIO)

    def utterance(self, path: Path, root: Path, code: str, speaker: str, gender: str, *, text: str | None = None,
                  intensity: str | None = None) -> Utterance:  # fmt: skip
        """The record of one file: label from the corpus's code, speaker prefixed with the corpus."""
        return Utterance(corpus=self.name, emotion=self.labels[code], speaker=f"{self.name}_{speaker}",
                         gender=gender, text=text, intensity=intensity, path=str(path),
                         file=path.relative_to(root).as_posix(), key=path.stem.lower(), language=self.language,
                         raw_label=code)  # fmt: skip
