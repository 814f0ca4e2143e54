"""The web demo (Gradio): record or upload a clip, see its emotions; a long recording gets emotion over time.

Everything it computes comes from :mod:`hf_ser.inference.predict` (the same predictor as ``hf-ser predict``): a clip no
longer than the window is classified whole; a longer one is cut into speech segments by silero-vad (the default, as
``--segment vad``: utterance-sized input, non-speech shaded and never classified) or into fixed windows (silent ones
marked), and the page shows the recording's summary, the emotion-over-time chart and a CSV of the segments. A bad
upload (not audio, empty, silent, too long) is a message on the page; the app keeps serving.
"""

from __future__ import annotations

import csv
import logging
import tempfile
from pathlib import Path

import numpy as np

from hf_ser.inference.audio_stream import UnreadableAudio, audio_info
from hf_ser.inference.windows import plot_emotion_over_time

__all__ = ["WINDOW_S", "HOP_S", "MAX_SECONDS", "SEGMENTATIONS", "analyse", "build_app"]

logger = logging.getLogger(__name__)
WINDOW_S, HOP_S = 3.0, 1.5  # long recordings: 3 s windows every 1.5 s
MAX_SECONDS = 600.0  # uploads longer than 10 minutes are refused (a Space's CPU would take minutes)
SEGMENTATIONS = {"speech segments (VAD)": "vad", "fixed windows": "window"}  # page choice -> --segment
DEFAULT_SEGMENTATION = "speech segments (VAD)"  # boundary F1 0.94 vs 0.00 for 3 s windows (benchmarks/README.md)


def _write_csv(result, labels: list[str], folder: Path) -> Path:
    path = folder / f"{Path(result.file).stem}-emotions.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["start", "end", "status", "label", *[f"p_{x}" for x in labels]])
        for s in result.windows:
            probs = [] if s.probs is None else [f"{p:.4f}" for p in s.probs]
            w.writerow([f"{s.start:.2f}", f"{s.end:.2f}", s.status,
                        labels[int(np.argmax(s.probs))] if s.probs is not None else "", *probs])  # fmt: skip
    return path


def analyse(predictor, audio_path: str | None, *, segment: str = "vad", window: float = WINDOW_S, hop: float = HOP_S,
            max_seconds: float = MAX_SECONDS, workdir: Path | None = None):  # fmt: skip
    """(label scores dict or None, chart PNG path or None, CSV path or None, message) for one recording; a recording
    longer than ``window`` is cut by ``segment``: ``"vad"`` (speech segments) or ``"window"`` (fixed windows)."""
    if not audio_path:
        return None, None, None, "Record or upload a clip first."
    path = Path(audio_path)
    try:
        duration, _, _ = audio_info(path)
    except UnreadableAudio as err:
        return None, None, None, f"**Cannot use this file:** {err}."
    if duration is not None and duration > max_seconds:
        return (
            None,
            None,
            None,
            f"**Too long:** {duration:.0f} s; this page takes recordings up to {max_seconds:.0f} s.",
        )
    labels = predictor.labels
    note = ""
    if segment == "vad" and predictor.rate != 16_000:
        segment, note = "window", f" (speech segments need a 16 kHz model; this one takes {predictor.rate} Hz)"
    if duration is not None and duration <= window:
        result = next(predictor.predict_files([path], max_seconds=max_seconds))
    elif segment == "vad":  # the limit holds for what decodes, whatever the header states (a piped stream: none)
        result = predictor.predict_segments(path, max_seconds=max_seconds)
    else:
        result = predictor.predict_long(path, window, hop, max_seconds=max_seconds)
    if result.status.startswith("error: longer than"):
        return None, None, None, f"**Too long:** this page takes recordings up to {max_seconds:.0f} s."
    if result.status.startswith("error"):
        return None, None, None, f"**Cannot use this file:** {result.status.removeprefix('error: ')}."
    if result.status == "silence":
        if result.windows and segment == "vad":
            return None, None, None, "**No speech found:** the voice-activity detector heard no speech to classify."
        return None, None, None, "**Silence:** no speech loud enough to classify (RMS below -50 dBFS)."
    scores = {x: float(p) for x, p in zip(labels, result.probs, strict=True)}
    if not result.windows or (len(result.windows) < 2 and segment != "vad"):
        return scores, None, None, f"{result.duration:.1f} s clip, classified whole."
    folder = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="hf-ser-app-"))
    png = folder / f"{path.stem}-emotions.png"
    probs = np.array([s.probs if s.probs is not None else np.zeros(len(labels)) for s in result.windows])
    plot_emotion_over_time([(s.start, s.end) for s in result.windows], probs, labels, png,
                           title="Emotion over time", silent=[s.status != "ok" for s in result.windows])  # fmt: skip
    n_silent = sum(s.status != "ok" for s in result.windows)
    if segment == "vad":
        voiced = [s for s in result.windows if s.status == "ok"]
        msg = (f"{result.duration:.1f} s recording: {len(voiced)} speech segments "
               f"({sum(s.end - s.start for s in voiced):.1f} s), the rest shaded as non-speech. "
               "The summary weighs the segments by length.")  # fmt: skip
    else:
        msg = (
            f"{result.duration:.1f} s recording: {len(result.windows)} windows of {window:g} s every {hop:g} s{note}"
            + (f", {n_silent} silent" if n_silent else "")
            + ". The summary weighs the voiced windows by length."
        )
    return scores, str(png), str(_write_csv(result, labels, folder)), msg


