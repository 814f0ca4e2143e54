"""The ``hf-ser`` console command: ``predict`` (files, folders, globs, long recordings), ``export`` (ONNX) and
``inspect`` (a checkpoint's health check).

    hf-ser predict clips/ --model outputs/demo --output predictions.csv
    hf-ser predict call.mp3 --model outputs/demo --window 4 --hop 2 --plot call.png
    hf-ser predict call.mp3 --model outputs/demo --segment vad --plot call.png
    hf-ser export --model outputs/demo --output outputs/demo-onnx --quantize int8
    hf-ser predict clips/ --model outputs/demo-onnx --backend onnx
    hf-ser inspect superb/hubert-large-superb-er

Exit status: 0 when every file was scored, 1 when some file could not be (its row says why), 2 for a usage error.
inspect: 0 healthy, 1 usable with warnings, 2 unusable.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
from pathlib import Path

import numpy as np

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hf-ser", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("predict", help="emotions of audio files, folders or long recordings")
    pr.add_argument("paths", nargs="+", metavar="PATH", help="audio files (anything FFmpeg reads), folders, or globs")
    pr.add_argument("--model", required=True, help="checkpoint folder or Hub id (an ONNX folder with --backend onnx)")
    pr.add_argument("--output", help="CSV or JSONL file (by its suffix); default: CSV on standard output")
    pr.add_argument("--format", choices=["csv", "jsonl", "parquet"],
                    help="output format (default: from --output's suffix, else csv); parquet needs --output")  # fmt: skip
    pr.add_argument("--resume", action="store_true",
                    help="with --output: skip the files an unfinished (or finished) run already wrote")  # fmt: skip
    pr.add_argument("--top_k", type=int, default=1, help="also list the k most likely labels per row (default 1)")
    pr.add_argument("--window", type=float, help="seconds per window: one row per window plus a summary row")
    pr.add_argument("--hop", type=float, help="seconds between window starts (default: the window, no overlap)")
    pr.add_argument(
        "--plot", help="with --window or --segment vad: emotion-over-time PNG (a folder for several files)"
    )
    pr.add_argument("--segment", choices=["window", "vad"],
                    help="vad: speech segments by silero-vad, one row each (non-speech rows too) plus a summary "
                         "weighted by speech time; window: fixed windows (--window, the default with it)")  # fmt: skip
    pr.add_argument("--max_segment", type=float, default=10.0,
                    help="--segment vad: speech runs longer than this are split into equal windows (default 10 s)")  # fmt: skip
    pr.add_argument("--min_gap", type=float, default=0.3,
                    help="--segment vad: pauses shorter than this stay inside a segment (default 0.3 s)")  # fmt: skip
    pr.add_argument("--vad_threshold", type=float, default=0.5, help="--segment vad: speech probability (default 0.5)")
    pr.add_argument("--max_seconds", type=float, default=60.0,
                    help="without --window, longer files are not classified whole (default 60)")  # fmt: skip
    pr.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 (default cpu)")
    pr.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    pr.add_argument("--backend", default="torch", choices=["torch", "onnx"])
    pr.add_argument("--batch_seconds", type=float, default=None,
                    help="audio seconds per forward pass (default 60; one clip at a time for --backend torch on the "
                    "CPU, which is faster there)")  # fmt: skip
    ex = sub.add_parser("export", help="ONNX export (optionally int8) for fast CPU inference")
    ex.add_argument("--model", required=True, help="checkpoint folder or Hub id")
    ex.add_argument(
        "--output",
        required=True,
        help="folder to write onnx/model.onnx (+ onnx/model_quantized.onnx) and configs into",
    )
    ex.add_argument("--quantize", choices=["int8"], help="dynamic int8 quantisation of the MatMul weights")
    ins = sub.add_parser("inspect", help="a checkpoint's health check: inputs, labels, head weights, a probe clip")
    ins.add_argument("model", metavar="MODEL", help="checkpoint folder or Hub id")
    ins.add_argument("--json", action="store_true", help="the findings as JSON (for scripts)")
    ins.add_argument("--label_map", help="names for the model's labels (LABEL_0=neutral,...), presets or a file")
    ins.add_argument("--no_probe", action="store_true", help="skip the forward pass on the probe clip")
    return p


def inspect(args) -> int:
    from hf_ser.inference.health import inspect_checkpoint
    from hf_ser.labels import parse_label_map

    result = inspect_checkpoint(args.model, label_map=parse_label_map(args.label_map), probe=not args.no_probe)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.report())
    return result.status


def _chart_paths(files: list[Path], plot: str) -> dict[Path, Path]:
    """Each file's chart: ``--plot`` itself for one file; for several, the files' paths below their common folder
    mirrored under ``--plot`` with ``.png`` appended (a/x.wav -> PLOT/a/x.wav.png), so no two files share a chart."""
    if len(files) == 1:
        return {files[0]: Path(plot)}
    resolved = [f.resolve() for f in files]
    root = Path(os.path.commonpath([r.parent for r in resolved]))
    return {
        f: Path(plot) / r.relative_to(root).with_name(r.name + ".png") for f, r in zip(files, resolved, strict=True)
    }


def _check_args(args) -> float | None:
    """Flags that cannot work, refused in one line before anything loads; returns the hop."""
    if args.top_k < 1:
        raise _Usage(f"--top_k {args.top_k}: must be >= 1")
    if args.segment == "vad":
        if args.window is not None or args.hop is not None:
            raise _Usage("--segment vad cuts where speech is: drop --window/--hop (or use --segment window)")
        from hf_ser.inference.vad import VadConfig

        try:
            VadConfig(threshold=args.vad_threshold, min_gap=args.min_gap, max_segment=args.max_segment).check()
        except ValueError as err:
            raise _Usage(str(err)) from err
        return None
    if args.segment == "window" and args.window is None:
        raise _Usage("--segment window needs --window S")
    if args.window is None and (args.hop is not None or args.plot):
        raise _Usage("--hop and --plot need --window S (or --segment vad)")
    hop = args.hop if args.hop is not None else args.window
    if args.window is not None and not (math.isfinite(args.window) and math.isfinite(hop) and 0 < hop <= args.window):
        raise _Usage(f"--window {args.window} / --hop {hop}: need 0 < hop <= window (finite seconds)")
    if not (math.isfinite(args.max_seconds) and args.max_seconds > 0) or not (
        args.batch_seconds is None or (math.isfinite(args.batch_seconds) and args.batch_seconds > 0)
    ):
        raise _Usage("--max_seconds and --batch_seconds must be finite and > 0")
    if args.backend == "onnx" and args.dtype != "float32":
        raise _Usage(f"--dtype {args.dtype}: the ONNX backend runs the exported float32 (or int8) model; drop --dtype "
                     "or use --backend torch")  # fmt: skip
    return hop


def predict(args) -> int:
    from hf_ser.inference.archive import ArchiveError, Shard, done_rows, output_format
    from hf_ser.inference.predict import EmotionPredictor, expand_inputs
    from hf_ser.inference.rows import is_predictions_file
    from hf_ser.outputs import check_output_path, guard_output, is_hf_ser_png

    hop = _check_args(args)
    fmt = output_format(args.output, args.format)
    shard = Shard.from_accelerate()
    if not args.output and (fmt == "parquet" or shard.world > 1 or args.resume):
        raise _Usage("--format parquet, --resume and several processes need --output FILE")
    files, missing = expand_inputs(args.paths)
    reads = [*files, Path(args.model)]
    if args.output:
        guard_output(args.output, "--output", reads=reads, ours=is_predictions_file, what="hf-ser predict")
    charts = {}
    if args.plot:
        check_output_path(args.plot, "--plot", folder=len(files) > 1)
        charts = _chart_paths(files, args.plot) if files else {}
        for png in charts.values():
            guard_output(png, "--plot", reads=reads, ours=is_hf_ser_png, what="hf-ser chart")
    try:
        done = done_rows(args.output, fmt, args.resume) if args.output else {}
    except ArchiveError as err:
        raise _Usage(str(err)) from err
    device = args.device
    if shard.world > 1 and device == "cuda":
        from accelerate import PartialState

        device = f"cuda:{PartialState().local_process_index}"  # one GPU per process
    predictor = EmotionPredictor.from_pretrained(args.model, backend=args.backend, device=device,
                                                 dtype=args.dtype, batch_seconds=args.batch_seconds)  # fmt: skip
    labels = predictor.labels
    if args.top_k > len(labels):
        raise _Usage(f"--top_k {args.top_k}: the model has {len(labels)} labels")
    vad = None
    if args.segment == "vad":
        from hf_ser.inference.vad import VadConfig

        vad = VadConfig(threshold=args.vad_threshold, min_gap=args.min_gap, max_segment=args.max_segment)
        if predictor.rate != 16_000:
            raise _Usage(f"--segment vad runs at 16 kHz; {args.model} takes {predictor.rate} Hz (use --window)")
        predictor.check_window(vad.max_segment)
    if args.window is not None:
        predictor.check_window(args.window)
    if shard.main:
        for m in missing:
            print(f"warning: {m}", file=sys.stderr)
    if not files:
        print("error: no audio file to score", file=sys.stderr)
        return 2
    if done and shard.main:
        skipped = sum(str(f) in done for f in files)
        print(f"--resume: {skipped} of {len(files)} files already done, not scored again", file=sys.stderr)
    job = _PredictJob(args, predictor, labels, files, hop, vad, charts, shard)
    failed = job.to_output(fmt, done) if args.output else job.to_stdout()
    if not shard.main:
        return 0
    n = len(files)
    print(f"{n - failed} of {n} file{'s' if n != 1 else ''} scored" + (f"; {failed} could not be (see their rows)" if failed else "")
          + (f"; wrote {args.output}" if args.output else ""), file=sys.stderr)  # fmt: skip
    return 1 if failed or missing else 0


class _PredictJob:
    """One `hf-ser predict` run over this process's share of the files: rows to standard output as they come, or
    to this process's part of ``--output`` (merged by the main process at the end: hf_ser.inference.archive)."""

    def __init__(self, args, predictor, labels, files, hop, vad, charts, shard):
        self.args, self.predictor, self.labels, self.files = args, predictor, labels, files
        self.hop, self.vad, self.charts, self.shard = hop, vad, charts, shard

    def _results(self, indices):
        from tqdm.auto import tqdm

        from hf_ser.inference.predict import iter_results

        with tqdm(total=len(indices), desc="Predicting", unit="file", file=sys.stderr,
                  disable=not self.shard.main or None) as bar:  # fmt: skip
            results = iter_results(self.predictor, [self.files[i] for i in indices], window=self.args.window,
                                   hop=self.hop, vad=self.vad, max_seconds=self.args.max_seconds, progress=bar)  # fmt: skip
            yield from zip(indices, results, strict=True)

    def _rows(self, res) -> list[dict]:
        from hf_ser.inference.rows import make_row

        for note in res.warnings:
            print(f"warning: {res.file}: {note}", file=sys.stderr)
        k = self.args.top_k
        kind = "segment" if self.vad else "window"
        rows = [make_row(res.file, kind, s.start, s.end, s.status, s.probs, self.labels, k) for s in res.windows]
        whole = "summary" if self.args.window is not None or self.vad else "file"
        rows.append(make_row(res.file, whole, 0.0 if res.duration is not None else None, res.duration, res.status,
                             res.probs, self.labels, k))  # fmt: skip
        if self.args.plot and res.windows:
            from hf_ser.inference.windows import plot_emotion_over_time

            probs = [s.probs if s.probs is not None else [0.0] * len(self.labels) for s in res.windows]
            plot_emotion_over_time([(s.start, s.end) for s in res.windows], np.array(probs), self.labels,
                                   self.charts[Path(res.file)], title=Path(res.file).name,
                                   silent=[s.status != "ok" for s in res.windows])  # fmt: skip
        return rows

    def to_stdout(self) -> int:
        from hf_ser.inference.rows import Writer, columns
        from hf_ser.outputs import sigterm_as_interrupt

        writer = Writer(
            "jsonl" if self.args.format == "jsonl" else "csv", sys.stdout, columns(self.labels, self.args.top_k)
        )
        failed = 0
        with sigterm_as_interrupt():
            for _, res in self._results(list(range(len(self.files)))):
                failed += not res.scored
                for row in self._rows(res):
                    writer.write(row)
        return failed

    def to_output(self, fmt: str, done: dict) -> int:
        from hf_ser.inference.archive import PartWriter, merge_parts
        from hf_ser.inference.rows import columns
        from hf_ser.outputs import sigterm_as_interrupt

        mine = [i for i in self.shard.indices(len(self.files)) if str(self.files[i]) not in done]
        parts = PartWriter(self.args.output, self.shard)
        try:
            with sigterm_as_interrupt():
                for i, res in self._results(mine):
                    parts.write(i, str(self.files[i]), self._rows(res))
        finally:
            parts.close()
        self.shard.wait()
        if not self.shard.main:
            return 0
        rows = merge_parts(self.args.output, fmt, [str(f) for f in self.files], columns(self.labels, self.args.top_k),
                           done)  # fmt: skip
        return sum(r["kind"] in ("file", "summary") and r["status"] != "ok" for r in rows)


