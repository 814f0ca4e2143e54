"""The web demo (Gradio): record or upload a clip, see its emotions; a long recording gets emotion over time.

Everything it computes comes from :mod:`hf_ser.inference.predict` (the same predictor as ``hf-ser predict``): a clip no
longer than the window is classified whole; a longer one is cut into windows, silent windows are marked, and the
page shows the recording's summary, the emotion-over-time chart and a CSV of the windows. A bad upload (not audio,
empty, silent, too long) is a message on the page; the app keeps serving.
"""

from __future__ import annotations

import csv
import logging
import tempfile
from pathlib import Path

import numpy as np

from hf_ser.inference.audio_stream import UnreadableAudio, audio_info
from hf_ser.inference.windows import plot_emotion_over_time

__all__ = ["WINDOW_S", "HOP_S", "MAX_SECONDS", "analyse", "build_app"]

logger = logging.getLogger(__name__)
WINDOW_S, HOP_S = 3.0, 1.5  # long recordings: 3 s windows every 1.5 s
MAX_SECONDS = 600.0  # uploads longer than 10 minutes are refused (a Space's CPU would take minutes)


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


def analyse(predictor, audio_path: str | None, *, window: float = WINDOW_S, hop: float = HOP_S,
            max_seconds: float = MAX_SECONDS, workdir: Path | None = None):  # fmt: skip
    """(label scores dict or None, chart PNG path or None, CSV path or None, message) for one recording."""
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
    if duration is not None and duration <= window:
        result = next(predictor.predict_files([path], max_seconds=max_seconds))
    else:  # the limit holds for what decodes, whatever the header says (a piped recording states no length)
        result = predictor.predict_long(path, window, hop, max_seconds=max_seconds)
    if result.status.startswith("error: longer than"):
        return None, None, None, f"**Too long:** this page takes recordings up to {max_seconds:.0f} s."
    if result.status.startswith("error"):
        return None, None, None, f"**Cannot use this file:** {result.status.removeprefix('error: ')}."
    if result.status == "silence":
        return None, None, None, "**Silence:** no speech loud enough to classify (RMS below -50 dBFS)."
    scores = {x: float(p) for x, p in zip(labels, result.probs, strict=True)}
    if not result.windows or len(result.windows) < 2:
        return scores, None, None, f"{result.duration:.1f} s clip, classified whole."
    folder = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="hf-ser-app-"))
    png = folder / f"{path.stem}-emotions.png"
    probs = np.array([s.probs if s.probs is not None else np.zeros(len(labels)) for s in result.windows])
    plot_emotion_over_time([(s.start, s.end) for s in result.windows], probs, labels, png,
                           title="Emotion over time", silent=[s.status != "ok" for s in result.windows])  # fmt: skip
    n_silent = sum(s.status != "ok" for s in result.windows)
    msg = (
        f"{result.duration:.1f} s recording: {len(result.windows)} windows of {window:g} s every {hop:g} s"
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
                    f"clips up to {WINDOW_S:g} s are classified whole, longer recordings get emotion over time.")  # fmt: skip
        if problem:
            gr.Markdown(f"**No model loaded.** {problem}", elem_id="problem")
            return app
        with gr.Row():
            with gr.Column():
                audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Speech")
                run = gr.Button("Analyse", variant="primary", elem_id="analyse")
                if examples:
                    gr.Examples(examples=[[e] for e in examples], inputs=[audio], label="Example clips (demo corpora)")
            with gr.Column():
                status = gr.Markdown(elem_id="status")
                label = gr.Label(num_top_classes=4, label="Emotion", elem_id="emotion")
                chart = gr.Image(type="filepath", label="Emotion over time", elem_id="chart")
                table = gr.File(label="Windows (CSV)", elem_id="csv")

        folders = _RequestFolders()
        app.hf_ser_request_folders = folders  # the folder lives as long as the app

        def handler(path):
            try:
                scores, png, csv_path, msg = analyse(predictor, path, workdir=folders.new())
            except Exception as err:  # noqa: BLE001 - whatever one upload does, the page keeps serving the next
                logger.exception("analysis failed")
                return None, None, None, f"**Something went wrong with this file:** {type(err).__name__}: {err}"
            return scores, png, csv_path, msg

        run.click(handler, inputs=[audio], outputs=[label, chart, table, status], api_name="analyse")
    return app
