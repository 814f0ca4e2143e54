"""End to end: the real recipe path (hf_ser.training.run.train: sampler, collator, augmentation, dataloader workers,
bf16 autocast on a GPU) for N optimizer steps of each method, at the paper's batch of 8 clips and at a duration budget.

Reported per case: steady-state audio seconds per second, FLOP utilisation, the share of step-to-step time spent
waiting for the next batch, peak memory, and the projected minutes for 50 epochs of the paper's train split. The
dataset is built in memory (random audio of the corpora's length mix, stored as plain arrays, no codec), so the case
runs on a bare GPU machine without FFmpeg; the backbone is a random-init hubert-large saved locally.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
from common import ACCEL, SMOKE, device_name, feature_extractor, hubert_config, peak_bf16_tflops, sync
from report import PAPER_TRAIN_CLIPS, TRAIN_AUDIO_S
from transformers import TrainerCallback

N_CLIPS = 24 if SMOKE else 512
STEPS, WARMUP = (4, 1) if SMOKE else (40, 10)
BUDGET_S = 8.0 if SMOKE else 80.0
ARCH = "tiny" if SMOKE else "hubert-large"


def _lengths(n: int) -> np.ndarray:
    """The merged corpus's mix: CREMA-D's ~2.5 s dominate, RAVDESS/SAVEE ~3.7 s, a tail to 7 s (cropped to 6 s)."""
    rng = np.random.default_rng(0)
    lo, hi = (0.6, 1.5) if SMOKE else (1.2, 7.0)
    return np.clip(rng.lognormal(np.log(2.7), 0.3, n), lo, hi)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A dataset folder in the builder's layout whose audio is arrays (no codec needed) and a saved backbone."""
    from datasets import ClassLabel, Dataset, Features, List, Value
    from transformers import HubertForSequenceClassification

    from hf_ser.labels import EMOTIONS

    root = tmp_path_factory.mktemp("e2e")
    rng = np.random.default_rng(1)
    feats = Features({"audio": {"array": List(Value("float32")), "sampling_rate": Value("int32")},
                      "label": ClassLabel(names=list(EMOTIONS)), "duration": Value("float32")})  # fmt: skip

    def split(n, seed):
        secs = _lengths(n) if seed == 0 else _lengths(n)[::-1]
        audio = [
            {"array": (0.1 * rng.normal(size=int(s * 16_000))).astype(np.float32), "sampling_rate": 16_000}
            for s in secs
        ]
        return Dataset.from_dict({"audio": audio, "label": [i % 8 for i in range(n)], "duration": secs.astype(np.float32)},
                                 features=feats)  # fmt: skip

    data = root / "data" / "random"
    data.mkdir(parents=True)
    split(N_CLIPS, 0).to_parquet(str(data / "train-00000-of-00001.parquet"))
    for name in ("validation", "test"):
        split(16, 1).to_parquet(str(data / f"{name}-00000-of-00001.parquet"))
    torch.manual_seed(0)
    HubertForSequenceClassification(hubert_config(ARCH)).save_pretrained(root / "backbone")
    feature_extractor("hubert-large").save_pretrained(root / "backbone")
    return root


class StepTimer(TrainerCallback):
    """Wall time of each optimizer step (synchronised), the gap before it (fetching the next batch), and the seconds
    of real (unpadded) audio each training forward saw (from its attention mask, in the main process: collation
    happens in the dataloader workers)."""

    def __init__(self, device: str):
        self.device, self.begin, self.end, self.audio = device, [], [], []

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        def count(module, a, kw):
            mask = kw.get("attention_mask")
            x = kw.get("input_values", a[0] if a else None)
            if module.training and x is not None and x.ndim == 2:
                self.audio.append(float(mask.sum() if mask is not None else x.numel()) / 16_000)

        model.register_forward_pre_hook(count, with_kwargs=True)

    def on_step_begin(self, args, state, control, **kwargs):
        sync(self.device)
        self.begin.append(time.perf_counter())

    def on_step_end(self, args, state, control, **kwargs):
        sync(self.device)
        self.end.append(time.perf_counter())


