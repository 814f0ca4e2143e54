"""Speech segments of a long recording by a real voice-activity detector (silero-vad), for per-utterance emotions.

SER models are trained on utterances: a fixed window that straddles two utterances, music, a hold tone or a pause
gets a confident label of little meaning. Here silero-vad (the PyPI wheel ships the trained model; MIT; run through
ONNX Runtime on the CPU, offline) scores every 32 ms frame of a streamed recording, so memory does not grow with
its length: only the frame probabilities are kept (31 floats a second). The frames become segments:

1. speech starts where a frame's probability reaches ``threshold`` and ends where it falls below
   ``threshold - 0.15`` (hysteresis, as silero's own ``get_speech_timestamps``);
2. runs shorter than ``min_speech`` are blips, not speech; pauses shorter than ``min_gap`` are bridged;
3. each run is padded by ``pad`` on both sides (never past its neighbours or the recording);
4. a run longer than ``max_segment`` is split into equal windows no longer than it (the model's comfortable
   length: utterance-sized input, as in training); a run shorter than ``min_segment`` is kept and marked ``short``.

What is left between runs is ``non-speech``: reported with its times, never classified.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["FRAME", "SpeechDetector", "VadConfig", "plan_segments", "speech_spans"]

FRAME = 512  # samples per silero-vad frame at 16 kHz (32 ms)
RATE = 16_000


@dataclass(frozen=True)
class VadConfig:
    threshold: float = 0.5  # frame speech probability that starts speech
    min_gap: float = 0.3  # seconds: shorter pauses inside speech are bridged
    min_speech: float = 0.25  # seconds: shorter runs are blips (clicks, breaths), not speech
    pad: float = 0.3  # seconds of context on each side of a run (0.1 s: boundary F1 0.74, 0.3 s: 0.94, README)
    max_segment: float = 10.0  # seconds: longer runs are split into equal windows no longer than this
    min_segment: float = 0.5  # seconds: shorter runs are kept but marked "short" (too little for a label)

    def check(self) -> None:
        if not 0 < self.threshold < 1:
            raise ValueError(f"--vad_threshold {self.threshold}: must be in (0, 1)")
        for name in ("min_gap", "min_speech", "pad", "min_segment"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"--{name} {value}: must be >= 0 seconds")
        if not (math.isfinite(self.max_segment) and self.max_segment > 0):
            raise ValueError(f"--max_segment {self.max_segment}: must be > 0 seconds")


class SpeechDetector:
    """silero-vad's frame probabilities over a stream of 16 kHz chunks (the model is loaded once per process)."""

    _model = None

    @classmethod
    def model(cls):
        if cls._model is None:
            try:
                from silero_vad import load_silero_vad
            except ImportError as err:  # pragma: no cover - a dependency of hf-ser
                raise RuntimeError("--segment vad needs silero-vad: pip install silero-vad") from err
            cls._model = load_silero_vad(onnx=True)
        return cls._model

    def frame_probs(self, chunks: Iterable[np.ndarray]) -> tuple[np.ndarray, int]:
        """(one speech probability per 512-sample frame, the recording's length in samples)."""
        import torch

        model = self.model()
        model.reset_states()
        probs: list[float] = []
        carry = np.zeros(0, dtype=np.float32)
        total = 0
        for chunk in chunks:
            total += len(chunk)
            buf = np.concatenate([carry, chunk.astype(np.float32, copy=False)])
            whole = len(buf) // FRAME * FRAME
            for i in range(0, whole, FRAME):
                probs.append(float(model(torch.from_numpy(buf[i : i + FRAME]), RATE)))
            carry = buf[whole:]
        if len(carry):  # the last partial frame, zero-padded
            probs.append(float(model(torch.from_numpy(np.pad(carry, (0, FRAME - len(carry)))), RATE)))
        return np.asarray(probs, dtype=np.float32), total


def speech_spans(probs: np.ndarray, n_samples: int, cfg: VadConfig) -> list[tuple[int, int]]:
    """Speech runs [(start, end)] in samples from frame probabilities (steps 1-3 of the module docstring)."""
    off = max(cfg.threshold - 0.15, 0.01)
    runs: list[list[int]] = []
    start = None
    for k, p in enumerate(probs):
        if start is None and p >= cfg.threshold:
            start = k
        elif start is not None and p < off:
            runs.append([start * FRAME, k * FRAME])
            start = None
    if start is not None:
        runs.append([start * FRAME, len(probs) * FRAME])
    gap, shortest, pad = (round(x * RATE) for x in (cfg.min_gap, cfg.min_speech, cfg.pad))
    merged: list[list[int]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] < gap:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    kept = [r for r in merged if r[1] - r[0] >= shortest]
    spans = []
    for i, (a, b) in enumerate(kept):
        lo = max(0, a - pad, (kept[i - 1][1] + a) // 2 if i else 0)
        hi = min(n_samples, b + pad, (b + kept[i + 1][0]) // 2 if i + 1 < len(kept) else n_samples)
        if hi > lo:
            spans.append((int(lo), int(hi)))
    return spans


def plan_segments(spans: list[tuple[int, int]], n_samples: int, cfg: VadConfig) -> list[tuple[int, int, str]]:
    """Every stretch of the recording once, in order: ``speech`` segments (long runs split, step 4), ``short``
    ones, and the ``non-speech`` between them."""
    longest, shortest = round(cfg.max_segment * RATE), round(cfg.min_segment * RATE)
    plan: list[tuple[int, int, str]] = []
    cursor = 0
    for a, b in spans:
        if a > cursor:
            plan.append((cursor, a, "non-speech"))
        parts = max(1, math.ceil((b - a) / longest))
        edges = np.linspace(a, b, parts + 1).round().astype(int)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            plan.append((int(lo), int(hi), "short" if hi - lo < shortest else "speech"))
        cursor = b
    if cursor < n_samples:
        plan.append((cursor, n_samples, "non-speech"))
    return plan
