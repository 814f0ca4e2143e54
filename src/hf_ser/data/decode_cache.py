"""A build's decoded audio, on disk instead of in memory, kept across an interruption.

Each clip's 16 kHz WAV is appended to ``audio.bin`` as its worker returns it, and one JSON line in ``index.jsonl``
says where it lies (or why the file is unusable). The build holds only those lines, so its memory does not grow with
the corpus, and writes the Parquet blocks from the file afterwards. The folder sits beside the output
(``.<output>.decoded``); a build that finishes deletes it, one that is interrupted leaves it, and the next run of a
build into the same output decodes only the files it does not already hold.

A clip is known by its file's absolute path, size and modification time (or, for audio embedded in a dataset, the
SHA-1 of its bytes), so a file edited since is decoded again. A torn last line or a WAV past the end of
``audio.bin`` (a kill mid-write) is read as not decoded. One build at a time holds the folder (an ``flock``).

In memory the cache holds only what an earlier run left (:attr:`DecodeCache.entries`, by a 16-byte digest of the
key, each entry a tuple); what this run decodes goes to the caller, who keeps it in columns
(:class:`hf_ser.data.decoding.Decoded`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

from hf_ser.audio import SAMPLING_RATE
from hf_ser.data.staging import BuildError

__all__ = ["DecodeCache", "Entry", "cache_folder", "clip_key", "key_digest"]

# A decoded clip: (offset, length, sha1 hex, seconds, original rate) of its WAV in audio.bin; an unusable one: why.
Entry = tuple[int, int, str, float, int] | str

FORMAT = {"format": "hf-ser decode cache", "version": 1, "sampling_rate": SAMPLING_RATE}


def key_digest(key: str) -> bytes:
    """A clip key as the in-memory index holds it (16 bytes, not a path of a hundred)."""
    return hashlib.blake2b(key.encode(), digest_size=16).digest()


def cache_folder(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}.decoded"


def clip_key(utterance) -> str:
    """What identifies a clip's decoded audio: its file as it is now, or its embedded bytes."""
    if utterance.data is not None:
        return "sha1:" + hashlib.sha1(utterance.data).hexdigest()
    path = Path(utterance.path)
    try:
        st = path.stat()
    except OSError:
        return f"missing:{path}"  # decoded again each time: its worker says why it cannot be read
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


class DecodeCache:
    """``audio.bin`` + ``index.jsonl`` in ``folder``; :attr:`entries` holds what an earlier run decoded, by
    :func:`key_digest` of the key."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = open(folder / "lock", "w")  # noqa: SIM115 - held for the cache's life
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise BuildError(f"another build into the same output is running (it holds {folder}/lock); wait for it "
                             "to finish or stop it") from None  # fmt: skip
        meta = folder / "cache.json"
        if meta.exists() and _read_json(meta) != FORMAT:  # another version's cache: start over
            for name in ("audio.bin", "index.jsonl"):
                (folder / name).unlink(missing_ok=True)
        meta.write_text(json.dumps(FORMAT) + "\n")
        self._audio = open(folder / "audio.bin", "ab+")  # noqa: SIM115
        self.entries: dict[bytes, Entry] = self._read_index(os.fstat(self._audio.fileno()).st_size)
        self.resumed = sum(not isinstance(e, str) for e in self.entries.values())
        self._added = 0  # clips this run decoded into audio.bin
        self._index = open(folder / "index.jsonl", "a")  # noqa: SIM115

    def _read_index(self, audio_size: int) -> dict[bytes, Entry]:
        entries: dict[bytes, Entry] = {}
        path = self.folder / "index.jsonl"
        if not path.exists():
            return entries
        text = path.read_text()
        for line in text.splitlines():
            try:
                e = json.loads(line)
                if e["ok"] and e["offset"] + e["length"] > audio_size:
                    continue  # its audio never reached the disk
                entries[key_digest(e["key"])] = _entry(e)
            except (ValueError, KeyError, TypeError):
                continue  # a torn line
        if text and not text.endswith("\n"):
            with open(path, "a") as fh:  # end the torn line, so the next one starts clean
                fh.write("\n")
        return entries

    def lookup(self, key: str) -> Entry | None:
        """What an earlier run left for this clip, or None (decode it)."""
        return self.entries.get(key_digest(key)) if self.entries else None

    def add(self, key: str, ok: bool, payload) -> Entry:
        """Store one worker's result, (wav bytes, sha1, seconds, original rate) or why the file is unusable, on disk;
        return its entry (the cache does not hold it: the caller does)."""
        if ok:
            wav, sha1, duration, orig_sr = payload
            offset = self._audio.seek(0, os.SEEK_END)
            self._audio.write(wav)
            self._audio.flush()  # the audio is on disk before the line that points at it
            line = {"key": key, "ok": True, "offset": offset, "length": len(wav), "sha1": sha1,
                    "duration": duration, "orig_sr": orig_sr}  # fmt: skip
            self._added += 1
        else:
            line = {"key": key, "ok": False, "reason": str(payload)}
        self._index.write(json.dumps(line) + "\n")
        self._index.flush()
        return _entry(line)

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._audio.fileno(), length, offset)

    @property
    def decoded(self) -> int:
        """Clips with audio in the cache (an earlier run's and this one's)."""
        return self.resumed + self._added

    def forget_entries(self) -> None:
        """Drop what was read of an earlier run's index: the build holds where each clip lies."""
        self.entries = {}

    def size_bytes(self) -> int:
        return os.fstat(self._audio.fileno()).st_size

    def close(self) -> None:
        for fh in (self._audio, self._index, self._lock):
            fh.close()

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None


def _entry(line: dict) -> Entry:
    if line["ok"]:
        return line["offset"], line["length"], line["sha1"], line["duration"], line["orig_sr"]
    return str(line["reason"])
