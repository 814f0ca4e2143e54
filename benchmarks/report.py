#!/usr/bin/env python
"""Turn a pytest-benchmark JSON of this suite into a Markdown report a person can read.

python benchmarks/report.py benchmarks/results/cpu.json --output benchmarks/results/cpu.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# Audio in the train split of the paper's protocol: 12,162 clips at the corpora's mean durations
# (RAVDESS 1440 x 3.7 s, CREMA-D 7442 x 2.5 s, TESS 2800 x 2.1 s, SAVEE 480 x 3.8 s), 70% of it in train.
CORPUS_AUDIO_S = 1440 * 3.7 + 7442 * 2.5 + 2800 * 2.1 + 480 * 3.8
TRAIN_AUDIO_S = 0.7 * CORPUS_AUDIO_S
PAPER_TRAIN_CLIPS = round(0.7 * 12_162)
PAPER_HOURS = 2.0  # per method, 50 epochs, one NVIDIA L40


# The extra_info fields each table reads, by benchmark name prefix.
REQUIRED = {
    "test_inference": ("arch", "device", "dtype", "mode", "clip_s", "batch", "latency_median_s", "rtf", "peak_memory_mb"),
    "test_train_step": ("arch", "device", "dtype", "method", "batch", "trainable_params", "total_params",
                        "step_median_s", "audio_s_per_s", "peak_memory_mb", "flops_per_audio_s"),
    "test_epoch_padding": ("arch", "padding", "clips", "batch", "epoch_median_s", "padded_samples", "padding_fraction"),
    "test_classifier_only": ("arch", "freezing", "batch", "step_median_s", "trainable_params"),
    "test_augmentation": ("what", "clips_per_s"),
    "test_collator": ("what", "batches_per_s"),
    "test_metrics_bundle": ("what", "n", "classes"),
    "test_build_full_size": ("num_proc", "files", "files_per_s"),
    "test_predict_backend_cpu": ("arch", "backend", "clip_s", "latency_median_s", "rtf"),
    "test_onnx_agreement": ("clips", "torch_accuracy", "fp32_agreement", "int8_agreement", "int8_accuracy"),
    "test_predict_folder_vs_bare": ("arch", "device", "dtype", "clips", "folder_audio_s_per_s", "bare_audio_s_per_s",
                                    "folder_vs_bare"),
    "test_segmentation": ("mode", "recording_s", "speech_regions", "boundary_f1", "per_second_accuracy",
                          "per_second_accuracy_speech", "seconds_per_audio_hour"),
    "test_archive_throughput": ("case", "files", "audio_s", "wall_s", "audio_h_per_h"),
    "test_build_memory": ("case", "builder", "hours", "clips", "wall_s", "clips_per_s", "peak_rss_mb",
                          "worker_peak_rss_mb"),
    "test_headline_ratio_interleaved": ("arch", "rounds", "pipeline_s", "vad_s", "ratios", "median_ratio"),
    "test_int8_variants": ("arch", "rounds", "input_s", "medians_ms", "vs_shipped", "max_logit_diff"),
    "test_static_conv_fidelity": ("model", "windows", "logit_rel_error", "top_label_changed"),
    "test_static_conv_demo_accuracy": ("model", "clips", "accuracy", "agreement_with_fp32"),
    "test_onnx_graph_rewrites": ("arch", "rounds", "plain_3s", "rewritten_3s", "plain_10s", "rewritten_10s"),
    "test_torch_cpu_batching": ("arch", "windows", "rounds", "threads", "one_at_a_time_s", "one_batch_s"),
    "test_trainer_e2e": ("arch", "method", "batching", "device", "dtype", "steps", "step_median_s", "audio_s_per_s",
                         "data_wait_share", "peak_memory_mb", "projected_50_epochs_min"),
}  # fmt: skip


def _rows(data: dict, prefix: str) -> list[dict]:
    return [b for b in data["benchmarks"] if b["name"].startswith(prefix)]


def unusable_records(data: dict) -> list[tuple[str, str]]:
    """(name, why) of each record this report cannot read: another suite's, or an older layout."""
    out = []
    for b in data.get("benchmarks", []):
        prefix = next((p for p in REQUIRED if b.get("name", "").startswith(p)), None)
        missing = [k for k in REQUIRED.get(prefix, ()) if k not in b.get("extra_info", {})]
        if prefix is None or missing:
            out.append((b.get("name", "?"), f"missing {', '.join(missing)}" if prefix else "not an hf-ser case"))
    return out


