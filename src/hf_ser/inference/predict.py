"""Predicting emotions for files, folders and long recordings: what ``hf-ser predict`` and the web demo run.

:class:`EmotionPredictor` loads a checkpoint (a folder or Hub id, PyTorch) or an exported ONNX folder, and turns
audio into probabilities over the model's labels. Files are decoded by :mod:`hf_ser.inference.audio_stream`; folders are
batched across files, longest-first order kept out of the results (rows come back in input order); long recordings
are cut into windows by :mod:`hf_ser.inference.windows`, and silent windows are marked instead of classified.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch

from hf_ser.audio import MIN_SECONDS
from hf_ser.inference.audio_stream import (
    AUDIO_SUFFIXES,
    DecodeReport,
    UnreadableAudio,
    audio_info,
    read_audio,
    stream_audio,
)
from hf_ser.inference.forward import forward_arrays, length_sorted_batches, model_inputs, padding_sensitive
from hf_ser.inference.windows import is_silent, iter_windows, summarise
from hf_ser.labels import model_labels
from hf_ser.modeling.architectures import fixed_input_samples, max_input_seconds

__all__ = ["EmotionPredictor", "FileResult", "Segment", "expand_inputs"]

logger = logging.getLogger(__name__)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class Segment:
    start: float  # seconds
    end: float
    status: str  # "ok", "silence" (windows), "short", "non-speech" (VAD segments)
    probs: np.ndarray | None = None


@dataclass
class FileResult:
    file: str
    status: str  # "ok", "silence" or "error: <reason>"
    duration: float | None = None
    probs: np.ndarray | None = None  # the whole file's (or the windows' summary)
    windows: list[Segment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what decoding found (damaged data skipped), for stderr

    @property
    def scored(self) -> bool:
        """A label came out (a silent or unreadable file has none)."""
        return self.status == "ok"


def expand_inputs(paths: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Files from files, folders (recursive, audio suffixes only) and globs, in a stable order; plus the inputs that
    matched nothing (reported by the caller)."""
    import glob

    files: list[Path] = []
    missing: list[str] = []
    for p in paths:
        path = Path(p).expanduser()
        if path.is_dir():
            found = sorted(q for q in path.rglob("*") if q.is_file() and q.suffix.lower() in AUDIO_SUFFIXES)
            files.extend(found)
            if not found:
                missing.append(f"{p} (a folder with no audio files)")
        elif path.exists():
            files.append(path)
        elif any(c in p for c in "*?["):
            hits = sorted(Path(h) for h in glob.glob(str(path), recursive=True) if Path(h).is_file())
            files.extend(hits)
            if not hits:
                missing.append(f"{p} (the pattern matched no file)")
        else:
            missing.append(f"{p} (no such file or folder)")
    seen: set[Path] = set()
    unique = [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]
    return unique, missing


class _OnnxBackend:
    def __init__(self, folder: Path, device: str):
        import onnxruntime as ort

        from hf_ser.inference.export import onnx_model_file

        providers = (
            ["CUDAExecutionProvider", "CPUExecutionProvider"]
            if device.startswith("cuda")
            else ["CPUExecutionProvider"]
        )
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_model_file(folder)), opts, providers=providers)
        self.names = [i.name for i in self.session.get_inputs()]  # the model's main input first

    def __call__(self, inputs: dict) -> np.ndarray:
        main = self.names[0]
        feed = {main: inputs[main].numpy()}
        if "attention_mask" in self.names:  # exported with a mask: all ones where the extractor returned none
            mask = inputs.get("attention_mask")
            feed["attention_mask"] = (np.ones(feed[main].shape, np.int64) if mask is None
                                      else mask.numpy().astype(np.int64))  # fmt: skip
        return self.session.run(None, feed)[0]