@pytest.mark.cuda
@pytest.mark.parametrize("batching", ["batch8", "budget"])
@pytest.mark.parametrize("method", ["none", "qkv", "classifier"])
def test_trainer_e2e(benchmark, info, workspace, tmp_path, monkeypatch, method, batching):
    assert ACCEL == "cuda" or SMOKE
    import hf_ser.training.run as training
    from hf_ser.training.configs import parse_recipe_args

    if method == "classifier" and batching == "budget":
        pytest.skip("classifier-only trains on cached features: its batches are not audio")
    benchmark.group = f"trainer e2e {ACCEL} {ARCH}"
    out = tmp_path / "run"
    argv = ["--model_name_or_path", str(workspace / "backbone"), "--dataset", str(workspace / "data"),
            "--protocol", "random", "--peft", method, "--output_dir", str(out), "--max_steps", str(STEPS),
            "--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "8", "--max_duration", "6.0",
            "--pitch_shift_p", "0.3", "--time_stretch_p", "0.3", "--noise_p", "0.3", "--eval_strategy", "no",
            "--save_strategy", "no", "--load_best_model_at_end", "false", "--report_to", "none", "--logging_steps", "1000",
            "--dataloader_num_workers", "0" if SMOKE else "8", "--learning_rate", "1e-5", "--optim", "adamw_torch_fused",
            "--use_cpu", str(ACCEL == "cpu").lower()]  # fmt: skip
    if batching == "budget":
        argv += ["--max_batch_seconds", str(BUDGET_S)]
    if method == "classifier":
        argv += ["--feature_views", "2"]  # the paper's augmentation, as classifier-fast.yaml caches it
    model_args, data_args, training_args, _ = parse_recipe_args(argv)
    timer = StepTimer(ACCEL)
    monkeypatch.setenv("HF_SER_CACHE", str(tmp_path / "cache"))
    if ACCEL == "cuda":
        torch.cuda.reset_peak_memory_stats()
    results = {}

    def run():
        results.update(training.train(model_args, data_args, training_args, callbacks=[timer]))

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    steps = np.array(timer.end[WARMUP:]) - np.array(timer.begin[WARMUP:])
    gaps = np.array(timer.begin[WARMUP + 1 :]) - np.array(timer.end[WARMUP:-1])
    wall = timer.end[-1] - timer.end[WARMUP - 1] if WARMUP else timer.end[-1] - timer.begin[0]
    measured = float(steps.sum() + gaps.sum())
    if method == "classifier":  # the head trains on features: audio is what the feature pass read (2 views)
        audio_s = 2 * float(_lengths(N_CLIPS).clip(max=6.0).sum())
        seconds = results["feature_extraction_s"]
    else:
        audio_s = float(sum(timer.audio[WARMUP : WARMUP + len(steps)]))
        seconds = float(steps.sum())
    audio_per_s = audio_s / seconds
    if method == "classifier":  # feature pass (2 views) + 50 epochs of 8-clip head steps
        head_epoch = float(np.median(steps)) * PAPER_TRAIN_CLIPS / 8
        projected_min = (2 * TRAIN_AUDIO_S / audio_per_s + 50 * head_epoch) / 60
    else:
        projected_min = 50 * TRAIN_AUDIO_S / audio_per_s / 60
    info.update(arch=ARCH, method=method, batching=batching, device=ACCEL, dtype="bfloat16 autocast" if training_args.bf16 else "float32",
                steps=len(steps), step_median_s=float(np.median(steps)), audio_s_per_s=audio_per_s,
                data_wait_share=float(gaps.sum() / measured) if measured else 0.0, wall_s=wall,
                padding_fraction=(results.get("batching") or {}).get("padding_fraction"),
                peak_memory_mb=torch.cuda.max_memory_allocated() / 2**20 if ACCEL == "cuda" else results["peak_memory"]["cpu_rss_peak_mb"],
                memory_kind="cuda_max_memory_allocated" if ACCEL == "cuda" else "process_rss_peak",
                projected_50_epochs_min=projected_min, paper_train_audio_s=TRAIN_AUDIO_S)  # fmt: skip
    flops_per_audio_s = _flops_per_audio_s(workspace, method)
    peak = peak_bf16_tflops(device_name()) if ACCEL == "cuda" else None
    if peak and method != "classifier":
        info.update(flop_utilisation=flops_per_audio_s * audio_per_s / 1e12 / peak, peak_tflops=peak)
    (tmp_path / "e2e.json").write_text(json.dumps(dict(info), default=str))


def _flops_per_audio_s(workspace, method) -> float:
    """Forward + backward FLOPs of one 8-clip step of this method, per audio second (FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

    from hf_ser.modeling.loading import apply_method

    model = apply_method(AutoModelForAudioClassification.from_pretrained(workspace / "backbone"), method).to(ACCEL)
    fe = AutoFeatureExtractor.from_pretrained(workspace / "backbone")
    secs = _lengths(8).clip(max=6.0)
    arrays = [np.zeros(int(s * 16_000), dtype=np.float32) + 0.01 for s in secs]
    inputs = {
        k: v.to(ACCEL) for k, v in fe(arrays, sampling_rate=16_000, return_tensors="pt", padding="longest").items()
    }
    with FlopCounterMode(display=False) as counter:
        loss = model(**inputs, labels=torch.zeros(8, dtype=torch.long, device=ACCEL)).loss
        loss.backward()
    return counter.get_total_flops() / float(secs.sum())
