"""Side-by-side choices measured in one run (the report divides the pairs):
- length-grouped dynamic padding vs padding every batch to a fixed length (the transformers example's way);
- classifier-only with the backbone truly frozen vs HF's freeze_base_model() alone.
Both pairs run on CPU (fp32) and, where CUDA is available, on the GPU (bf16 autocast, as the recipes train there)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from common import (
    ACCEL,
    SMOKE,
    build_model,
    clips,
    feature_extractor,
    mixed_precision,
    peak_memory,
    precision_name,
    sync,
)
from test_training import make_step

from hf_ser.data.transforms import AudioCollator

ARCH = "tiny" if SMOKE else "hubert-base"
N_CLIPS, BATCH = (8, 4) if SMOKE else (24, 8)
MAX_S = 2.0 if SMOKE else 6.0
# (device, forward precision): CPU in fp32; the GPU as the recipes train there (fp32 weights, bf16 autocast)
DEVICES = [
    pytest.param("cpu", torch.float32, id="cpu"),
    pytest.param(ACCEL, torch.bfloat16, marks=pytest.mark.cuda, id="cuda"),
]


def corpus_like_lengths(n: int, seed: int = 0) -> list[float]:
    """Lengths shaped like the merged corpus (CREMA-D's 2.5 s dominate; RAVDESS/SAVEE ~3.7 s; a tail to 7 s)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(mean=np.log(2.7), sigma=0.3, size=n), 1.2, 7.0).tolist()


@pytest.mark.parametrize("padding", ["length_grouped_dynamic", "fixed_max_length"])
@pytest.mark.parametrize(("device", "autocast"), DEVICES)
def test_epoch_padding(benchmark, info, device, autocast, padding):
    benchmark.group = f"ratio: padding ({device})"
    from transformers.trainer_pt_utils import LengthGroupedSampler

    torch.manual_seed(0)
    lengths = corpus_like_lengths(N_CLIPS)
    arrays = clips(lengths)
    fe = feature_extractor(ARCH)
    if padding == "length_grouped_dynamic":
        order = list(LengthGroupedSampler(BATCH, lengths=[len(a) for a in arrays]))
        collate = AudioCollator(fe)
    else:
        order = torch.randperm(N_CLIPS).tolist()
        collate = AudioCollator(fe, max_length=int(MAX_S * 16_000))
    batches = [collate([{"input_values": arrays[i], "labels": i % 8} for i in order[k : k + BATCH]])
               for k in range(0, N_CLIPS, BATCH)]  # fmt: skip
    batches = [{k: v.to(device) for k, v in b.items()} for b in batches]
    model = build_model(ARCH, device=device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()

    def epoch():
        for b in batches:
            with mixed_precision(device, autocast):
                loss = model(**b).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        sync(device)

    epoch()
    padded = sum(b["input_values"].numel() for b in batches)
    kept = (
        sum(len(a) for a in arrays)
        if padding == "length_grouped_dynamic"
        else sum(min(len(a), int(MAX_S * 16_000)) for a in arrays)
    )  # fixed-length padding also crops what is longer
    rounds = 1 if SMOKE else (5 if device.startswith("cuda") else 2)
    benchmark.pedantic(epoch, rounds=rounds, iterations=1, warmup_rounds=0)
    info.update(arch=ARCH, device=device, dtype=precision_name(autocast), padding=padding, clips=N_CLIPS, batch=BATCH,
                audio_samples=sum(len(a) for a in arrays), padded_samples=padded, padding_fraction=1 - kept / padded,
                cropped_samples=sum(len(a) for a in arrays) - kept, epoch_median_s=benchmark.stats.stats.median)  # fmt: skip


@pytest.mark.parametrize("freezing", ["hf_ser_classifier", "freeze_base_model_only"])
@pytest.mark.parametrize(("device", "autocast"), DEVICES)
def test_classifier_only_freezing(benchmark, info, device, autocast, freezing):
    benchmark.group = f"ratio: classifier-only freezing ({device})"
    if freezing == "hf_ser_classifier":
        model = build_model(ARCH, "classifier", device=device)
    else:
        model = build_model(ARCH, "none", device=device)
        model.freeze_base_model()
    fe = feature_extractor(ARCH)
    step, _ = make_step(model, fe, clips([1.5 if SMOKE else 3.0] * BATCH), device, autocast=autocast)
    with peak_memory(device) as mem:  # first step: includes the optimizer state
        step()
    rounds = 1 if SMOKE else (10 if device.startswith("cuda") else 3)
    benchmark.pedantic(step, rounds=rounds, iterations=1, warmup_rounds=0)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    info.update(arch=ARCH, device=device, dtype=precision_name(autocast), freezing=freezing, batch=BATCH,
                trainable_params=trainable, peak_memory_mb=mem["peak_mb"], peak_increase_mb=mem["delta_mb"],
                memory_kind=mem["kind"], step_median_s=benchmark.stats.stats.median)  # fmt: skip