def _mb(x):
    return f"{x:,.0f}" if x is not None else "n/a"


def inference_table(data) -> list[str]:
    rows = _rows(data, "test_inference")
    if not rows:
        return []
    out = ["## Inference", "", "Median latency per call; real-time factor = latency / audio seconds (lower is faster);"
           " peak memory = process RSS on CPU (absolute, and the increase over the memory in use before the call, after"
           " returning freed heap to the OS), `torch.cuda.max_memory_allocated` on GPU.", "",
           "| arch | device | dtype | mode | clip (s) | batch | latency (ms) | RTF | peak memory (MiB) | of which this call (MiB) |",
           "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for b in sorted(rows, key=lambda b: (b["extra_info"]["arch"], b["extra_info"]["device"], b["extra_info"]["dtype"],
                                         b["extra_info"]["mode"], b["extra_info"]["clip_s"], b["extra_info"]["batch"])):  # fmt: skip
        e = b["extra_info"]
        out.append(f"| {e['arch']} | {e['device']} | {e['dtype']} | {e['mode']} | {e['clip_s']:g} | {e['batch']} | "
                   f"{1000 * e['latency_median_s']:,.1f} | {e['rtf']:.3f} | {_mb(e['peak_memory_mb'])} | "
                   f"{_mb(e.get('peak_increase_mb'))} |")  # fmt: skip
    return out + [""]


def training_table(data) -> list[str]:
    rows = _rows(data, "test_train_step")
    if not rows:
        return []
    out = ["## Training step", "",
           f"One optimizer step on a batch of 2-5 s clips. Projected time of the paper's 50 epochs = 50 x "
           f"{TRAIN_AUDIO_S / 3600:.1f} h of train-split audio / measured audio s per s (one device, no data-loading "
           f"stalls); the paper reports ~{PAPER_HOURS:g} h per method on one L40. On GPU the step runs as the recipes "
           "train there: fp32 weights, the forward under bf16 autocast; FLOP utilisation = achieved TFLOP/s over the "
           "device's dense bf16 peak (datasheet, TFLOP/s).", "",
           "| arch | device | dtype | method | batch | trainable / total params | step (s) | audio s / s | peak memory (MiB) | of which this step (MiB) | GFLOP / audio s | FLOP util. | projected 50 epochs (h) |",
           "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for b in sorted(
        rows,
        key=lambda b: (
            b["extra_info"]["arch"],
            b["extra_info"]["device"],
            b["extra_info"]["dtype"],
            b["extra_info"]["method"],
        ),
    ):
        e = b["extra_info"]
        util = f"{100 * e['flop_utilisation']:.1f}% of {e['peak_tflops']:g}" if "flop_utilisation" in e else "n/a"
        hours = 50 * TRAIN_AUDIO_S / e["audio_s_per_s"] / 3600
        out.append(f"| {e['arch']} | {e['device']} | {e['dtype']} | {e['method']} | {e['batch']} | "
                   f"{e['trainable_params']:,} / {e['total_params']:,} | {e['step_median_s']:.3f} | "
                   f"{e['audio_s_per_s']:.2f} | {_mb(e['peak_memory_mb'])} | {_mb(e.get('peak_increase_mb'))} | "
                   f"{e['flops_per_audio_s'] / 1e9:,.1f} | "
                   f"{util} | {hours:,.1f} |")  # fmt: skip
    return out + [""]


def _pairs(rows, key, a, b):
    """("device dtype", row a, row b) for each device and precision on which both sides of a pair ran."""
    by: dict[tuple, dict] = {}
    for r in rows:
        e = r["extra_info"]
        by.setdefault((e.get("device", "cpu"), e.get("dtype", "float32")), {})[e[key]] = r
    return [(" ".join(k), sides[a], sides[b]) for k, sides in sorted(by.items()) if a in sides and b in sides]