def export(args) -> int:
    from hf_ser.inference.export import export_onnx
    from hf_ser.outputs import guard_output, sigterm_as_interrupt

    guard_output(args.output, "--output", folder=True, reads=[Path(args.model)])
    with sigterm_as_interrupt():
        path = export_onnx(args.model, args.output, quantize=args.quantize)
    print(
        f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB); try: hf-ser predict FILES --model {args.output} --backend onnx"
    )
    return 0


class _Usage(ValueError):
    pass


def main(argv: list[str] | None = None) -> int:
    from hf_ser.inference.export import ExportError
    from hf_ser.modeling.loading import ModelLoadError
    from hf_ser.outputs import OutputPathError

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # file names that are not UTF-8 (surrogate-escaped by Python) are written back as the bytes they were
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="surrogateescape" if stream is sys.stdout else "backslashreplace")
    try:
        return {"predict": predict, "export": export, "inspect": inspect}[args.command](args)
    except (ModelLoadError, OutputPathError, ExportError, _Usage, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # an output that cannot be written: unwritable folder, full disk
        print(f"error: cannot write {err.filename or 'the output'}: {err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resume = args.command == "predict" and args.output
        print("interrupted: no output file was written (an earlier one at the path is unchanged)"
              + ("; the files finished so far are kept: rerun with --resume" if resume else ""), file=sys.stderr)  # fmt: skip
        return 130


if __name__ == "__main__":
    sys.exit(main())