class _RequestFolders:
    """One temporary folder for the app's charts and CSVs (removed when the app goes), a subfolder per request, and
    only the most recent ``keep`` kept: Gradio copies a result into its own cache as the request returns, so older
    ones are no longer needed, and a long-running Space does not fill its disk."""

    def __init__(self, keep: int = 8):
        self._root = tempfile.TemporaryDirectory(prefix="hf-ser-app-")
        self.keep = keep

    def new(self) -> Path:
        import shutil

        root = Path(self._root.name)
        folder = Path(tempfile.mkdtemp(dir=root))
        for old in sorted(root.iterdir(), key=lambda p: p.stat().st_mtime)[: -self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        return folder


def build_app(predictor=None, *, model_name: str = "", problem: str | None = None, examples: list[str] | None = None):
    """The gr.Blocks page; with ``problem`` (no model to load) a page that says what to do instead."""
    import gradio as gr

    with gr.Blocks(title="hf-ser: speech emotion recognition") as app:
        gr.Markdown("# Speech emotion recognition\n"
                    f"Model: `{model_name or 'none'}`. Record or upload speech (any format, rate or channel count); "
                    f"clips up to {WINDOW_S:g} s are classified whole; longer recordings get emotion over time, per "
                    "speech segment (found by silero-vad) or per fixed window.")  # fmt: skip
        if problem:
            gr.Markdown(f"**No model loaded.** {problem}", elem_id="problem")
            return app
        with gr.Row():
            with gr.Column():
                audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Speech")
                mode = gr.Radio(list(SEGMENTATIONS), value=DEFAULT_SEGMENTATION, elem_id="segment",
                                label=f"Recordings over {WINDOW_S:g} s are cut into")  # fmt: skip
                run = gr.Button("Analyse", variant="primary", elem_id="analyse")
                if examples:
                    gr.Examples(examples=[[e] for e in examples], inputs=[audio], label="Example clips (demo corpora)")
            with gr.Column():
                status = gr.Markdown(elem_id="status")
                label = gr.Label(num_top_classes=4, label="Emotion", elem_id="emotion")
                chart = gr.Image(type="filepath", label="Emotion over time", elem_id="chart")
                table = gr.File(label="Segments (CSV)", elem_id="csv")

        folders = _RequestFolders()
        app.hf_ser_request_folders = folders  # the folder lives as long as the app

        def handler(path, choice=DEFAULT_SEGMENTATION):
            try:
                segment = SEGMENTATIONS.get(choice, "vad")
                scores, png, csv_path, msg = analyse(predictor, path, segment=segment, workdir=folders.new())
            except Exception as err:  # noqa: BLE001 - whatever one upload does, the page keeps serving the next
                logger.exception("analysis failed")
                return None, None, None, f"**Something went wrong with this file:** {type(err).__name__}: {err}"
            return scores, png, csv_path, msg

        run.click(handler, inputs=[audio, mode], outputs=[label, chart, table, status], api_name="analyse")
    return app