def ratio_table(data) -> list[str]:
    rows = []
    for dev, dyn, fixed in _pairs(_rows(data, "test_epoch_padding"), "padding", "length_grouped_dynamic",
                                  "fixed_max_length"):  # fmt: skip
        d, f = dyn["extra_info"], fixed["extra_info"]
        rows.append(f"| padding ({d['arch']}, {dev}, {d['clips']} corpus-like clips, batch "
                    f"{d['batch']}) | length-grouped dynamic: {d['epoch_median_s']:.2f} s/epoch | pad to fixed length: "
                    f"{f['epoch_median_s']:.2f} s/epoch | {f['epoch_median_s'] / d['epoch_median_s']:.2f}x | padded "
                    f"samples {f['padded_samples'] / d['padded_samples']:.2f}x (padding {100 * d['padding_fraction']:.0f}% "
                    f"vs {100 * f['padding_fraction']:.0f}%) |")  # fmt: skip
    for dev, ours, hf in _pairs(_rows(data, "test_classifier_only"), "freezing", "hf_ser_classifier",
                                "freeze_base_model_only"):  # fmt: skip
        o, h = ours["extra_info"], hf["extra_info"]
        rows.append(f"| classifier-only ({o['arch']}, {dev}, batch {o['batch']}) | backbone "
                    f"truly frozen: {o['step_median_s']:.3f} s/step | `freeze_base_model()` alone: {h['step_median_s']:.3f} "
                    f"s/step | {h['step_median_s'] / o['step_median_s']:.2f}x | step memory {_mb(o.get('peak_increase_mb'))}"
                    f" vs {_mb(h.get('peak_increase_mb'))} MiB; same {o['trainable_params']:,} trainable params |")  # fmt: skip
    if not rows:
        return []
    return ["## Side by side (same run)", "", "| comparison | ours | alternative | time ratio (alternative / ours) | other |",
            "| --- | --- | --- | ---: | --- |", *rows, ""]  # fmt: skip


