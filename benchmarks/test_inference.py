"""Inference: pipeline("audio-classification") and the bare forward; latency, real-time factor, peak memory."""

from __future__ import annotations

import pytest
import torch
from common import ACCEL, HAS_CUDA, SMOKE, build_model, clips, feature_extractor, peak_memory, sync

ARCHS = ["tiny"] if SMOKE else ["hubert-base", "hubert-large"]
CLIPS = [1.0] if SMOKE else [1.0, 3.0, 10.0]
BATCHES = [1, 2] if SMOKE else [1, 8]
COST = {"tiny": 0.01, "hubert-base": 0.05, "hubert-large": 0.2}  # rough CPU seconds per audio second


def _rounds(arch: str, seconds: float, device: str) -> int:
    if SMOKE:
        return 1
    if device.startswith("cuda"):
        return 20
    return max(2, min(10, int(6 / (COST[arch] * seconds))))


def _run_case(benchmark, info, *, arch, mode, clip_s, batch, device, dtype):
    model = build_model(arch, device=device, dtype=dtype).eval()
    fe = feature_extractor(arch)
    arrays = clips([clip_s] * batch)
    if mode == "pipeline":
        from transformers import pipeline

        clf = pipeline("audio-classification", model=model, feature_extractor=fe, device=device, dtype=dtype)

        def call():
            out = clf(arrays, batch_size=batch, top_k=1)
            sync(device)
            return out
    else:
        inputs = fe(arrays, sampling_rate=16_000, return_tensors="pt", padding=True)
        inputs = {k: (v.to(device, dtype) if v.is_floating_point() else v.to(device)) for k, v in inputs.items()}

        def call():
            with torch.inference_mode():
                out = model(**inputs).logits
            sync(device)
            return out

    with peak_memory(
        device
    ) as mem:  # the warm-up call: its peak includes the first-call allocations, as a server's would
        call()
    benchmark.pedantic(call, rounds=_rounds(arch, clip_s * batch, device), iterations=1, warmup_rounds=0)
    median = benchmark.stats.stats.median
    info.update(arch=arch, mode=mode, clip_s=clip_s, batch=batch, device=device, dtype=str(dtype).removeprefix("torch."),
                audio_s=clip_s * batch, latency_median_s=median, rtf=median / (clip_s * batch),
                peak_memory_mb=mem["peak_mb"], peak_increase_mb=mem["delta_mb"], memory_kind=mem["kind"])  # fmt: skip


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("clip_s", CLIPS)
@pytest.mark.parametrize("mode", ["pipeline", "forward"])
@pytest.mark.parametrize("arch", ARCHS)
def test_inference_cpu_fp32(benchmark, info, arch, mode, clip_s, batch):
    benchmark.group = f"inference cpu {arch}"
    _run_case(benchmark, info, arch=arch, mode=mode, clip_s=clip_s, batch=batch, device="cpu", dtype=torch.float32)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("clip_s", CLIPS)
@pytest.mark.parametrize("mode", ["pipeline", "forward"])
@pytest.mark.parametrize("arch", ARCHS)
def test_inference_cuda(benchmark, info, arch, mode, clip_s, batch, dtype):
    assert HAS_CUDA or SMOKE
    benchmark.group = f"inference {ACCEL} {arch}"
    _run_case(benchmark, info, arch=arch, mode=mode, clip_s=clip_s, batch=batch, device=ACCEL, dtype=dtype)
