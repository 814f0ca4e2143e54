"""The own-corpus demo: a small German corpus in EmoDB's layout and label set (seven labels, boredom among them),
spoken by espeak-ng's German voices with the emotion carried by prosody, and described by a CSV manifest, as a
user's own data would be (``make demo-own``)."""

from __future__ import annotations

import csv
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from hf_ser.data.corpora.emodb import SPEAKERS, TEXTS
from hf_ser.demo.synth import JITTER, _Job, _render, prepare_marked_folder

__all__ = ["EMODB_LIKE_LABELS", "OwnDemoConfig", "synthesize_own_corpus"]

# EmoDB's letter, its label as the manifest writes it (EmoDB's English names), the prosody row that speaks it.
EMODB_LIKE_LABELS = {
    "W": ("anger", "angry"),
    "L": ("boredom", "boredom"),
    "E": ("disgust", "disgust"),
    "A": ("fear", "fear"),
    "F": ("happiness", "happy"),
    "T": ("sadness", "sad"),
    "N": ("neutral", "neutral"),
}
SENTENCES = tuple(TEXTS.items())  # EmoDB's ten everyday sentences (a01 ... b10)
MARKER = ".hf-ser-own-demo"
_SPEAKERS = tuple(SPEAKERS.items())  # EmoDB's ten speakers and their sex
_VARIANTS = {"male": ("m1", "m2", "m3", "m4", "m5", "m6", "m7"), "female": ("f1", "f2", "f3", "f4", "f5")}


@dataclass
class OwnDemoConfig:
    out: str
    seed: int = 0
    takes: int = 6  # sentences per speaker x emotion
    voice: str = "de"
    num_threads: int = 2
    overwrite: bool = False


def synthesize_own_corpus(cfg: OwnDemoConfig) -> Path:
    """Write ``cfg.out/wav/*.wav`` (EmoDB names: speaker, sentence, emotion letter, version) and
    ``cfg.out/manifest.csv`` (path, label, speaker, gender, text, language); returns the manifest's path."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed: `apt-get install espeak-ng` (make install does it)")
    if not 1 <= cfg.takes <= len(SENTENCES):
        raise ValueError(f"--takes must be in 1-{len(SENTENCES)}, got {cfg.takes}")
    out = prepare_marked_folder(cfg.out, MARKER, cfg.overwrite, "the own-corpus demo",
                                "dataset_scripts/synthesize_own_corpus.py")  # fmt: skip
    rng = np.random.default_rng(cfg.seed)
    used = {"male": 0, "female": 0}
    jobs, rows = [], []
    for speaker, gender in _SPEAKERS:
        variant = _VARIANTS[gender][used[gender]]
        used[gender] += 1
        spk_rate, spk_pitch = float(rng.normal(100, 6)), float(rng.normal(0, 8))
        for letter, (label, prosody) in EMODB_LIKE_LABELS.items():
            # a01 always (so every speaker x emotion has a known file to predict), the rest drawn
            picks = [0, *(int(p) for p in rng.choice(np.arange(1, len(SENTENCES)), size=cfg.takes - 1, replace=False))]
            for j in sorted(picks):
                code, text = SENTENCES[j]
                name = f"wav/{speaker}{code}{letter}a.wav"
                jobs.append(_Job(out / name, text, prosody, f"{cfg.voice}+{variant}", 16_000, spk_rate, spk_pitch,
                                 1.0, int(rng.integers(2**31))))  # fmt: skip
                rows.append({"path": name, "label": label, "speaker": speaker, "gender": gender, "text": text,
                             "language": "de"})  # fmt: skip
    with ThreadPoolExecutor(cfg.num_threads) as pool:
        list(tqdm(pool.map(lambda j: _render(j, JITTER), jobs), total=len(jobs), desc="espeak-ng (de)", unit="file"))
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return manifest
