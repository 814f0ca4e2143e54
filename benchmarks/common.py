"""What every benchmark shares: architectures, run info, peak-memory measurement, the smoke switch."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

SMOKE = os.environ.get("HF_SER_BENCH_SMOKE") == "1"  # tiny configs, one round: keeps the benchmarks from rotting
HAS_CUDA = torch.cuda.is_available()
# Where the accelerator cases run: CUDA. A smoke run on a machine without CUDA runs them on the CPU instead, so that
# their code paths (bf16 inference, bf16-autocast training steps, the side-by-side pairs) are exercised in CI too.
ACCEL = "cuda" if HAS_CUDA else "cpu"
REPO = Path(__file__).resolve().parents[1]

# Dense (no sparsity) bf16 tensor-core peak in TFLOP/s from the vendors' datasheets, for FLOP utilisation. Matched
# against torch.cuda.get_device_name() in this order, so the more specific names come first ("L40S" before "L40").
# For a device not listed, set HF_SER_PEAK_TFLOPS.
PEAK_BF16_TFLOPS = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("GH200", 989.0),
    ("H200", 989.0),
    ("H100", 989.0),  # SXM ("NVIDIA H100 80GB HBM3")
    ("L40S", 362.0),
    ("L40", 181.0),
    ("A100", 312.0),
    ("A10G", 70.0),
    ("A10", 125.0),
    ("L4", 121.0),
)


def peak_bf16_tflops(name: str) -> float | None:
    """The device's dense bf16 peak: HF_SER_PEAK_TFLOPS if set, else the datasheet figure for `name`, else None."""
    if os.environ.get("HF_SER_PEAK_TFLOPS"):
        return float(os.environ["HF_SER_PEAK_TFLOPS"])
    return next((tflops for key, tflops in PEAK_BF16_TFLOPS if key in name), None)


def hubert_config(arch: str):
    """Real hubert-base / hubert-large shapes (random init costs exactly what trained weights do). hubert-large is
    superb/hubert-large-superb-er's config: stable layer norm, LayerDrop 0.1 with the weighted layer sum, SpecAugment
    (transformers' defaults of 0.1 and 0.05); the smoke run's tiny stand-in keeps those hazards."""
    from transformers import HubertConfig

    from hf_ser.labels import ID2LABEL, LABEL2ID
    from hf_ser.modeling.loading import tiny_hubert_config

    common = dict(num_labels=8, id2label=dict(ID2LABEL), label2id=dict(LABEL2ID))
    if SMOKE or arch == "tiny":
        hazards = dict(layerdrop=0.5, use_weighted_layer_sum=True) if arch == "hubert-large" else {}
        return tiny_hubert_config(hidden_size=32, num_layers=2 if hazards else 1, **hazards)
    if arch == "hubert-base":  # facebook/hubert-base-ls960
        return HubertConfig(**common, classifier_proj_size=256)
    if arch == "hubert-large":  # superb/hubert-large-superb-er / facebook/hubert-large-ll60k
        return HubertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                            feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True,
                            classifier_proj_size=256, use_weighted_layer_sum=True, layerdrop=0.1, **common)  # fmt: skip
    raise ValueError(arch)


def build_model(arch: str, method: str = "none", device: str = "cpu", dtype=torch.float32):
    from transformers import HubertForSequenceClassification

    from hf_ser.modeling.loading import apply_method

    torch.manual_seed(0)
    model = HubertForSequenceClassification(hubert_config(arch))
    model = apply_method(model, method)
    return model.to(device=device, dtype=dtype)


def feature_extractor(arch: str):
    from transformers import Wav2Vec2FeatureExtractor

    # hubert-base's extractor returns no attention mask; hubert-large's does (as on the Hub)
    return Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=arch != "hubert-base")


def clips(seconds: list[float], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.normal(size=int(s * 16_000))).astype(np.float32) for s in seconds]


def git_sha() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_name() -> str:
    """Model, threads and the vector extensions int8 and fp32 kernels dispatch on (the same model name can come with
    or without AVX-512 and VNNI, and int8 ONNX Runtime ran 2.8x faster with them)."""
    model, flags = None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model is None:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    model = model or platform.processor() or platform.machine()
    simd = [name for flag, name in (("avx2", "AVX2"), ("avx512f", "AVX-512"), ("avx512_vnni", "VNNI"),
                                    ("amx_tile", "AMX")) if flag in flags]  # fmt: skip
    if "VNNI" not in simd and "avx_vnni" in flags:
        simd.append("AVX-VNNI")
    return f"{model}, {torch.get_num_threads()} threads" + (f", {' + '.join(simd)}" if simd else "")


def gpu_name() -> str | None:
    return torch.cuda.get_device_name(0) if HAS_CUDA else None


def device_name() -> str:
    """The machine in a few words: the GPU where there is one, else the CPU."""
    return gpu_name() or f"CPU ({cpu_name()})"


def run_info() -> dict:
    import accelerate
    import datasets
    import peft
    import transformers

    return {
        "git_sha": git_sha(),
        "machine": device_name(),
        "cpu": cpu_name(),
        "gpu": gpu_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "accelerate": accelerate.__version__,
        "datasets": datasets.__version__,
        "python": platform.python_version(),
        "smoke": SMOKE,
    }


def _release_freed_memory() -> None:
    """Give freed heap back to the OS so the RSS baseline is this moment's live memory, not earlier cases'."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError):  # not glibc: the baseline then includes some freed memory
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@contextmanager
def peak_memory(device: str = "cpu"):
    """Peak memory during the block, in MiB: out['peak_mb'] (absolute) and out['delta_mb'] (increase over the
    memory in use when the block started: what the call itself needs). CPU: process RSS sampled every 2 ms; CUDA:
    torch.cuda.max_memory_allocated."""
    out: dict[str, float] = {}
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        yield out
        torch.cuda.synchronize()
        out["peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
        out["delta_mb"] = (torch.cuda.max_memory_allocated() - base) / 2**20
        out["kind"] = "cuda_max_memory_allocated"
        return
    import psutil

    proc = psutil.Process()
    _release_freed_memory()
    base = proc.memory_info().rss
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.002)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        yield out
    finally:
        stop.set()
        t.join()
        out["peak_mb"] = max(peak[0], proc.memory_info().rss) / 2**20
        out["delta_mb"] = out["peak_mb"] - base / 2**20
        out["kind"] = "process_rss_peak"


def mixed_precision(device: str, dtype):
    """What Trainer(bf16=True) does: fp32 weights, the forward under autocast (a no-op context for fp32)."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.split(":")[0], dtype=dtype)


def precision_name(autocast) -> str:
    return "float32" if autocast == torch.float32 else f"{str(autocast).removeprefix('torch.')} autocast"


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