def e2e_table(data) -> list[str]:
    rows = _rows(data, "test_trainer_e2e")
    if not rows:
        return []
    out = ["## Trainer end to end (the recipe's own path)", "",
           "`hf_ser.training.run.train` for N optimizer steps (steady state after warm-up): sampler, collator, augmentation, "
           "dataloader workers, mixed precision. Data wait = share of step-to-step time spent fetching the next batch. "
           f"Projection: 50 epochs of the paper's train split ({TRAIN_AUDIO_S / 3600:.1f} h of audio); classifier-only: "
           "one cached-feature pass over 2 views plus 50 epochs of head steps.", "",
           "| arch | method | batches | device | precision | step (ms) | audio s / s | FLOP util. | data wait | padding | peak memory (MiB) | 50 epochs (min) |",
           "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for b in sorted(rows, key=lambda b: (b["extra_info"]["method"], b["extra_info"]["batching"])):
        e = b["extra_info"]
        util = f"{100 * e['flop_utilisation']:.1f}%" if e.get("flop_utilisation") is not None else "n/a"
        pad = f"{100 * e['padding_fraction']:.1f}%" if e.get("padding_fraction") is not None else "n/a"
        out.append(f"| {e['arch']} | {e['method']} | {e['batching']} | {e['device']} | {e['dtype']} | "
                   f"{1000 * e['step_median_s']:,.1f} | {e['audio_s_per_s']:,.1f} | {util} | {100 * e['data_wait_share']:.0f}% | "
                   f"{pad} | {_mb(e['peak_memory_mb'])} | {e['projected_50_epochs_min']:,.1f} |")  # fmt: skip
    return out + [""]


def predict_table(data) -> list[str]:
    rows = _rows(data, "test_predict_backend_cpu")
    agree = _rows(data, "test_onnx_agreement")
    folder = _rows(data, "test_predict_folder_vs_bare")
    if not (rows or agree or folder):
        return []
    out = ["## Predict (`hf-ser predict`)", ""]
    if rows:
        out += ["CPU, batch 1, median latency; speed-up = the plain `pipeline()`'s latency / this backend's, same run.", "",
                "| arch | clip (s) | backend | latency (ms) | RTF | speed-up vs pipeline |",
                "| --- | ---: | --- | ---: | ---: | ---: |"]  # fmt: skip
        base = {(b["extra_info"]["arch"], b["extra_info"]["clip_s"]): b["extra_info"]["latency_median_s"]
                for b in rows if b["extra_info"]["backend"] == "pipeline"}  # fmt: skip
        order = {"pipeline": 0, "torch": 1, "onnx_fp32": 2, "onnx_int8": 3}
        for b in sorted(
            rows,
            key=lambda b: (
                b["extra_info"]["arch"],
                b["extra_info"]["clip_s"],
                order.get(b["extra_info"]["backend"], 9),
            ),
        ):
            e = b["extra_info"]
            ref = base.get((e["arch"], e["clip_s"]))
            up = f"{ref / e['latency_median_s']:.2f}x" if ref else "n/a"
            out.append(
                f"| {e['arch']} | {e['clip_s']:g} | {e['backend']} | {1000 * e['latency_median_s']:,.1f} | {e['rtf']:.3f} | {up} |"
            )
        out.append("")
    for b in agree:
        e = b["extra_info"]
        out += [f"Trained demo model on its {e['clips']} test clips: torch fp32 accuracy {100 * e['torch_accuracy']:.1f}%; "
                f"ONNX fp32 top-1 agreement {100 * e['fp32_agreement']:.1f}% (accuracy {100 * e['fp32_accuracy']:.1f}%), "
                f"ONNX int8 agreement {100 * e['int8_agreement']:.1f}% (accuracy {100 * e['int8_accuracy']:.1f}%).", ""]  # fmt: skip
    for b in folder:
        e = b["extra_info"]
        out += [f"{e['arch']} on {e['device']} ({e['dtype']}), {e['clips']} clips of {e['clip_s']:g} s: predict over WAV "
                f"files {e['folder_audio_s_per_s']:,.0f} audio s/s, bare forward {e['bare_audio_s_per_s']:,.0f} audio s/s "
                f"({100 * e['folder_vs_bare']:.0f}% of the bare forward).", ""]  # fmt: skip
    return out


def segmentation_table(data) -> list[str]:
    rows = _rows(data, "test_segmentation")
    if not rows:
        return []
    e0 = rows[0]["extra_info"]
    out = ["## Segmentation of a long recording (`hf-ser predict --segment vad` vs `--window`)", "",
           f"{e0['recording_s']:g} s: {e0['speech_regions']} demo test clips, pauses, music-like tones, noise; demo model. "
           "Boundary F1: speech regions' edges within 0.25 s. Per-second accuracy: the label at each second's centre "
           "(none outside speech) against the truth.", "",
           "| segmentation | boundary F1 | per-second accuracy (all) | (speech) | s per audio hour |",
           "| --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for b in rows:
        e = b["extra_info"]
        name = "VAD (silero)" if e["mode"] == "vad" else f"windows {e['window']:g} s / hop {e['hop']:g} s"
        out.append(f"| {name} | {e['boundary_f1']:.3f} | {100 * e['per_second_accuracy']:.1f}% | "
                   f"{100 * e['per_second_accuracy_speech']:.1f}% | {e['seconds_per_audio_hour']:,.0f} |")  # fmt: skip
    return [*out, ""]


def throughput_table(data) -> list[str]:
    rows = _rows(data, "test_archive_throughput")
    extras = [_rows(data, n) for n in ("test_headline_ratio_interleaved", "test_onnx_graph_rewrites",
                                       "test_torch_cpu_batching")]  # fmt: skip
    if not rows and not any(extras):
        return []
    out = ["## Archive throughput (`hf-ser predict` over long recordings)"]
    if rows:  # the one-round table; a run of only the cases below (``-k headline``) goes without it
        out += _throughput_rows(rows)
    vad = next((b["extra_info"] for b in rows if b["extra_info"].get("vad_one_lane_s")), None)
    if vad:
        out += ["", f"silero-vad over the folder: {vad['vad_s']:.1f} s with the recordings side by side (8 lanes, as "
                f"predict runs it), {vad['vad_one_lane_s']:.1f} s one at a time "
                f"({vad['vad_one_lane_s'] / vad['vad_s']:.1f}x)."]  # fmt: skip
    ratio = _rows(data, "test_headline_ratio_interleaved")
    if ratio:
        h = ratio[0]["extra_info"]
        out += ["", f"The goal (int8 + VAD against `pipeline()`), {h['rounds']} interleaved rounds in the same run: "
                f"pipeline {', '.join(f'{t:.1f}' for t in h['pipeline_s'])} s, int8 + VAD "
                f"{', '.join(f'{t:.1f}' for t in h['vad_s'])} s; per-round ratios "
                f"{', '.join(f'{r:.2f}x' for r in h['ratios'])}, median **{h['median_ratio']:.2f}x** "
                f"(range {h['min_ratio']:.2f}x-{h['max_ratio']:.2f}x)."]  # fmt: skip
    graph = _rows(data, "test_onnx_graph_rewrites")
    if graph:
        g = graph[0]["extra_info"]
        out += ["", f"int8 ONNX graph, {g['arch']} shapes, median of {g['rounds']} interleaved rounds: as torch writes "
                f"it (SDPA attention, 1-d convs) {1000 * g['plain_3s']:.0f} ms on 3 s / {1000 * g['plain_10s']:.0f} ms "
                f"on 10 s; as hf-ser exports it (eager attention, 2-d convs) {1000 * g['rewritten_3s']:.0f} ms / "
                f"{1000 * g['rewritten_10s']:.0f} ms ({g['plain_3s'] / g['rewritten_3s']:.2f}x / "
                f"{g['plain_10s'] / g['rewritten_10s']:.2f}x)."]  # fmt: skip
    batching = _rows(data, "test_torch_cpu_batching")
    if batching:
        b = batching[0]["extra_info"]
        out += ["", f"torch backend, {b['arch']} shapes, {b['windows']} windows of 3 s on {b['threads']} threads, median "
                f"of {b['rounds']} interleaved rounds: one at a time (the CPU default) {b['one_at_a_time_s']:.2f} s, "
                f"in one batch {b['one_batch_s']:.2f} s ({b['one_batch_s'] / b['one_at_a_time_s']:.2f}x as long)."]  # fmt: skip
    return [*out, ""]


def _throughput_rows(rows) -> list[str]:
    e0 = rows[0]["extra_info"]
    base = next((b["extra_info"]["audio_h_per_h"] for b in rows if b["extra_info"]["case"].endswith("pipeline")),
                None)  # fmt: skip
    out = ["", f"{e0['files']} files, {e0['audio_s']:g} s of audio ({e0['speech_s']:g} s of it speech), {e0['arch']} "
           "shapes; one round each, same run. Shares: decoding and VAD timed in separate passes, the model is the rest.",
           "", "| case | wall (s) | audio h / h | speech h / h | vs pipeline | decode | VAD | model |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip

    def pct(x):
        return "n/a" if x is None else f"{100 * x:.0f}%"

    for b in rows:
        e = b["extra_info"]
        speech = "n/a" if e.get("speech_h_per_h") is None else f"{e['speech_h_per_h']:,.0f}"
        up = f"{e['audio_h_per_h'] / base:.2f}x" if base else "n/a"
        out.append(f"| {e['case']} | {e['wall_s']:.1f} | {e['audio_h_per_h']:,.0f} | {speech} | {up} | "
                   f"{pct(e.get('decode_share'))} | {pct(e.get('vad_share'))} | {pct(e.get('model_share'))} |")  # fmt: skip
    return out


def onnx_variants_table(data) -> list[str]:
    rows = _rows(data, "test_int8_variants")
    if not rows:
        return []
    e = rows[0]["extra_info"]
    out = ["## int8 ONNX variants (tried, not kept)", "",
           f"{e['arch']} shapes, one {e['input_s']:g} s input, medians of {e['rounds']} interleaved rounds in one "
           "process; the largest logit difference from torch fp32 beside each.", "",
           "| variant | ms | vs shipped | max logit diff |", "| --- | ---: | ---: | ---: |"]  # fmt: skip
    for name, ms in e["medians_ms"].items():
        out.append(f"| {name} | {ms:,.0f} | {e['vs_shipped'][name]:.2f}x | {e['max_logit_diff'][name]:.4f} |")
    fused = {k: v for k, v in e["fused"].items() if v}
    out += [
        "",
        f"The transformer optimizer fused: {', '.join(f'{k} {v}' for k, v in fused.items()) or 'nothing'}. "
        f"The im2col rewrite in fp32 against the shipped fp32 graph: largest logit difference "
        f"{e['im2col_fp32_diff']:.1e}.",
    ]
    if e.get("shipped_op_shares"):
        top = list(e["shipped_op_shares"].items())[:4]
        out += ["", "The shipped graph's kernel time by operator (ONNX Runtime's profiler): "
                + ", ".join(f"{op} {100 * v:.0f}%" for op, v in top) + "."]  # fmt: skip
    for r in _rows(data, "test_static_conv_fidelity"):
        f = r["extra_info"]
        rel, flips = f["rel_error"], f["top_label_changed"]
        out += [
            "",
            f"Fidelity on {f['model']} (pretrained conv encoder, seeded head), {f['windows']} held-out windows "
            "of 3 s; relative error from fp32 at the encoder's output, after the layer norm that follows it, and "
            "of the logits: "
            + "; ".join(
                f"{n} " + ", ".join(f"{100 * e[k]:.1f}%" for k in ("norm_in", "norm_out", "logits"))
                for n, e in rel.items()
            )
            + ". Top label changed: "
            + ", ".join(f"{n} {100 * v:.0f}%" for n, v in flips.items())
            + ".",
        ]
    for r in _rows(data, "test_static_conv_demo_accuracy"):
        f = r["extra_info"]
        out += [
            "",
            f"The trained demo model ({f['clips']} test clips): accuracy "
            + ", ".join(f"{n} {100 * v:.1f}%" for n, v in f["accuracy"].items())
            + "; agreement with fp32 "
            + ", ".join(f"{n} {100 * v:.1f}%" for n, v in f["agreement_with_fp32"].items() if n != "fp32")
            + ".",
        ]
    return [*out, ""]


def build_memory_table(data) -> list[str]:
    rows = _rows(data, "test_build_memory")
    if not rows:
        return []
    out = ["## Dataset build: peak memory over corpus size", "",
           "Synthetic manifest corpora of distinct 4 s clips (16 kHz WAV), `--num-proc 2`, each build in a process of "
           "its own; clips/s over the whole build (scan, decode, protocols, Parquet, card).", "",
           "| builder | hours | clips | wall (s) | clips / s | peak RSS (MB) | worker peak RSS (MB) |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for b in rows:
        e = b["extra_info"]
        out.append(f"| {e['builder']} | {e['hours']:g} | {e['clips']:,} | {e['wall_s']:.1f} | {e['clips_per_s']:.1f} | "
                   f"{e['peak_rss_mb']:,.0f} | {e['worker_peak_rss_mb']:,.0f} |")  # fmt: skip
    stream = sorted((b["extra_info"] for b in rows if b["extra_info"]["builder"] == "streaming"),
                    key=lambda e: e["hours"])  # fmt: skip
    before = next((b["extra_info"] for b in rows if b["extra_info"]["builder"] != "streaming"), None)
    if len(stream) >= 2:
        lo, hi = stream[0], stream[-1]
        out += ["", f"Peak RSS at {hi['hours']:g} h against {lo['hours']:g} h: "
                f"{100 * (hi['peak_rss_mb'] / lo['peak_rss_mb'] - 1):+.1f}% for {hi['clips'] / lo['clips']:.0f}x the clips."]  # fmt: skip
    if before and stream:
        same = next((e for e in stream if e["hours"] == before["hours"]), None)
        if same:
            out += ["", f"At {same['hours']:g} h, against {before['builder']}: {same['clips_per_s'] / before['clips_per_s']:.2f}x "
                    f"the clips/s, {same['peak_rss_mb'] / before['peak_rss_mb']:.2f}x the peak RSS."]  # fmt: skip
    return [*out, ""]


def data_table(data) -> list[str]:
    rows = _rows(data, "test_augmentation") + _rows(data, "test_collator") + _rows(data, "test_metrics_bundle")
    builds = _rows(data, "test_build_full_size")
    out = []
    if rows:
        out += ["## Data path", "", "| step | median (ms) | throughput |", "| --- | ---: | --- |"]
        for b in rows:
            e, med = b["extra_info"], b["stats"]["median"]
            thr = (f"{e['clips_per_s']:.1f} clips/s" if "clips_per_s" in e else f"{e['batches_per_s']:.1f} batches/s"
                   if "batches_per_s" in e else f"{e['n'] / med:,.0f} samples/s ({e['n']:,} x {e['classes']})")  # fmt: skip
            out.append(f"| {e['what']} | {1000 * med:,.1f} | {thr} |")
        out.append("")
    if builds:
        base = next((b for b in builds if b["extra_info"]["num_proc"] == 1), None)
        out += ["## Dataset build (full size: every file name of the four corpora, 0.3 s clips at native rates)", "",
                "| --num-proc | files | seconds | files / s | speed-up |", "| ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
        for b in sorted(builds, key=lambda b: b["extra_info"]["num_proc"]):
            e = b["extra_info"]
            up = f"{base['stats']['median'] / b['stats']['median']:.2f}x" if base else "n/a"
            out.append(
                f"| {e['num_proc']} | {e['files']:,} | {b['stats']['median']:.1f} | {e['files_per_s']:,.0f} | {up} |"
            )
        out.append("")
    return out


def render(data: dict) -> str:
    info = data.get("hf_ser_run_info", {})
    head = [f"# hf-ser benchmarks: {info.get('machine') or info.get('device', 'unknown device')}", "",
            (f"CPU: {info['cpu']}; GPU: " + (f"{info['gpu']} (CUDA {info.get('cuda')}). " if info.get("gpu") else "none. ")
             if "cpu" in info else "")
            + f"git {info.get('git_sha', '?')}, torch {info.get('torch', '?')}, transformers {info.get('transformers', '?')}, "
            f"peft {info.get('peft', '?')}, Python {info.get('python', '?')}; {data.get('datetime', '')}"
            + (" (**smoke run: tiny configs, not figures to quote**)" if info.get("smoke") else ""), ""]  # fmt: skip
    return "\n".join(
        head
        + inference_table(data)
        + training_table(data)
        + e2e_table(data)
        + predict_table(data)
        + segmentation_table(data)
        + throughput_table(data)
        + onnx_variants_table(data)
        + build_memory_table(data)
        + ratio_table(data)
        + data_table(data)
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("json", help="pytest-benchmark JSON")
    p.add_argument("--output", help="Markdown file to write (default: print)")
    args = p.parse_args(argv)
    try:
        data = json.loads(Path(args.json).read_text())
    except (OSError, json.JSONDecodeError) as err:
        print(f"error: cannot read {args.json}: {err}", file=sys.stderr)
        return 2
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        print(f"error: {args.json} is not a pytest-benchmark JSON (no 'benchmarks' list)", file=sys.stderr)
        return 2
    skipped = unusable_records(data)
    for name, why in skipped:
        print(f"skipped {name}: {why}", file=sys.stderr)
    bad = {name for name, _ in skipped}
    md = render({**data, "benchmarks": [b for b in data["benchmarks"] if b.get("name") not in bad]})
    if skipped:
        md += f"\n_{len(skipped)} record(s) of {args.json} lack the fields this report reads and are left out._\n"
    if args.output:
        Path(args.output).write_text(md + "\n")
        print(f"wrote {args.output}")
    else:
        print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
