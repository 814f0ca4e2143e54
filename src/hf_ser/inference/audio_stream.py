"""Reading a user's recordings for inference: any format FFmpeg decodes, any rate and channel count, whole or streamed.

Decoding is FFmpeg's (torchcodec); on a machine without FFmpeg, libsndfile's (WAV, FLAC, OGG, MP3). Audio becomes
float32 mono at the model's rate the way the dataset builder converts the corpora (channel mean, soxr
high-quality resampling), so a clip is scored as it would have been had it been in the training data. Long files are
streamed in chunks through one continuous resampler (``soxr.ResampleStream``): memory stays bounded by the chunk and
window sizes, whatever the recording's length.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soxr

__all__ = ["AUDIO_SUFFIXES", "DecodeReport", "UnreadableAudio", "audio_info", "read_audio", "stream_audio"]

# What a folder walk picks up (any of them FFmpeg can decode); a file named explicitly is tried whatever its suffix.
AUDIO_SUFFIXES = frozenset(
    {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".wma", ".aiff", ".aif", ".mp4", ".m4v", ".mov",
     ".mkv", ".webm", ".avi"}
)  # fmt: skip
_EXACT_LENGTH_SUFFIXES = frozenset({".wav", ".flac", ".aiff", ".aif"})


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
            self.fh = sf.SoundFile(_openable(path))
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


def _openable(path: Path):
    """The path as a string, or for a file name that is not UTF-8 (which the C libraries cannot take) the open file."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return open(path, "rb")  # noqa: SIM115 - kept open by the decoder for as long as it reads
    return str(path)


def _decoder(path: Path):
    if not _ffmpeg_available():
        return _SoundfileDecoder(path)
    from torchcodec.decoders import AudioDecoder

    try:
        dec = AudioDecoder(_openable(path))
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


@dataclass
class DecodeReport:
    """What decoding a file found besides its samples: warnings for the user (damaged data that FFmpeg skipped)."""

    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0  # decoded, at the native rate


