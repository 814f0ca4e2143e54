"""A build's row: one decoded clip's metadata, from decoding to the Parquet files.

A build holds every clip's row at once (protocols need the whole list of speakers and labels), so a row is slotted
and its repeated strings are shared: some 300 bytes a clip where a dict of the same fields took three times that
(at 100 hours of 4 s clips, the difference between a builder whose memory stays flat and one that grows with the
corpus). Rows read like the dicts they replace (``row["speaker"]``, ``row.get("extra")``), so the protocol code
takes either.
"""

from __future__ import annotations

from hf_ser.data.corpora import Utterance
from hf_ser.data.decoding import Decoded

__all__ = ["FIELDS", "Row", "rows_from"]

FIELDS = (
    "corpus", "emotion", "speaker", "gender", "text", "intensity", "file", "given", "language", "raw_label", "extra",
    "offset", "length", "sha1", "duration", "orig_sr",
)  # fmt: skip
_KNOWN = frozenset(FIELDS)
# What a row takes from its Utterance (``path``, ``key`` and ``data`` are the decoder's, not the dataset's).
_FROM_UTTERANCE = FIELDS[:11]


class Row:
    """One clip: the Utterance's fields, ``offset``/``length`` of its WAV in the decode cache, its 20-byte SHA-1,
    seconds and original sampling rate."""

    __slots__ = FIELDS

    def __init__(self, **values):
        for name in FIELDS:
            setattr(self, name, values.get(name))

    def __getitem__(self, name: str):
        if name not in _KNOWN:
            raise KeyError(name)
        return getattr(self, name)

    def __setitem__(self, name: str, value) -> None:
        if name not in _KNOWN:
            raise KeyError(name)
        setattr(self, name, value)

    def get(self, name: str, default=None):
        return getattr(self, name) if name in _KNOWN else default

    def __repr__(self) -> str:
        return f"Row({', '.join(f'{n}={getattr(self, n)!r}' for n in FIELDS)})"


def rows_from(utterances: list[Utterance | None], decoded: Decoded, skipped: list) -> list[Row]:
    """A row per decoded clip, in order; an unusable one goes to ``skipped`` with its reason. Each record is held once:
    an Utterance is dropped from ``utterances`` as its row is made. Texts are shared between rows that repeat one
    (CREMA-D's twelve sentences, RAVDESS's two)."""
    rows, texts = [], {}
    for i, u in enumerate(utterances):
        utterances[i] = None
        if not decoded.ok(i):
            skipped.append((u.corpus, u.file, "audio", decoded.reason[i]))
            continue
        row = Row(**{name: getattr(u, name) for name in _FROM_UTTERANCE})
        if row.text is not None:
            row.text = texts.setdefault(row.text, row.text)
        row.offset, row.length, row.sha1 = decoded.offset[i], decoded.length[i], decoded.sha1_of(i)
        row.duration, row.orig_sr = decoded.duration[i], decoded.orig_sr[i]
        rows.append(row)
    return rows
