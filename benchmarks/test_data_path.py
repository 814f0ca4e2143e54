"""The data path: augmentation, collator, the metrics bundle on 100k x 8, and the full-size dataset build."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from common import SMOKE, clips, feature_extractor

from hf_ser.audio import AugmentConfig, build_augmentation
from hf_ser.data.transforms import AudioCollator


def test_augmentation_3s_clip(benchmark, info):
    benchmark.group = "data path"
    aug = build_augmentation(AugmentConfig(pitch_shift_p=1.0, time_stretch_p=1.0, noise_p=1.0))
    x = clips([3.0])[0]
    benchmark.pedantic(lambda: aug(samples=x, sample_rate=16_000), rounds=3 if SMOKE else 20, iterations=1,
                       warmup_rounds=1)  # fmt: skip
    info.update(what="pitch shift + time stretch + noise, p=1", clip_s=3.0,
                clips_per_s=1 / benchmark.stats.stats.median)  # fmt: skip


def test_collator_batch_8(benchmark, info):
    benchmark.group = "data path"
    rng = np.random.default_rng(0)
    feats = [{"input_values": a, "labels": 0} for a in clips(rng.uniform(2, 5, 8).tolist())]
    collate = AudioCollator(feature_extractor("hubert-large"))
    benchmark.pedantic(lambda: collate(feats), rounds=5 if SMOKE else 50, iterations=1, warmup_rounds=1)
    info.update(what="normalise + pad 8 clips of 2-5 s", batch=8, batches_per_s=1 / benchmark.stats.stats.median)


def test_metrics_bundle_100k_x_8(benchmark, info):
    benchmark.group = "data path"
    from hf_ser.evaluation.metrics import ser_metrics
    from hf_ser.labels import EMOTIONS

    n = 1_000 if SMOKE else 100_000
    rng = np.random.default_rng(0)
    y = rng.integers(0, 8, n)
    logits = rng.normal(size=(n, 8))
    logits[np.arange(n), y] += 1.0
    benchmark.pedantic(lambda: ser_metrics(logits, y, label_names=EMOTIONS), rounds=3 if SMOKE else 10,
                       iterations=1, warmup_rounds=1)  # fmt: skip
    info.update(what="ser_metrics (accuracy, F1, UAR, EER macro + micro, confusion)", n=n, classes=8)


# ------------------------------------------------------------------------------------------------------------------
# The full-size build: 12,162 short files in the real layouts, names and native sample rates
# ------------------------------------------------------------------------------------------------------------------
def _write(path: Path, sr: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sf.write(path, (0.2 * rng.normal(size=int(0.3 * sr))).astype(np.float32), sr, subtype="PCM_16")


@pytest.fixture(scope="module")
def full_size_tree(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("full_size")
    roots = {c: root / c for c in ("ravdess", "crema_d", "tess", "savee")}
    seed = 0
    limit = 50 if SMOKE else None  # files per corpus in smoke mode

    def emit(path, sr):
        nonlocal seed
        seed += 1
        _write(path, sr, seed)

    n = 0
    for actor in range(1, 25):
        for emo in range(1, 9):
            for inten in ("01",) if emo == 1 else ("01", "02"):
                for stmt in ("01", "02"):
                    for rep in ("01", "02"):
                        if limit is None or n < limit:
                            emit(
                                roots["ravdess"]
                                / f"Actor_{actor:02d}"
                                / f"03-01-{emo:02d}-{inten}-{stmt}-{rep}-{actor:02d}.wav",
                                48_000,
                            )
                            n += 1
    sentences = ["IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI"]
    for emo, total in {"ANG": 1271, "DIS": 1271, "FEA": 1271, "HAP": 1271, "SAD": 1271, "NEU": 1087}.items():
        k = 0
        for actor in range(1001, 1092):
            for s in sentences:
                for lvl in ("LO", "MD", "HI", "XX") if s == "IEO" and emo != "NEU" else ("XX",):
                    if k < (total if limit is None else limit // 6):
                        emit(roots["crema_d"] / "AudioWAV" / f"{actor}_{s}_{emo}_{lvl}.wav", 16_000)
                        k += 1
    for spk in ("OAF", "YAF"):
        for emo in ("angry", "disgust", "fear", "happy", "neutral", "ps", "sad"):
            for w in range(200 if limit is None else 3):
                emit(roots["tess"] / f"{spk}_{emo}" / f"{spk}_w{w:03d}_{emo}.wav", 24_414)
    for spk in ("DC", "JE", "JK", "KL"):
        for code in ("a", "d", "f", "h", "n", "sa", "su"):
            for k in range(1, (30 if code == "n" else 15) + 1 if limit is None else 3):
                emit(roots["savee"] / "AudioData" / spk / f"{code}{k:02d}.wav", 44_100)
    return roots


@pytest.mark.parametrize("num_proc", [1, 2])
def test_build_full_size(benchmark, info, full_size_tree, tmp_path, num_proc):
    benchmark.group = "dataset build (full size)"
    from hf_ser.data.build import BuildConfig, build_eight_emotions

    corpora = {k: str(v) for k, v in full_size_tree.items()}
    out = tmp_path / "ds"

    def build():
        return build_eight_emotions(
            BuildConfig(corpora=corpora, output_dir=str(out), num_proc=num_proc, overwrite=True)
        )

    report = benchmark.pedantic(build, rounds=1, iterations=1, warmup_rounds=0)
    files = sum(sum(d.values()) for d in report.final.values())
    info.update(num_proc=num_proc, files=files, files_per_s=files / benchmark.stats.stats.median)
    shutil.rmtree(out, ignore_errors=True)
