"""The benchmark suite itself, once, on tiny configs (one round each): it must run and its report must render.
Without CUDA the smoke run still runs the GPU cases, on the CPU (bf16 inference, bf16-autocast training), and the
device-specific helpers are checked here on their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO


def test_benchmark_suite_smoke_and_report(tmp_path):
    out = tmp_path / "smoke.json"
    env = {**os.environ, "HF_SER_BENCH_SMOKE": "1", "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    # as pytest-benchmark users run it: no flags from the Makefile
    cmd = [sys.executable, "-m", "pytest", "benchmarks", "-q", f"--benchmark-json={out}", "-p", "no:cacheprovider"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    names = {b["name"].split("[")[0] for b in data["benchmarks"]}
    assert {"test_inference_cpu_fp32", "test_inference_cuda", "test_train_step_cpu_fp32", "test_train_step_cuda_bf16",
            "test_epoch_padding", "test_classifier_only_freezing", "test_augmentation_3s_clip", "test_collator_batch_8",
            "test_metrics_bundle_100k_x_8", "test_build_full_size", "test_trainer_e2e", "test_predict_backend_cpu",
            "test_predict_folder_vs_bare_forward_cuda", "test_segmentation_on_a_long_recording",
            "test_archive_throughput_cpu", "test_headline_ratio_interleaved", "test_build_memory", "test_int8_variants",
            "test_static_conv_fidelity"} <= names  # fmt: skip
    precisions = {(b["name"].split("[")[0], b["extra_info"].get("dtype")) for b in data["benchmarks"]}
    assert ("test_inference_cuda", "bfloat16") in precisions
    assert ("test_train_step_cuda_bf16", "bfloat16 autocast") in precisions
    assert ("test_classifier_only_freezing", "bfloat16 autocast") in precisions
    for b in data["benchmarks"]:
        assert {"git_sha", "machine", "device", "torch", "transformers"} <= set(b["extra_info"]), b["name"]
    assert data["hf_ser_run_info"]["smoke"] is True
    md = tmp_path / "smoke.md"
    report = subprocess.run([sys.executable, "benchmarks/report.py", str(out), "--output", str(md)], cwd=REPO,
                            capture_output=True, text=True)  # fmt: skip
    assert report.returncode == 0, report.stderr
    text = md.read_text()
    for heading in (
        "## Inference",
        "## Training step",
        "## Side by side (same run)",
        "## Trainer end to end",
        "## Predict",
        "## Segmentation of a long recording",
        "## Archive throughput",
        "## Data path",
        "## Dataset build",
        "## Dataset build: peak memory over corpus size",
    ):
        assert heading in text
    assert "smoke run" in text
    assert "1 interleaved rounds in the same run" in text and "median **" in text  # the headline ratio's line
    assert "## int8 ONNX variants (tried, not kept)" in text and "| conv-static |" in text
    assert "Fidelity on models/tiny-hubert-ssl" in text


def test_disabled_benchmarking_stops_with_one_line():
    env = {**os.environ, "HF_SER_BENCH_SMOKE": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "-q", "--benchmark-disable", "-p",
                           "no:cacheprovider"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 2 and "--benchmark-disable leaves them nothing to do" in proc.stdout + proc.stderr
    assert "AttributeError" not in proc.stdout + proc.stderr


def _common():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import common
    finally:
        sys.path.pop(0)
    return common


def test_peak_tflops_lookup_prefers_the_specific_name(monkeypatch):
    common = _common()
    monkeypatch.delenv("HF_SER_PEAK_TFLOPS", raising=False)
    assert common.peak_bf16_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert common.peak_bf16_tflops("NVIDIA H100 PCIe") == 756.0
    assert common.peak_bf16_tflops("NVIDIA L40S") == 362.0
    assert common.peak_bf16_tflops("NVIDIA L40") == 181.0
    assert common.peak_bf16_tflops("NVIDIA A10G") == 70.0
    assert common.peak_bf16_tflops("Some Future GPU") is None
    monkeypatch.setenv("HF_SER_PEAK_TFLOPS", "123.5")
    assert common.peak_bf16_tflops("Some Future GPU") == 123.5


def test_cuda_peak_memory_reads_the_allocator_counters(monkeypatch):
    """The GPU branch of peak_memory, against torch.cuda's real function names (setattr fails on a missing one)."""
    import torch

    common = _common()
    state = {"allocated": 100 * 2**20, "peak": 100 * 2**20}
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: None)
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats", lambda *a, **k: state.update(peak=state["allocated"]))
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda *a, **k: state["allocated"])
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a, **k: state["peak"])
    with common.peak_memory("cuda") as mem:
        state["peak"] = 350 * 2**20  # what the block allocated at its highest
    assert mem == {"peak_mb": 350.0, "delta_mb": 250.0, "kind": "cuda_max_memory_allocated"}


def test_mixed_precision_is_trainer_style_autocast():
    import torch

    common = _common()
    model = torch.nn.Linear(4, 2)
    with common.mixed_precision("cpu", torch.bfloat16):
        out = model(torch.ones(1, 4))
    assert out.dtype == torch.bfloat16 and model.weight.dtype == torch.float32  # fp32 weights, bf16 compute
    with common.mixed_precision("cpu", torch.float32):
        assert model(torch.ones(1, 4)).dtype == torch.float32
    assert common.precision_name(torch.bfloat16) == "bfloat16 autocast"


def test_report_leaves_out_foreign_records_and_says_so(tmp_path):
    data = {"benchmarks": [
        {"name": "test_collator_batch_8", "stats": {"median": 0.01},
         "extra_info": {"what": "pad", "batches_per_s": 100.0}},
        {"name": "test_inference_cpu_fp32[x]", "stats": {"median": 0.1}, "extra_info": {"arch": "x"}},
        {"name": "test_something_else", "stats": {"median": 0.1}, "extra_info": {}},
    ]}  # fmt: skip
    src = tmp_path / "b.json"
    src.write_text(json.dumps(data))
    proc = subprocess.run([sys.executable, "benchmarks/report.py", str(src)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "| pad | 10.0 | 100.0 batches/s |" in proc.stdout and "## Inference" not in proc.stdout
    assert "2 record(s)" in proc.stdout
    assert "skipped test_inference_cpu_fp32[x]: missing device" in proc.stderr
    assert "skipped test_something_else: not an hf-ser case" in proc.stderr
    src.write_text("[]")
    proc = subprocess.run([sys.executable, "benchmarks/report.py", str(src)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "not a pytest-benchmark JSON" in proc.stderr and "Traceback" not in proc.stderr
