"""Long recordings with known boundaries, mixed from labelled demo clips, and how well a segmentation finds them.

A recording is utterances (each a demo clip with its label) separated by pauses, with a music-like tone between
some of them (a vibrato chord: voiced, periodic, not speech) and a low noise floor under everything. The truth is
the list of stretches: ``(start, end, label)`` for speech, ``(start, end, None)`` for the rest. The scores:

- **boundary F1**: the starts and ends of speech regions found against the true ones, matched one to one within
  ``tolerance`` seconds (greedy, nearest first);
- **per-second accuracy**: at the centre of every second, the label the segmentation gives (``None`` in
  non-speech or silence) against the truth's, over all seconds and over the seconds of speech.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LongRecording", "boundary_f1", "mix_long_recording", "per_second_accuracy", "regions"]

RATE = 16_000


@dataclass
class LongRecording:
    audio: np.ndarray
    truth: list[tuple[float, float, str | None]]  # every stretch in order: speech with its label, or None

    @property
    def seconds(self) -> float:
        return len(self.audio) / RATE


def _tone(seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = rng.uniform(180, 440)
    vibrato = 1 + 0.01 * np.sin(2 * np.pi * 5.5 * t)
    chord = sum(np.sin(2 * np.pi * f0 * r * vibrato * t) / (k + 1) for k, r in enumerate((1.0, 1.25, 1.5, 2.0)))
    envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.05)
    return (0.15 * chord * envelope).astype(np.float32)


def mix_long_recording(clips: Sequence[tuple[np.ndarray, str]], *, seed: int = 0, pause=(0.4, 1.8),
                       tone_every: int = 3, tone_seconds=(1.0, 2.5), noise_dbfs: float = -60.0) -> LongRecording:  # fmt: skip
    """The clips (16 kHz float32 arrays with labels) in order, pauses between, a tone after every
    ``tone_every``-th clip, noise at ``noise_dbfs`` RMS over it all."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    truth: list[tuple[float, float, str | None]] = []
    cursor = 0

    def add(audio: np.ndarray, label: str | None) -> None:
        nonlocal cursor
        parts.append(audio.astype(np.float32, copy=False))
        truth.append((cursor / RATE, (cursor + len(audio)) / RATE, label))
        cursor += len(audio)

    add(np.zeros(int(rng.uniform(*pause) * RATE), np.float32), None)
    for i, (audio, label) in enumerate(clips):
        add(np.asarray(audio, np.float32), label)
        add(np.zeros(int(rng.uniform(*pause) * RATE), np.float32), None)
        if tone_every and (i + 1) % tone_every == 0:
            add(_tone(rng.uniform(*tone_seconds), rng), None)
            add(np.zeros(int(rng.uniform(*pause) * RATE), np.float32), None)
    audio = np.concatenate(parts)
    audio += (10 ** (noise_dbfs / 20) * rng.standard_normal(len(audio))).astype(np.float32)
    merged: list[tuple[float, float, str | None]] = []
    for a, b, label in truth:  # adjacent non-speech stretches (pause, tone, pause) are one
        if merged and label is None and merged[-1][2] is None:
            merged[-1] = (merged[-1][0], b, None)
        else:
            merged.append((a, b, label))
    return LongRecording(audio, merged)


def regions(stretches: Sequence[tuple[float, float, str | None]]) -> list[tuple[float, float]]:
    """Speech regions: runs of adjacent labelled stretches, joined."""
    out: list[list[float]] = []
    for a, b, label in stretches:
        if label is None:
            continue
        if out and abs(out[-1][1] - a) < 1e-6:
            out[-1][1] = b
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def boundary_f1(found: Sequence[tuple[float, float]], truth: Sequence[tuple[float, float]],
                tolerance: float = 0.25) -> dict:  # fmt: skip
    """Precision, recall and F1 of the regions' edges (starts and ends), matched one to one within ``tolerance``."""
    got = sorted(x for r in found for x in r)
    want = sorted(x for r in truth for x in r)
    pairs = sorted(
        (abs(g - w), i, j) for i, g in enumerate(got) for j, w in enumerate(want) if abs(g - w) <= tolerance
    )
    used_g, used_w = set(), set()
    for _, i, j in pairs:
        if i not in used_g and j not in used_w:
            used_g.add(i)
            used_w.add(j)
    hits = len(used_g)
    precision = hits / len(got) if got else 0.0
    recall = hits / len(want) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "found": len(got), "true": len(want)}


def _label_at(stretches: Sequence[tuple[float, float, str | None]], t: float) -> str | None:
    for a, b, label in stretches:
        if a <= t < b:
            return label
    return None


def per_second_accuracy(predicted: Sequence[tuple[float, float, str | None]],
                        truth: Sequence[tuple[float, float, str | None]], seconds: float) -> dict:  # fmt: skip
    """The share of seconds whose centre gets the true label (None = not speech): over all, and over speech."""
    centres = np.arange(int(seconds)) + 0.5
    pairs = [(_label_at(predicted, t), _label_at(truth, t)) for t in centres]
    speech = [(p, w) for p, w in pairs if w is not None]
    return {"all": float(np.mean([p == w for p, w in pairs])) if pairs else float("nan"),
            "speech": float(np.mean([p == w for p, w in speech])) if speech else float("nan"),
            "seconds": len(pairs), "speech_seconds": len(speech)}  # fmt: skip
