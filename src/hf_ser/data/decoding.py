"""Decoding a build's audio in parallel: every file (or dataset-embedded clip) read, checked, downmixed and resampled
to 16 kHz once, in spawned worker processes, with Ctrl-C and SIGTERM handled between results."""

from __future__ import annotations

import multiprocessing as mp
import signal
import threading
from contextlib import contextmanager

from tqdm.auto import tqdm

from hf_ser.audio import SAMPLING_RATE, AudioCheckError, decode_audio_bytes, decode_file, encode_wav

__all__ = ["decode_all", "interrupts_at_safe_points"]


def _decode_worker(source: str | bytes) -> tuple[bool, object]:
    try:
        clip = decode_audio_bytes(source) if isinstance(source, bytes) else decode_file(source)
    except AudioCheckError as err:
        return False, str(err)
    return True, (encode_wav(clip.array), clip.sha1, len(clip.array) / SAMPLING_RATE, clip.original_sampling_rate)


def _quiet_worker() -> None:
    # Ctrl-C and SIGTERM are the parent's to handle (it cleans up and terminates the pool); a worker that also
    # raised would print a KeyboardInterrupt or BrokenPipeError traceback per process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def decode_all(utterances, num_proc: int) -> list[tuple[bool, object]]:
    """Per utterance, (True, (wav bytes, sha1, seconds, original rate)) or (False, why it is unusable), in order."""
    paths = [u.data if u.data is not None else u.path for u in utterances]
    bar = dict(total=len(paths), desc="Decoding + resampling to 16 kHz", unit="file")
    if num_proc == 1:
        return [_decode_worker(p) for p in tqdm(paths, **bar)]
    # spawn, not fork: the parent may hold torch/threads, and fork after threads is unsafe.
    ctx = mp.get_context("spawn")
    with interrupts_at_safe_points() as stopped, ctx.Pool(num_proc, initializer=_quiet_worker) as pool:
        chunk = max(1, min(64, len(paths) // (num_proc * 8)))
        out = []
        for result in tqdm(pool.imap(_decode_worker, paths, chunksize=chunk), **bar):
            out.append(result)
            if stopped:
                raise KeyboardInterrupt(stopped[0])
        return out


@contextmanager
def interrupts_at_safe_points():
    """Ctrl-C and SIGTERM while the pool runs are noted, then raised between results: an exception raised by a signal
    handler inside multiprocessing's own code can leave one of its locks held, and terminating the pool then hangs."""
    stopped: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in signals}
    for s in signals:
        signal.signal(s, lambda signum, frame: stopped.append(signal.Signals(signum).name))
    try:
        yield stopped
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stopped:
        raise KeyboardInterrupt(stopped[0])
