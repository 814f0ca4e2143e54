"""Decoding a build's audio in parallel: every file (or dataset-embedded clip) read, checked, downmixed and resampled
to 16 kHz once, in spawned worker processes, with Ctrl-C and SIGTERM handled between results. Each result goes to the
build's :class:`~hf_ser.data.decode_cache.DecodeCache` as it arrives (in whatever order the workers finish), so the
parent holds one clip at a time, and what an earlier, interrupted run decoded is not decoded again."""

from __future__ import annotations

import multiprocessing as mp
import signal
import threading
from array import array
from contextlib import contextmanager

from tqdm.auto import tqdm

from hf_ser.audio import SAMPLING_RATE, AudioCheckError, decode_audio_bytes, decode_file, encode_wav
from hf_ser.data.decode_cache import DecodeCache, Entry, clip_key

__all__ = ["Decoded", "decode_into", "interrupts_at_safe_points"]


class Decoded:
    """Per utterance, in input order, what decoding found: where its WAV lies in the cache, its SHA-1, seconds and
    original rate, or why it is unusable. Columns of machine numbers (some 60 bytes a clip), not a dict per clip:
    this is held for the whole corpus until its rows are made."""

    def __init__(self, n: int):
        self.offset = array("q", bytes(8 * n))
        self.length = array("q", bytes(8 * n))
        self.duration = array("d", bytes(8 * n))
        self.orig_sr = array("l", bytes(array("l").itemsize * n))
        self.sha1 = bytearray(20 * n)
        self.reason: dict[int, str] = {}  # position -> why that clip is unusable
        self._set = bytearray(n)

    def __len__(self) -> int:
        return len(self._set)

    def put(self, i: int, entry: Entry) -> None:
        if isinstance(entry, str):
            self.reason[i] = entry
        else:
            self.offset[i], self.length[i], sha1, self.duration[i], self.orig_sr[i] = entry
            self.sha1[20 * i : 20 * i + 20] = bytes.fromhex(sha1)
        self._set[i] = 1

    def ok(self, i: int) -> bool:
        return i not in self.reason

    def sha1_of(self, i: int) -> bytes:
        return bytes(self.sha1[20 * i : 20 * i + 20])

    def missing(self) -> int:
        return len(self._set) - sum(self._set)


def _decode_worker(job: tuple[int, str, str | bytes]) -> tuple[int, str, bool, object]:
    i, key, source = job
    try:
        clip = decode_audio_bytes(source) if isinstance(source, bytes) else decode_file(source)
    except AudioCheckError as err:
        return i, key, False, str(err)
    return i, key, True, (encode_wav(clip.array), clip.sha1, len(clip.array) / SAMPLING_RATE,
                          clip.original_sampling_rate)  # fmt: skip


def _quiet_worker() -> None:
    # Ctrl-C and SIGTERM are the parent's to handle (it cleans up and terminates the pool); a worker that also
    # raised would print a KeyboardInterrupt or BrokenPipeError traceback per process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def decode_into(cache: DecodeCache, utterances, num_proc: int) -> Decoded:
    """Every utterance decoded into the cache (those an earlier run left there are read back, not decoded again);
    returns where each one's audio lies, or why it is unusable. Nothing per clip is held but the result: the jobs
    are made as the workers take them."""
    out = Decoded(len(utterances))
    todo = array("q")
    for i, u in enumerate(utterances):
        entry = cache.lookup(clip_key(u)) if cache.entries else None
        if entry is None:
            todo.append(i)
        else:
            out.put(i, entry)
    cache.forget_entries()

    def jobs():
        for i in todo:
            u = utterances[i]
            yield i, clip_key(u), u.data if u.data is not None else u.path

    bar = dict(total=len(out), initial=len(out) - len(todo), desc="Decoding + resampling to 16 kHz", unit="file")
    if num_proc == 1 or len(todo) <= 1:
        with tqdm(**bar) as progress:
            for job in jobs():
                i, *result = _decode_worker(job)
                out.put(i, cache.add(*result))
                progress.update(1)
        return out
    # spawn, not fork: the parent may hold torch/threads, and fork after threads is unsafe.
    ctx = mp.get_context("spawn")
    with interrupts_at_safe_points() as stopped, ctx.Pool(num_proc, initializer=_quiet_worker) as pool:
        chunk = max(1, min(64, len(todo) // (num_proc * 8)))
        with tqdm(**bar) as progress:
            for i, *result in pool.imap_unordered(_decode_worker, jobs(), chunksize=chunk):
                out.put(i, cache.add(*result))
                progress.update(1)
                if stopped:
                    raise KeyboardInterrupt(stopped[0])
    if out.missing():  # a worker's result lost: never build on a hole
        raise RuntimeError(f"{out.missing()} clips came back from no decoding worker")
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
