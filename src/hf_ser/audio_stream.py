"""Reading a user's recordings for inference: any format FFmpeg decodes, any rate and channel count, whole or streamed.

Decoding is FFmpeg's (torchcodec); on a machine without FFmpeg, libsndfile's (WAV, FLAC, OGG, MP3). Audio becomes
float32 mono at the model's rate the way the dataset builder converts the corpora (channel mean, soxr
high-quality resampling), so a clip is scored as it would have been had it been in the training data. Long files are
streamed in chunks through one continuous resampler (``soxr.ResampleStream``): memory stays bounded by the chunk and
window sizes, whatever the recording's length.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soxr

__all__ = ["AUDIO_SUFFIXES", "UnreadableAudio", "audio_info", "read_audio", "stream_audio"]

# What a folder walk picks up (any of them FFmpeg can decode); a file named explicitly is tried whatever its suffix.
AUDIO_SUFFIXES = frozenset(
    {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".wma", ".aiff", ".aif", ".mp4", ".m4v", ".mov",
     ".mkv", ".webm", ".avi"}
)  # fmt: skip


class UnreadableAudio(ValueError):
    """A file that yields no audio; the message is the reason reported for it."""


class _SoundfileDecoder:
    """libsndfile (WAV, FLAC, OGG, MP3) for machines without FFmpeg; the same interface as torchcodec's decoder."""

    class _Samples:
        def __init__(self, data):
            self.data = data

    class _Meta:
        def __init__(self, fh):
            self.sample_rate, self.num_channels = fh.samplerate, fh.channels
            self.duration_seconds_from_header = fh.frames / fh.samplerate if fh.frames > 0 else None

    def __init__(self, path: Path):
        import soundfile as sf

        try:
            self.fh = sf.SoundFile(str(path))
        except Exception as err:  # noqa: BLE001 - libsndfile's failure types mean one thing here
            raise UnreadableAudio(
                f"not audio libsndfile can read ({type(err).__name__}; FFmpeg is not installed)"
            ) from err
        self.metadata = self._Meta(self.fh)

    def _read(self, frames: int):
        import torch

        return self._Samples(torch.from_numpy(self.fh.read(frames, dtype="float32", always_2d=True).T.copy()))

    def get_all_samples(self):
        self.fh.seek(0)
        return self._read(-1)

    def get_samples_played_in_range(self, start: float, stop: float):
        rate = self.fh.samplerate
        self.fh.seek(min(int(round(start * rate)), self.fh.frames))
        return self._read(int(round(stop * rate)) - int(round(start * rate)))


@functools.cache
def _ffmpeg_available() -> bool:
    try:
        from torchcodec.decoders import AudioDecoder  # noqa: F401 - loads FFmpeg's libraries
    except (ImportError, OSError, RuntimeError):
        return False
    return True


def _decoder(path: Path):
    if not _ffmpeg_available():
        return _SoundfileDecoder(path)
    from torchcodec.decoders import AudioDecoder

    try:
        dec = AudioDecoder(str(path))
    except Exception as err:  # noqa: BLE001 - FFmpeg's many failure types mean one thing here: not audio it can read
        raise UnreadableAudio(f"not audio FFmpeg can read ({type(err).__name__})") from err
    return dec


def audio_info(path: str | Path) -> tuple[float | None, int, int]:
    """(duration in seconds if the container says, sample rate, channels)."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableAudio("no such file")
    if path.stat().st_size == 0:
        raise UnreadableAudio("empty file (0 bytes)")
    md = _decoder(path).metadata
    return md.duration_seconds_from_header, int(md.sample_rate), int(md.num_channels)


def _to_mono(frames: np.ndarray) -> np.ndarray:
    """(channels, samples) -> (samples,) float32, the channel mean."""
    return np.ascontiguousarray(frames.mean(axis=0) if frames.ndim == 2 else frames, dtype=np.float32)


def read_audio(path: str | Path, rate: int = 16_000) -> np.ndarray:
    """The whole file as float32 mono at ``rate``."""
    return np.concatenate(list(stream_audio(path, rate, chunk_seconds=None)) or [np.zeros(0, np.float32)])


def stream_audio(path: str | Path, rate: int = 16_000, *, chunk_seconds: float | None = 30.0) -> Iterator[np.ndarray]:
    """float32 mono chunks at ``rate``, in order; together exactly the resampled recording.

    ``chunk_seconds=None`` decodes in one go. Raises UnreadableAudio (no file, empty, not audio)."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableAudio("no such file")
    if path.stat().st_size == 0:
        raise UnreadableAudio("empty file (0 bytes)")
    dec = _decoder(path)
    native = int(dec.metadata.sample_rate)
    resampler = soxr.ResampleStream(native, rate, 1, dtype="float32", quality="HQ") if native != rate else None
    start = 0.0
    produced = False
    while True:
        try:
            if chunk_seconds is None:
                samples = dec.get_all_samples()
            else:
                samples = dec.get_samples_played_in_range(start, start + chunk_seconds)
        except Exception as err:  # noqa: BLE001 - past the end, or a corrupt stream failing mid-way
            if not produced:
                raise UnreadableAudio(f"not audio FFmpeg can read ({type(err).__name__})") from err
            samples = None  # the end (or a truncated file: keep what decoded)
        frames = samples.data.numpy() if samples is not None else np.zeros((1, 0), np.float32)
        last = chunk_seconds is None or frames.shape[-1] == 0
        mono = _to_mono(frames)
        if resampler is not None:
            mono = resampler.resample_chunk(mono, last=last)
        if mono.size:
            produced = True
            yield mono
        if last:
            break
        start += chunk_seconds
