"""Shared fixtures: WAV writers, fixture corpus trees in the real file-name grammars, a small built dataset."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

# The suite's dataset and Hub caches live in a temporary folder, never in the user's ~/.cache (set before datasets
# or huggingface_hub is imported: both read these once).
_HF_HOME = tempfile.mkdtemp(prefix="hf-ser-tests-hf-home-")
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_DATASETS_CACHE"] = os.path.join(_HF_HOME, "datasets")
os.environ.pop("HF_HUB_CACHE", None)
os.environ["HF_SER_CACHE"] = os.path.join(_HF_HOME, "hf_ser")  # prepared datasets, cached features
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]


def load_script(relpath: str):
    """Import a script of the repository by path, under a name that cannot shadow a package."""
    import importlib.util

    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(f"hf_ser_script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The tiny HuBERT every recipe test trains (2 layers, 32 wide): seconds per run.
TINY = ["--model_name_or_path", "hf-ser/tiny-hubert", "--tiny_hidden_size", "32", "--tiny_num_layers", "2",
        "--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "16", "--learning_rate", "1e-3",
        "--report_to", "none", "--logging_steps", "2", "--max_duration", "2.0", "--dataloader_num_workers", "0"]  # fmt: skip
NO_EVAL = ["--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false"]


def train_run(dataset, out, *extra) -> int:
    """recipes/train.py on the speaker protocol with the tiny model; returns its exit code."""
    return load_script("recipes/train.py").main(
        ["--dataset", str(dataset), "--protocol", "speaker", "--output_dir", str(out), *TINY, *extra]
    )


def write_wav(path: Path, *, sr: int = 16_000, seconds: float = 0.5, channels: int = 1, subtype: str = "PCM_16",
              freq: float = 220.0, silent: bool = False, seed: int = 0) -> Path:  # fmt: skip
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    x = 0.0 * t if silent else 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.normal(size=t.shape)
    data = np.stack([x] * channels, axis=1) if channels > 1 else x
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data.astype(np.float32), sr, subtype=subtype)
    return path


@pytest.fixture
def wav():
    return write_wav


def _seed_of(name: str) -> int:
    return sum(name.encode()) * 7919 % (2**31)


@pytest.fixture
def small_corpora(tmp_path) -> dict[str, Path]:
    """Four tiny corpora, one per layout, every file real audio with distinct content."""
    roots = {c: tmp_path / c for c in ("ravdess", "crema_d", "tess", "savee")}
    for actor in (1, 2, 3, 4):
        for emo in ("01", "02", "05"):
            name = f"03-01-{emo}-01-01-01-{actor:02d}.wav"
            write_wav(roots["ravdess"] / f"Actor_{actor:02d}" / name, sr=48_000, freq=100 + actor * 40 + int(emo) * 7,
                      seed=_seed_of(name))  # fmt: skip
    for actor in (1001, 1002, 1003, 1004):
        for emo in ("ANG", "SAD"):
            name = f"{actor}_DFA_{emo}_XX.wav"
            write_wav(roots["crema_d"] / "AudioWAV" / name, freq=300 + actor % 100 * 13, seed=_seed_of(name))
    for spk in ("OAF", "YAF"):
        for word in ("back", "bar"):
            for emo in ("angry", "ps"):
                name = f"{spk}_{word}_{emo}.wav"
                write_wav(roots["tess"] / name, sr=24_414, freq=500 + len(word) * 11, seed=_seed_of(name))
    for spk in ("DC", "JE"):
        for code in ("a01", "su02", "n03"):
            write_wav(roots["savee"] / "AudioData" / spk / f"{code}.wav", sr=44_100, seed=_seed_of(spk + code))
    return roots


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory) -> Path:
    """A small espeak-ng demo dataset built through the real CLI path (synthesis + build)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make install installs it)")
    from hf_ser.data.build import BuildConfig, build_eight_emotions
    from hf_ser.demo import DemoConfig, synthesize_demo_corpora

    root = tmp_path_factory.mktemp("demo")
    synthesize_demo_corpora(DemoConfig(out=str(root / "corpora"), scale=1, ravdess_actors=6, crema_d_actors=6))
    out = root / "eight_emotions"
    corpora = {c: str(root / "corpora" / c) for c in ("ravdess", "crema_d", "tess", "savee")}
    build_eight_emotions(BuildConfig(corpora=corpora, output_dir=str(out), num_proc=1))
    return out


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory) -> Path:
    """A saved tiny group-norm HuBERT classifier over the eight emotions (random weights: for plumbing, not accuracy)."""
    from hf_ser.modeling.loading import TINY_HUBERT, load_backbone

    out = tmp_path_factory.mktemp("classifier") / "tiny"
    model, fe = load_backbone(TINY_HUBERT, tiny_hidden_size=32, tiny_num_layers=2, seed=3)
    model.save_pretrained(out)
    fe.save_pretrained(out)
    return out
