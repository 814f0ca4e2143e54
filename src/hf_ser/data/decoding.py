"""Decoding a build's audio in parallel: every file (or dataset-embedded clip) read, checked, downmixed and resampled
to 16 kHz once, in spawned worker processes, with Ctrl-C and SIGTERM handled between results. Each result goes to the
build's :class:`~hf_ser.data.decode_cache.DecodeCache` as it arrives (in whatever order the workers finish), so the
parent holds one clip at a time, and what an earlier, interrupted run decoded is not decoded again."""

from __future__ import annotations

import multiprocessing as mp
import signal
import threading
from contextlib import contextmanager

from tqdm.auto import tqdm

from hf_ser.audio import SAMPLING_RATE, AudioCheckError, decode_audio_bytes, decode_file, encode_wav
from hf_ser.data.decode_cache import DecodeCache, clip_key

__all__ = ["decode_into", "interrupts_at_safe_points"]


def _decode_worker(job: tuple[str, str | bytes]) -> tuple[str, bool, object]:
    key, source = job
    try:
        clip = decode_audio_bytes(source) if isinstance(source, bytes) else decode_file(source)
    except AudioCheckError as err:
        return key, False, str(err)
    return key, True, (encode_wav(clip.array), clip.sha1, len(clip.array) / SAMPLING_RATE, clip.original_sampling_rate)


def _quiet_worker() -> None:
    # Ctrl-C and SIGTERM are the parent's to handle (it cleans up and terminates the pool); a worker that also
    # raised would print a KeyboardInterrupt or BrokenPipeError traceback per process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def decode_into(cache: DecodeCache, utterances, num_proc: int) -> list[dict]:
    """Per utterance, in order, its cache entry: ``ok`` with where its WAV lies, its sha1, seconds and original rate,
    or ``ok: False`` with why it is unusable. Only clips the cache does not hold yet are decoded."""
    keys = [clip_key(u) for u in utterances]
    todo = {}
    for k, u in zip(keys, utterances, strict=True):
        if k not in cache.entries:
            todo.setdefault(k, u.data if u.data is not None else u.path)
    bar = dict(total=len(keys), initial=len(keys) - len(todo), desc="Decoding + resampling to 16 kHz", unit="file")
    jobs = list(todo.items())
    if num_proc == 1 or len(jobs) <= 1:
        with tqdm(**bar) as progress:
            for job in jobs:
                cache.add(*_decode_worker(job))
                progress.update(1)
        return [cache.entries[k] for k in keys]
    # spawn, not fork: the parent may hold torch/threads, and fork after threads is unsafe.
    ctx = mp.get_context("spawn")
    with interrupts_at_safe_points() as stopped, ctx.Pool(num_proc, initializer=_quiet_worker) as pool:
        chunk = max(1, min(64, len(jobs) // (num_proc * 8)))
        with tqdm(**bar) as progress:
            for result in pool.imap_unordered(_decode_worker, jobs, chunksize=chunk):
                cache.add(*result)
                progress.update(1)
                if stopped:
                    raise KeyboardInterrupt(stopped[0])
    return [cache.entries[k] for k in keys]


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
