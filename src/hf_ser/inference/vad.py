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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

__all__ = ["FRAME", "SpeechDetector", "VadConfig", "plan_segments", "speech_spans"]

FRAME = 512  # samples per silero-vad frame at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous frame silero-vad sees before each frame at 16 kHz
RATE = 16_000
K = TypeVar("K")


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
            import torch

            threads = torch.get_num_threads()
            try:
                from silero_vad import load_silero_vad
            except ImportError as err:  # pragma: no cover - a dependency of hf-ser
                raise RuntimeError("--segment vad needs silero-vad: pip install silero-vad") from err
            finally:
                # silero_vad.model runs torch.set_num_threads(1) on import: every torch model in the process (the
                # SER model of --backend torch) would run on one core from then on
                torch.set_num_threads(threads)
            cls._model = load_silero_vad(onnx=True)
        return cls._model

    def frame_probs(self, chunks: Iterable[np.ndarray]) -> tuple[np.ndarray, int]:
        """(one speech probability per 512-sample frame, the recording's length in samples)."""
        ((_, result),) = self.frame_probs_many([(None, lambda: chunks)], lanes=1)
        if isinstance(result, BaseException):
            raise result
        return result

    def frame_probs_many(self, sources: Iterable[tuple[K, Callable[[], Iterable[np.ndarray]]]], *,
                         lanes: int = 8) -> Iterator[tuple[K, tuple[np.ndarray, int] | Exception]]:  # fmt: skip
        """Frame probabilities of many recordings, ``lanes`` of them at a time in one batched ONNX call per frame.

        silero-vad is a recurrent model fed 32 ms at a time: one recording is a chain of small calls, and most of
        their time is the call itself. Its ONNX graph takes a batch with one recurrent state per row, so each lane
        carries its own recording, and a lane whose recording ends takes the next one (state and context cleared):
        every recording gets exactly the frames and state it would get alone (``tests/test_segments.py``), at a
        third of the time per frame with 8 lanes (benchmarks/results/cpu_archive.md). ``sources`` are (key, a
        function returning the recording's chunk iterator); results come back in the order of ``sources``, as
        (key, (probs, samples)) or (key, the exception its decoding raised)."""
        session = self.model().session
        rate = np.array(RATE, dtype=np.int64)
        pending = iter(sources)
        order: list[K] = []
        done: dict[int, tuple[np.ndarray, int] | Exception] = {}
        active: list[_Lane] = []
        state = np.zeros((2, 0, 128), dtype=np.float32)
        emitted = 0
        exhausted = False
        while True:
            while not exhausted and len(active) < lanes:
                try:
                    key, open_chunks = next(pending)
                except StopIteration:
                    exhausted = True
                    break
                order.append(key)
                lane = _Lane(len(order) - 1, open_chunks)
                if lane.error is not None or lane.finished:
                    done[lane.index] = lane.result()
                    continue
                active.append(lane)
                state = np.concatenate([state, np.zeros((2, 1, 128), np.float32)], axis=1)
            while emitted in done:  # in the order of sources, as soon as each is known
                yield order[emitted], done.pop(emitted)
                emitted += 1
            if not active:
                if exhausted:
                    return
                continue
            frames = np.stack([lane.next_frame() for lane in active])
            probs, state = session.run(None, {"input": frames, "state": state, "sr": rate})
            keep = []
            for row, lane in enumerate(active):
                lane.probs.append(float(probs[row, 0]))
                if lane.finished or lane.error is not None:
                    done[lane.index] = lane.result()
                else:
                    keep.append(row)
            if len(keep) < len(active):
                active = [active[r] for r in keep]
                state = np.ascontiguousarray(state[:, keep])


class _Lane:
    """One recording on its way through the VAD: its stream, the samples not yet framed, its probabilities."""

    def __init__(self, index: int, open_chunks: Callable[[], Iterable[np.ndarray]]):
        self.index, self.probs, self.total, self.error = index, [], 0, None
        self.buf = np.zeros(0, dtype=np.float32)
        self.context = np.zeros(CONTEXT, dtype=np.float32)
        self.finished = False
        try:
            self.chunks = iter(open_chunks())
        except Exception as err:  # noqa: BLE001 - returned to the caller with its recording, not raised here
            self.error = err
            return
        self._fill()
        if not len(self.buf) and self.error is None:
            self.finished = True

    def _fill(self) -> None:
        """Read chunks until a whole frame is buffered or the stream ends."""
        while len(self.buf) < FRAME:
            try:
                chunk = next(self.chunks)
            except StopIteration:
                self.chunks = iter(())
                return
            except Exception as err:  # noqa: BLE001 - decoding errors belong to this recording only
                self.error = err
                return
            self.total += len(chunk)
            self.buf = np.concatenate([self.buf, chunk.astype(np.float32, copy=False)])

    def next_frame(self) -> np.ndarray:
        """The next 64 + 512 samples (context + frame; the last partial frame zero-padded), as silero's wrapper."""
        frame = self.buf[:FRAME]
        if len(frame) < FRAME:
            frame = np.pad(frame, (0, FRAME - len(frame)))
        self.buf = self.buf[FRAME:]
        out = np.concatenate([self.context, frame])
        self.context = out[-CONTEXT:]
        self._fill()
        self.finished = not len(self.buf) and self.error is None
        return out

    def result(self) -> tuple[np.ndarray, int] | Exception:
        if self.error is not None:
            return self.error
        return np.asarray(self.probs, dtype=np.float32), self.total


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
