"""Duration-budget batches: under budget, every clip once per epoch on 1 and 2 processes, same order on resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import train_run

from hf_ser.training.sampling import DurationBatchSampler, pack_by_duration


def _lengths(n=203, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(8_000, 96_000, size=n).tolist()  # 0.5-6 s at 16 kHz


def test_packed_batches_stay_under_budget_and_cover_every_clip_once():
    lengths = _lengths()
    budget = 16_000 * 20
    batches = pack_by_duration(lengths, budget, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) * max(lengths[i] for i in b) <= budget  # padded size, so the durations' sum is under it too
    # length-bucketed: a batch spans a narrow band of lengths, so little padding
    sampler = DurationBatchSampler(lengths, max_batch_samples=budget, seed=3)
    assert sampler.padding_fraction < 0.1
    with pytest.raises(ValueError, match="longer than the batch budget"):
        pack_by_duration([10, 20, 400], 300)


@pytest.mark.parametrize("world", [1, 2, 3])
def test_each_process_gets_its_own_batches_and_together_every_clip_once_per_epoch(world):
    lengths = _lengths(n=101)
    samplers = [DurationBatchSampler(lengths, max_batch_samples=16_000 * 15, seed=7, num_replicas=world, rank=r)
                for r in range(world)]  # fmt: skip
    assert len({len(s) for s in samplers}) == 1  # nobody waits for a batch another process lacks
    for epoch in (0, 1):
        seen = []
        for s in samplers:
            s.set_epoch(epoch)
            batches = list(s)
            assert len(batches) == len(s)
            seen.extend(i for b in batches for i in b)
        assert sorted(seen) == list(range(len(lengths)))


def test_order_is_shuffled_per_epoch_deterministic_per_seed():
    lengths = _lengths()
    a = DurationBatchSampler(lengths, max_batch_samples=16_000 * 12, seed=1)
    b = DurationBatchSampler(lengths, max_batch_samples=16_000 * 12, seed=1)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first and sorted(map(tuple, a)) == sorted(map(tuple, first))
    assert len(a) == len(first)


def test_a_resumed_run_continues_the_same_batch_order(demo_dataset, tmp_path, monkeypatch):
    from transformers import TrainerCallback

    import hf_ser.training.run as training
    from hf_ser.data.transforms import AudioCollator

    seen: list[list[int]] = []
    real_call = AudioCollator.__call__

    def recording(self, features):
        seen.append(sorted(len(f["input_values"]) for f in features))
        return real_call(self, features)

    monkeypatch.setattr(AudioCollator, "__call__", recording)
    args = ("--max_steps", "12", "--max_batch_seconds", "12", "--eval_strategy", "no", "--save_strategy", "steps",
            "--save_steps", "9", "--load_best_model_at_end", "false", "--seed", "5", "--max_train_samples", "40")  # fmt: skip
    assert train_run(demo_dataset, tmp_path / "straight", *args) == 0
    straight = list(seen)
    results = json.loads((tmp_path / "straight" / "results.json").read_text())
    assert results["batching"]["kind"] == "duration" and 0 <= results["batching"]["padding_fraction"] < 1
    batches_per_epoch = results["batching"]["batches_per_epoch"]
    assert batches_per_epoch < 9  # the checkpoint lies in epoch 1: the resumed epoch is not the first

    class Stop(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 10:
                raise KeyboardInterrupt

    real = training.make_trainer

    def interrupted(*a, **k):
        t = real(*a, **k)
        t.add_callback(Stop())
        return t

    seen.clear()
    monkeypatch.setattr(training, "make_trainer", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_run(demo_dataset, tmp_path / "resumed", *args)
    monkeypatch.setattr(training, "make_trainer", real)
    seen.clear()
    assert train_run(demo_dataset, tmp_path / "resumed", *args, "--resume_from_checkpoint", "last") == 0
    assert seen == straight[9:]  # checkpoint-9 (in epoch 1): steps 10..12 as in the run never interrupted


def test_budget_below_the_crop_is_refused(tmp_path, capsys):
    from conftest import load_script

    code = load_script("recipes/train.py").main(
        [
            "--dataset",
            str(tmp_path),
            "--output_dir",
            str(tmp_path / "o"),
            "--max_duration",
            "6",
            "--max_batch_seconds",
            "4",
        ]
    )
    assert code == 2 and "--max_batch_seconds 4.0: must be at least --max_duration 6.0" in capsys.readouterr().err
