"""Training steps of the three methods: audio seconds per second, peak memory, trainable params, FLOP utilisation.

On CPU in fp32; on GPU as the recipes train there (Trainer's bf16=True): fp32 weights and optimizer, the forward under
bf16 autocast."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from common import (
    ACCEL,
    HAS_CUDA,
    SMOKE,
    build_model,
    clips,
    device_name,
    feature_extractor,
    mixed_precision,
    peak_bf16_tflops,
    peak_memory,
    precision_name,
    sync,
)

from hf_ser.modeling.loading import count_parameters

ARCHS = ["tiny"] if SMOKE else ["hubert-base", "hubert-large"]
METHODS = ["none", "qkv", "classifier"]


def realistic_lengths(n: int, seed: int = 0) -> list[float]:
    """The clip-length mix of the four corpora (2-5 s, as CREMA-D/TESS/RAVDESS/SAVEE's means span)."""
    return (
        np.random.default_rng(seed).uniform(1.0, 1.5, n).tolist()
        if SMOKE
        else np.random.default_rng(seed).uniform(2.0, 5.0, n).tolist()
    )


def make_step(model, fe, arrays, device, *, autocast=torch.float32, max_length=None):
    """One optimizer step on these clips, as a closure; `autocast` is the forward's mixed-precision dtype."""
    labels = torch.arange(len(arrays), device=device) % 8
    pad = (
        {"padding": "longest"}
        if max_length is None
        else {"padding": "max_length", "max_length": max_length, "truncation": True}
    )
    inputs = {k: v.to(device) for k, v in fe(arrays, sampling_rate=16_000, return_tensors="pt", **pad).items()}
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5)
    model.train()

    def step():
        with mixed_precision(device, autocast):
            loss = model(**inputs, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync(device)

    return step, inputs


def count_step_flops(step) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return int(counter.get_total_flops())


def _run(benchmark, info, *, arch, method, device, autocast, batch):
    model = build_model(arch, method, device=device)
    fe = feature_extractor(arch)
    lengths = realistic_lengths(batch)
    step, _ = make_step(model, fe, clips(lengths), device, autocast=autocast)
    with peak_memory(device) as mem:  # the first step: optimizer state is allocated here, so this is the true peak
        step()
    flops = count_step_flops(step)  # also the warm-up of the timed rounds
    rounds = 1 if SMOKE else (10 if device.startswith("cuda") else (2 if arch == "hubert-large" else 3))
    benchmark.pedantic(step, rounds=rounds, iterations=1, warmup_rounds=0)
    median = benchmark.stats.stats.median
    audio = float(sum(lengths))
    params = count_parameters(model)
    info.update(arch=arch, method=method, device=device, dtype=precision_name(autocast), batch=batch,
                audio_s=audio, step_median_s=median, audio_s_per_s=audio / median, peak_memory_mb=mem["peak_mb"],
                peak_increase_mb=mem["delta_mb"], memory_kind=mem["kind"], trainable_params=params["trainable"], total_params=params["total"],
                flops_per_step=flops, flops_per_audio_s=flops / audio, achieved_tflops=flops / median / 1e12)  # fmt: skip
    peak = peak_bf16_tflops(device_name()) if device.startswith("cuda") and autocast == torch.bfloat16 else None
    if peak:
        info.update(peak_tflops=peak, flop_utilisation=flops / median / 1e12 / peak)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("arch", ARCHS)
def test_train_step_cpu_fp32(benchmark, info, arch, method):
    benchmark.group = f"train step cpu {arch}"
    _run(benchmark, info, arch=arch, method=method, device="cpu", autocast=torch.float32, batch=2 if SMOKE else 4)


@pytest.mark.cuda
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("arch", ARCHS)
def test_train_step_cuda_bf16(benchmark, info, arch, method):
    assert HAS_CUDA or SMOKE
    benchmark.group = f"train step {ACCEL} {arch}"
    _run(benchmark, info, arch=arch, method=method, device=ACCEL, autocast=torch.bfloat16, batch=2 if SMOKE else 8)