class EmotionPredictor:
    """Probabilities over a model's labels for audio arrays, files and long recordings.

    ``backend="onnx"`` reads a folder written by ``hf-ser export``. Scores never depend on the batch: a
    padding-sensitive model (group-norm encoder) is only batched over clips of equal length.
    """

    def __init__(self, model, feature_extractor, *, device: str = "cpu", dtype: str = "float32", backend: str = "torch",
                 onnx_folder: Path | None = None, batch_seconds: float | None = None, max_batch_size: int = 64):  # fmt: skip
        self.model, self.feature_extractor, self.backend = model, feature_extractor, backend
        self.config = model.config if model is not None else None
        self.device = torch.device(device)
        self.dtype = dtype
        self.rate = int(feature_extractor.sampling_rate)
        if batch_seconds is None:
            batch_seconds = 60.0
            if self.device.type == "cpu" and backend == "torch":
                # One clip per forward pass: on 2 CPU cores torch ran a batch of 16 3 s windows of hubert-base 1.19x
                # slower than the same windows one at a time, while ONNX Runtime's int8 model gained from 60 s
                # batches (README, "Throughput"); an accelerator wants big batches.
                max_batch_size = 1
        self.batch_samples = int(batch_seconds * self.rate)
        # Whisper sees at most its 30 s window (its extractor cuts the rest): longer audio must go through windows.
        self.max_input_seconds = max_input_seconds(feature_extractor)
        self._fixed_samples = fixed_input_samples(feature_extractor)
        self.max_batch_size = max_batch_size
        self._onnx = _OnnxBackend(onnx_folder, device) if backend == "onnx" else None

    @classmethod
    def from_pretrained(cls, name_or_path: str, *, backend: str = "torch", device: str = "cpu", dtype: str = "float32",
                        flag: str = "--model", **kwargs) -> EmotionPredictor:  # fmt: skip
        """Load for prediction; raises ModelLoadError (one line) for a folder that is not an audio classifier or a
        Hub id that cannot be reached, before any audio is read."""
        from transformers import AutoConfig, AutoFeatureExtractor

        from hf_ser.inference.health import warn_about_labels
        from hf_ser.modeling.loading import ModelLoadError, load_classifier, load_pretrained

        if dtype not in DTYPES:
            raise ModelLoadError(f"--dtype {dtype}: one of {', '.join(DTYPES)}")
        try:
            dev = torch.device(device)
        except RuntimeError as err:
            raise ModelLoadError(f"--device {device}: not a device torch knows (cpu, cuda, cuda:1, ...)") from err
        if dev.type not in ("cpu", "cuda"):
            raise ModelLoadError(f"--device {device}: hf-ser predicts on cpu or cuda")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ModelLoadError(f"--device {device}: torch {torch.__version__} sees no CUDA device here")
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ModelLoadError(f"--device {device}: there are {torch.cuda.device_count()} CUDA devices here")
        if backend == "onnx":
            from hf_ser.inference.export import onnx_model_file

            folder = Path(name_or_path).expanduser()
            if not folder.is_dir():
                raise ModelLoadError(
                    f"{flag} {name_or_path}: --backend onnx needs a folder written by `hf-ser export`"
                )
            try:
                onnx_model_file(folder)
            except FileNotFoundError as err:
                raise ModelLoadError(f"{flag} {name_or_path}: {err}") from err
            config, fe = load_pretrained(
                str(folder), flag, AutoConfig.from_pretrained, AutoFeatureExtractor.from_pretrained
            )
            shell = type("ConfigOnly", (), {"config": config})()
            warn_about_labels(config, f"{flag} {name_or_path}")
            return cls(shell, fe, device=device, dtype="float32", backend="onnx", onnx_folder=folder, **kwargs)
        model, fe = load_classifier(name_or_path, flag)
        warn_about_labels(model.config, f"{flag} {name_or_path}")
        model = model.to(device=device, dtype=DTYPES[dtype]).eval()
        return cls(model, fe, device=device, dtype=dtype, **kwargs)

    @property
    def labels(self) -> list[str]:
        return model_labels(self.config)

    # ------------------------------------------------------------------------------------------------ arrays
    def _logits(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        equal = padding_sensitive(self.config, self.feature_extractor)
        if self._onnx is None:
            return forward_arrays(self.model, self.feature_extractor, arrays, equal_length=equal, device=self.device)
        out = np.zeros((len(arrays), len(self.labels)), dtype=np.float32)
        for idx, inputs in model_inputs(self.feature_extractor, arrays, equal_length=equal):
            out[idx] = self._onnx(inputs)
        return out

    def predict_arrays(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities (N x labels) of float32 mono arrays at the model's rate, batched by total seconds (of what
        the model computes on: a fixed-window model's every clip counts as its whole window)."""
        bad = [i for i, a in enumerate(arrays) if not np.isfinite(a).all()]
        if bad:
            raise ValueError(f"arrays {bad[:5]} hold NaN or infinite samples: no score would mean anything")
        probs = np.zeros((len(arrays), len(self.labels)), dtype=np.float32)
        cost = [self._fixed_samples or len(a) for a in arrays]
        batches = length_sorted_batches(cost, batch_size=self.max_batch_size, equal_length=False,
                                        max_batch_samples=self.batch_samples)  # fmt: skip
        for idx in batches:
            logits = self._logits([arrays[i] for i in idx])
            probs[idx] = torch.softmax(torch.from_numpy(logits).float(), dim=-1).numpy()
        return probs

    # ------------------------------------------------------------------------------------------------ files
    def predict_files(self, files: Sequence[Path], *, max_seconds: float = 60.0, files_per_chunk: int = 256,
                      workers: int = 4, progress=None) -> Iterator[FileResult]:  # fmt: skip
        """One result per file (whole-file classification), in input order. Files are decoded in a thread pool a
        chunk at a time and batched across files by length; a file longer than ``max_seconds`` is an error row
        (pass a window for those)."""
        decode = partial(self._decode_whole, max_seconds=max_seconds)
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for lo in range(0, len(files), files_per_chunk):
                chunk = files[lo : lo + files_per_chunk]
                decoded = list(pool.map(decode, chunk))
                ready = [(r, audio) for r, audio in decoded if audio is not None]
                probs = self.predict_arrays([audio for _, audio in ready]) if ready else []
                for (r, _), p in zip(ready, probs, strict=True):
                    r.probs = p
                for result, _ in decoded:
                    yield result
                    if progress is not None:
                        progress.update(1)

    def _too_long(self, samples: int, max_seconds: float) -> str | None:
        seconds = samples / self.rate
        if seconds > max_seconds:
            return (f"error: {seconds:.1f} s is longer than --max_seconds {max_seconds:g}; pass --window S --hop H for "
                    "emotion over time")  # fmt: skip
        if self._fixed_samples and samples > self._fixed_samples:
            return (f"error: {seconds:.1f} s is longer than this model's {self.max_input_seconds:g} s input window (its "
                    f"feature extractor would cut the rest); pass --window S --hop H with S <= "
                    f"{self.max_input_seconds:g}")  # fmt: skip
        return None

    def check_window(self, window: float) -> None:
        """Raise ValueError for windows longer than the model's input window (Whisper: 30 s)."""
        if self.max_input_seconds and window > self.max_input_seconds:
            raise ValueError(
                f"--window {window:g}: this model sees at most {self.max_input_seconds:g} s at a time (its feature "
                "extractor cuts longer input); use a shorter window"
            )

    def _decode_whole(self, path: Path, max_seconds: float) -> tuple[FileResult, np.ndarray | None]:
        """(its result row, its samples); no samples when the row says why it gets no label (unreadable, damaged,
        too long, too short, silent)."""
        report = DecodeReport()
        try:
            header_duration, _, _ = audio_info(path)
            if header_duration is not None and (
                reason := self._too_long(int(header_duration * self.rate), max_seconds)
            ):
                return FileResult(str(path), reason, header_duration), None
            audio = read_audio(path, self.rate, report=report, max_seconds=max_seconds)
        except UnreadableAudio as err:
            if str(err).startswith("longer than"):  # a stream that states no length, stopped at the limit
                reason = (f"error: longer than --max_seconds {max_seconds:g} (the file states no length; decoding "
                          "stopped there); pass --window S --hop H for emotion over time")  # fmt: skip
                return FileResult(str(path), reason), None
            return FileResult(str(path), f"error: {err}", warnings=report.warnings), None
        seconds = len(audio) / self.rate
        if reason := self._too_long(len(audio), max_seconds) or _too_short(len(audio), self.rate):
            return FileResult(str(path), reason, seconds, warnings=report.warnings), None
        if is_silent(audio):
            return FileResult(str(path), "silence", seconds, warnings=report.warnings), None
        return FileResult(str(path), "ok", seconds, warnings=report.warnings), audio

    def predict_long(self, path: Path, window: float, hop: float, *, chunk_seconds: float = 30.0,
                     max_seconds: float | None = None) -> FileResult:  # fmt: skip
        """Windows over a streamed recording (bounded memory), silent windows marked, plus the summary. A recording
        longer than ``max_seconds`` (the web demo's limit) is an error, whatever its header says."""
        self.check_window(window)
        report = DecodeReport()
        try:
            chunks = stream_audio(path, self.rate, chunk_seconds=chunk_seconds, max_seconds=max_seconds, report=report)
            segments: list[Segment] = []
            pending: list[tuple[Segment, np.ndarray]] = []
            total = 0
            for w in iter_windows(chunks, window, hop, self.rate):
                seg = Segment(w.start / self.rate, w.end / self.rate, "ok")
                total = max(total, w.end)
                segments.append(seg)
                if is_silent(w.audio):
                    seg.status = "silence"
                else:
                    pending.append((seg, w.audio))
                if sum(len(a) for _, a in pending) >= self.batch_samples:
                    self._classify(pending)
                    pending = []
        except UnreadableAudio as err:
            return FileResult(str(path), f"error: {err}", warnings=report.warnings)
        if reason := _too_short(total, self.rate):
            return FileResult(str(path), reason, total / self.rate, warnings=report.warnings)
        self._classify(pending)
        return _finished(path, total / self.rate, segments, report.warnings)

    def predict_segments(self, path: Path, vad=None, *, chunk_seconds: float = 30.0,
                         max_seconds: float | None = None) -> FileResult:  # fmt: skip
        """Speech segments found by silero-vad (:mod:`hf_ser.inference.vad`), each classified, with the
        non-speech between them reported, plus the summary weighted by speech time. Two streamed passes (frame
        probabilities, then the segments' audio), so memory does not grow with the recording."""
        (result,) = self.predict_segments_many([path], vad, chunk_seconds=chunk_seconds, max_seconds=max_seconds)
        return result

    def predict_segments_many(self, paths: Iterable[Path], vad=None, *, chunk_seconds: float = 30.0,
                              max_seconds: float | None = None, lanes: int = 8) -> Iterator[FileResult]:  # fmt: skip
        """:meth:`predict_segments` of each path, in order; the VAD pass runs ``lanes`` recordings side by side
        (:meth:`SpeechDetector.frame_probs_many`: each gets exactly the probabilities it gets alone)."""
        from hf_ser.inference.vad import SpeechDetector, VadConfig

        if self.rate != 16_000:
            raise ValueError(f"--segment vad runs at 16 kHz; this model takes {self.rate} Hz")
        vad = vad or VadConfig()
        vad.check()
        self.check_window(vad.max_segment)

        def source(path: Path):
            report = DecodeReport()  # both passes report into it
            chunks = partial(stream_audio, path, self.rate, chunk_seconds=chunk_seconds, max_seconds=max_seconds,
                             report=report)  # fmt: skip
            return (path, report, chunks), chunks

        for (path, report, chunks), found in SpeechDetector().frame_probs_many(map(source, paths), lanes=lanes):
            if isinstance(found, UnreadableAudio):
                yield FileResult(str(path), f"error: {found}", warnings=report.warnings)
            elif isinstance(found, Exception):
                raise found
            else:
                yield self._classify_segments(path, *found, vad, chunks, report)

    def _classify_segments(self, path: Path, probs: np.ndarray, total: int, vad, chunks, report) -> FileResult:
        """The second pass of :meth:`predict_segments_many`: plan the segments, stream their audio, classify."""
        from hf_ser.inference.vad import plan_segments, speech_spans

        if reason := _too_short(total, self.rate):
            return FileResult(str(path), reason, total / self.rate, warnings=report.warnings)
        plan = plan_segments(speech_spans(probs, total, vad), total, vad)
        segments = [Segment(a / self.rate, b / self.rate, "ok" if kind == "speech" else kind) for a, b, kind in plan]
        wanted = [(a, b, seg) for (a, b, _), seg in zip(plan, segments, strict=True) if seg.status == "ok"]
        pending: list[tuple[Segment, np.ndarray]] = []
        parts: list[np.ndarray] = []
        offset, k = 0, 0
        try:
            for chunk in chunks():
                end = offset + len(chunk)
                while k < len(wanted) and wanted[k][0] < end:
                    a, b, seg = wanted[k]
                    parts.append(chunk[max(a - offset, 0) : min(b, end) - offset])
                    if b > end:
                        break  # the segment goes on in the next chunk
                    pending.append((seg, np.concatenate(parts)))
                    parts, k = [], k + 1
                    if sum(len(x) for _, x in pending) >= self.batch_samples:
                        self._classify(pending)
                        pending = []
                offset = end
        except UnreadableAudio as err:
            return FileResult(str(path), f"error: {err}", warnings=report.warnings)
        self._classify(pending)
        return _finished(path, total / self.rate, segments, report.warnings)

    def _classify(self, pending: list[tuple[Segment, np.ndarray]]) -> None:
        if pending:
            for (seg, _), p in zip(pending, self.predict_arrays([a for _, a in pending]), strict=True):
                seg.probs = p


def _finished(path: Path, seconds: float, segments: list[Segment], warnings: list[str]) -> FileResult:
    """A recording's result from its classified windows or segments: the summary weighs the voiced ones by length."""
    voiced = [s for s in segments if s.status == "ok"]
    if not voiced:
        return FileResult(str(path), "silence", seconds, None, segments, warnings)
    summary = summarise(np.stack([s.probs for s in voiced]), [s.end - s.start for s in voiced])
    return FileResult(str(path), "ok", seconds, summary, segments, warnings)


def _too_short(samples: int, rate: int) -> str | None:
    """Shorter than the dataset builder's minimum clip: too little for a label (and below 25 ms, for the encoder)."""
    if samples == 0:
        return "error: no audio samples"
    if samples < MIN_SECONDS * rate:
        return f"error: too short ({samples / rate:.3f} s < {MIN_SECONDS:g} s)"
    return None


def iter_results(predictor: EmotionPredictor, files: Iterable[Path], *, window=None, hop=None, vad=None, **kwargs):
    """Each file's result: whole (no ``window`` or ``vad``), in fixed windows, or in VAD speech segments."""
    if window is None and vad is None:
        yield from predictor.predict_files(list(files), **kwargs)
        return
    progress = kwargs.get("progress")
    results = (predictor.predict_segments_many(files, vad) if vad is not None
               else (predictor.predict_long(f, window, hop) for f in files))  # fmt: skip
    for result in results:
        yield result
        if progress is not None:
            progress.update(1)
