"""Emotion over time: fixed windows over a (streamed) recording, silence marking, a whole-recording summary, a chart.

Window arithmetic, for a window of W and a hop of H samples (H <= W): windows start at 0, H, 2H, ... while they fit;
if the last of them ends before the recording does, one more window ends exactly at the end (so every sample is in a
window and every window has the same length). A recording no longer than W is one window: the whole recording.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "Window",
    "iter_windows",
    "is_silent",
    "plot_emotion_over_time",
    "summarise",
    "window_spans",
]

SILENCE_DBFS = -50.0  # RMS below this is silence (a quiet room's noise floor; speech sits at -30 to -10 dBFS)


@dataclass
class Window:
    start: int  # samples
    end: int
    audio: np.ndarray = field(repr=False)


def _check(window: float, hop: float) -> None:
    if not (window > 0 and hop > 0):
        raise ValueError(f"--window {window} and --hop {hop} must both be > 0")
    if hop > window:
        raise ValueError(f"--hop {hop} is longer than --window {window}: parts of the recording would be skipped")


def window_spans(n_samples: int, window: float, hop: float, rate: int = 16_000) -> list[tuple[int, int]]:
    """[(start, end)] in samples for a recording of ``n_samples`` (see the module docstring)."""
    _check(window, hop)
    w, h = max(1, round(window * rate)), max(1, round(hop * rate))
    if n_samples <= w:
        return [(0, n_samples)]
    spans = [(s, s + w) for s in range(0, n_samples - w + 1, h)]
    if spans[-1][1] < n_samples:
        spans.append((n_samples - w, n_samples))
    return spans


def iter_windows(chunks: Iterable[np.ndarray], window: float, hop: float, rate: int = 16_000) -> Iterator[Window]:
    """The windows of :func:`window_spans` over a stream of chunks, holding at most one window plus one chunk."""
    _check(window, hop)
    w, h = max(1, round(window * rate)), max(1, round(hop * rate))
    buf = np.zeros(0, dtype=np.float32)
    buf_start = 0  # sample index of buf[0]
    next_start = 0
    total = 0
    last_end = 0
    for chunk in chunks:
        buf = np.concatenate([buf, chunk.astype(np.float32, copy=False)])
        total += len(chunk)
        while next_start + w <= total:
            a = next_start - buf_start
            yield Window(next_start, next_start + w, buf[a : a + w].copy())
            last_end = next_start + w
            next_start += h
        # keep only what a later window (or the final aligned one) can still need: the last w samples
        keep_from = max(0, min(next_start, total - w) - buf_start)
        buf, buf_start = buf[keep_from:], buf_start + keep_from
    if total == 0:
        return
    if total <= w:
        yield Window(0, total, buf[-total:].copy())
    elif last_end < total:
        yield Window(total - w, total, buf[len(buf) - w :].copy())


def is_silent(audio: np.ndarray, threshold_dbfs: float = SILENCE_DBFS) -> bool:
    if audio.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return 20 * math.log10(max(rms, 1e-12)) < threshold_dbfs


def summarise(probs: np.ndarray, lengths: Sequence[int]) -> np.ndarray | None:
    """The recording's probabilities: windows' probabilities weighted by their length (None if no window counted)."""
    if len(probs) == 0:
        return None
    weights = np.asarray(lengths, dtype=np.float64)
    return (probs * weights[:, None]).sum(axis=0) / weights.sum()


def plot_emotion_over_time(times: Sequence[tuple[float, float]], probs: np.ndarray, labels: Sequence[str],
                           path: str | Path, *, title: str = "", silent: Sequence[bool] | None = None) -> Path:  # fmt: skip
    """Each label's probability at each window's (or segment's) centre, the top label as a coloured band, silence
    and non-speech greyed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = plt.get_cmap("tab10")
    centres = np.array([(a + b) / 2 for a, b in times])
    fig, (ax, band) = plt.subplots(2, 1, figsize=(10, 4.2), dpi=120, sharex=True,
                                   gridspec_kw={"height_ratios": [5, 1]})  # fmt: skip
    silent = list(silent) if silent is not None else [False] * len(times)
    # segments that tile the recording (VAD) are drawn over their whole span and keep their own edges; overlapping
    # windows are drawn at their centres and each owns the stretch nearest its centre, so the band shows one label
    # at a time
    tiles = len(times) > 1 and all(abs(a - b) < 1e-9 for (_, b), (a, _) in zip(times[:-1], times[1:], strict=True))
    for k, name in enumerate(labels):
        y = np.where(silent, np.nan, probs[:, k]) if len(probs) else np.array([])
        if tiles:
            xs = np.array([[a, b, b] for a, b in times]).ravel()
            ys = np.stack([y, y, np.full(len(y), np.nan)], axis=1).ravel()
            ax.plot(xs, ys, label=name, color=colors(k), lw=2.0)
        else:
            ax.plot(centres, y, label=name, color=colors(k), lw=1.6, marker="o" if len(times) < 40 else None, ms=3)
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability")
    ax.legend(ncol=4, fontsize=8, loc="upper right", frameon=False)
    ax.grid(alpha=0.3)
    if tiles:
        edges = [t[0] for t in times] + [times[-1][1]]
    else:
        edges = [times[0][0], *((centres[:-1] + centres[1:]) / 2).tolist(), times[-1][1]] if len(times) else []
    for k, (s, p) in enumerate(zip(silent, probs if len(probs) else [None] * len(times), strict=True)):
        band.axvspan(edges[k], edges[k + 1], color="0.85" if s else colors(int(np.argmax(p))), alpha=1.0 if s else 0.9)
    band.set_yticks([])
    band.set_ylabel("top", rotation=0, ha="right", va="center")
    band.set_xlabel("time (s)")
    from hf_ser.outputs import save_figure

    return save_figure(fig, ax, path, title)