def read_audio(path: str | Path, rate: int = 16_000, *, report: DecodeReport | None = None,
               max_seconds: float | None = None) -> np.ndarray:  # fmt: skip
    """The whole file as float32 mono at ``rate`` (the checks of :func:`stream_audio`)."""
    chunks = list(stream_audio(path, rate, chunk_seconds=None, max_seconds=max_seconds, report=report))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def stream_audio(path: str | Path, rate: int = 16_000, *, chunk_seconds: float | None = 30.0,
                 max_seconds: float | None = None, report: DecodeReport | None = None) -> Iterator[np.ndarray]:  # fmt: skip
    """float32 mono chunks at ``rate``, in order; together exactly the resampled recording.

    ``chunk_seconds=None`` decodes in one go. Raises UnreadableAudio (no file, empty, not audio, NaN or infinite
    samples, longer than ``max_seconds``, truncated). A decoding error part-way (a damaged frame) is never taken for
    the end of the recording: the rest is decoded by the FFmpeg command line, which skips damaged frames as players
    do, and ``report`` says so; without it the file is refused."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableAudio("no such file")
    if path.stat().st_size == 0:
        raise UnreadableAudio("empty file (0 bytes)")
    report = report if report is not None else DecodeReport()
    dec = _decoder(path)
    native, channels = int(dec.metadata.sample_rate), int(dec.metadata.num_channels)
    header = dec.metadata.duration_seconds_from_header
    if chunk_seconds is None and header is None and max_seconds is not None:
        chunk_seconds = 30.0  # no stated length (a piped stream): decode in chunks so the limit can stop it early
    resampler = soxr.ResampleStream(native, rate, 1, dtype="float32", quality="HQ") if native != rate else None
    done = 0  # native frames decoded so far

    def convert(frames: np.ndarray, last: bool) -> np.ndarray:
        nonlocal done
        if frames.size and not np.isfinite(frames).all():
            bad = int(np.flatnonzero(~np.isfinite(frames).all(axis=0))[0])
            raise UnreadableAudio(f"corrupt samples (NaN or inf) at {(done + bad) / native:.2f} s")
        done += frames.shape[-1]
        if max_seconds is not None and done / native > max_seconds:
            raise UnreadableAudio(f"longer than {max_seconds:g} s")
        mono = _to_mono(frames)
        return resampler.resample_chunk(mono, last=last) if resampler is not None else mono

    for frames, last in _native_chunks(path, dec, native, channels, header, chunk_seconds, report, lambda: done):
        mono = convert(frames, last)
        if mono.size:
            yield mono
    report.seconds = done / native
    _check_complete(path, report.seconds, header)


def _native_chunks(path, dec, native, channels, header, chunk_seconds, report, done):
    """(frames (channels, n) at the native rate, is_last) from the in-process decoder; on a decoding error part-way,
    the rest from the FFmpeg command line (the same decoder, so the samples continue exactly)."""
    start = 0.0
    while True:
        if chunk_seconds is not None and header is not None and start >= header:
            yield np.zeros((channels, 0), np.float32), True
            return
        try:
            if chunk_seconds is None:
                samples = dec.get_all_samples()
            else:
                samples = dec.get_samples_played_in_range(start, start + chunk_seconds)
        except Exception as err:  # noqa: BLE001 - torchcodec raises RuntimeError for the end and for damage alike
            if chunk_seconds is not None and done() and "No audio frames" in str(err):
                yield np.zeros((channels, 0), np.float32), True  # past the last frame: the end
                return
            yield from _ffmpeg_cli_rest(path, channels, done(), err, report)
            return
        frames = samples.data.numpy()
        last = chunk_seconds is None or frames.shape[-1] == 0
        yield frames, last
        if last:
            return
        start += chunk_seconds


def _ffmpeg_cli_rest(path: Path, channels: int, skip: int, err: Exception, report: DecodeReport):
    """The frames after the first ``skip`` as FFmpeg's command line decodes them: it skips damaged frames, as players
    do, and says so on stderr (reported as a warning). Nothing new and no complaint: that error was the end."""
    import shutil
    import subprocess
    import tempfile

    reason = (str(err).strip().splitlines() or [type(err).__name__])[-1].split(",")[-1].strip()[:120]
    unreadable = UnreadableAudio(f"not audio FFmpeg can read ({type(err).__name__}: {reason})")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise unreadable from err
    cmd = [ffmpeg, "-nostdin", "-v", "error", "-i", os.fsencode(path), "-map", "0:a:0", "-f", "f32le", "-"]
    frame_bytes = channels * 4
    new = 0
    # stderr into a file: a badly damaged file's error lines could fill a pipe and stall FFmpeg while we read stdout
    with tempfile.TemporaryFile() as errors, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors) as proc:
        try:
            pending = b""
            while chunk := proc.stdout.read(frame_bytes * 65_536):
                pending += chunk
                usable = len(pending) - len(pending) % frame_bytes
                frames = np.frombuffer(pending[:usable], np.float32).reshape(-1, channels).T
                pending = pending[usable:]
                cut = min(skip, frames.shape[1])
                frames, skip = frames[:, cut:], skip - cut
                if frames.shape[1]:
                    new += frames.shape[1]
                    yield np.ascontiguousarray(frames), False
        except BaseException:  # the reader stopped early (an error, a limit, Ctrl-C): stop FFmpeg too
            proc.kill()
            raise
        proc.wait()
        errors.seek(0)
        complaints = [line for line in errors.read().decode(errors="replace").splitlines() if line.strip()]
    if not new and (skip or complaints or proc.returncode):  # nothing decodable where the in-process decoder failed
        raise unreadable from err
    yield np.zeros((channels, 0), np.float32), True
    if complaints:
        report.warnings.append(
            f"damaged data skipped: FFmpeg could not decode part of it ({len(complaints)} error "
            f"line{'s' if len(complaints) != 1 else ''}, e.g. {complaints[0].split('] ')[-1][:80]!r})"
        )


def _check_complete(path: Path, seconds: float, header: float | None) -> None:
    """A file whose header counts its samples (WAV, FLAC, AIFF) and decodes to much less is truncated: refused rather
    than scored on the part that is there. Other containers only estimate their length, so they are not held to it."""
    if header and path.suffix.lower() in _EXACT_LENGTH_SUFFIXES and seconds < 0.9 * header - 0.5:
        raise UnreadableAudio(f"truncated: decoded {seconds:.1f} s of the {header:.1f} s its header states")
