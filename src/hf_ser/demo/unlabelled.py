"""Unlabelled espeak-ng speech for self-supervised pretraining of the demo backbone.

What keeps it honest:

- **No demo speaker's voice.** Every demo speaker (train, validation and test alike) is an English voice with one of
  the variants ``MALE_VARIANTS`` / ``FEMALE_VARIANTS`` (m1-m7, f1-f5). This speech uses only other espeak-ng
  variants, so no voice of the demo corpora, let alone a held-out one, is in it (`check_disjoint_voices` asserts it,
  and the manifest lists every voice used).
- **No emotion labels.** Prosody and voice quality vary at random, each drawn uniformly over a wide range
  independently of the others, as they vary in natural speech; the emotion table of the demo is never used, nor any
  emotion word or sentence of the demo corpora.
"""

from __future__ import annotations

import csv
import logging
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr
from tqdm.auto import tqdm

from hf_ser.demo.synth import (
    DEFAULT_VOICES,
    FEMALE_VARIANTS,
    MALE_VARIANTS,
    apply_voice_quality,
    espeak,
    prepare_marked_folder,
    write_take,
)

__all__ = [
    "PRETRAIN_VARIANTS",
    "SENTENCES",
    "UnlabelledConfig",
    "check_disjoint_voices",
    "synthesize_unlabelled_speech",
]

logger = logging.getLogger(__name__)

# espeak-ng variants with natural-sounding voices that the demo corpora never use.
PRETRAIN_VARIANTS = (
    "adam", "Alex", "Andy", "benjamin", "caleb", "david", "ed", "edward", "Gene", "john", "Lee", "Michael", "Mike",
    "paul", "rob", "robert", "quincy", "zac", "max", "Alicia", "Andrea", "Annie", "belinda", "linda", "steph",
    "anika", "aunty",
)  # fmt: skip
# Harvard sentences (IEEE 1969, public domain): phonetically balanced, none names an emotion.
SENTENCES = (
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.", "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.", "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.", "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.", "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.", "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.", "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.", "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.", "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.", "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.", "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.", "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.", "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.", "A king ruled the state in the early days.",
    "The ship was torn apart on the sharp reef.", "Sickness kept him home the third week.",
    "The wide road shimmered in the hot sun.", "The lazy cow lay in the cool grass.",
    "Lift the square stone over the fence.", "The rope will bind the seven books at once.",
    "Hop over the fence and plunge in.", "The frosty air passed through the coat.",
    "The crooked maze failed to fool the mouse.", "The show was a flop from the very start.",
    "A saw is a tool used for making boards.", "The wagon moved on well oiled wheels.",
    "March the soldiers past the next hill.", "A cup of sugar makes sweet fudge.",
    "Place a rosebush near the porch steps.", "Both lost their lives in the raging storm.",
    "We talked of the side show in the circus.", "Use a pencil to write the first draft.",
    "He ran half way to the hardware store.", "The clock struck to mark the third period.",
)  # fmt: skip
# Uniform ranges of the random prosody and voice quality (the same units as the demo's emotion table).
RANGES = {
    "rate": (65.0, 140.0), "pitch": (-30.0, 50.0), "range": (30.0, 250.0), "gap": (0, 5),
    "tilt": (-0.9, 0.9), "tremolo": (0.0, 0.5), "breath": (0.0, 0.3), "volume_db": (-14.0, 2.0),
}  # fmt: skip
MARKER = ".hf-ser-unlabelled-speech"  # --overwrite replaces only a folder holding it
SAMPLING_RATE = 16_000


@dataclass
class UnlabelledConfig:
    out: str
    num_clips: int = 2400
    seed: int = 0
    accents: tuple[str, ...] = DEFAULT_VOICES
    variants: tuple[str, ...] = PRETRAIN_VARIANTS
    num_threads: int = 2
    overwrite: bool = False


def check_disjoint_voices(variants: tuple[str, ...]) -> None:
    """Refuse any variant a demo speaker is drawn from (their voices must never be in pretraining)."""
    shared = sorted(set(variants) & set(MALE_VARIANTS + FEMALE_VARIANTS))
    if shared:
        raise ValueError(
            f"variant(s) {', '.join(shared)} voice the demo corpora's speakers; pretraining speech must not use them"
        )


def _text(rng: np.random.Generator) -> str:
    """One or two Harvard sentences (clips of about 1.5-5 s)."""
    first = SENTENCES[int(rng.integers(len(SENTENCES)))]
    if rng.random() < 0.3:
        return f"{first} {SENTENCES[int(rng.integers(len(SENTENCES)))]}"
    return first


def _render(path: Path, text: str, voice: str, seed: int) -> float:
    rng = np.random.default_rng(seed)
    for attempt in range(5):
        r = {k: float(rng.uniform(*v)) for k, v in RANGES.items() if k in ("rate", "pitch", "range")}
        gap = int(rng.integers(RANGES["gap"][0], RANGES["gap"][1] + 1))
        ssml = (f'<speak><prosody rate="{r["rate"]:.0f}%" pitch="{r["pitch"]:+.0f}%" range="{r["range"]:.0f}%">'
                f"{text}</prosody></speak>")  # fmt: skip
        try:
            audio, sr = espeak(ssml, voice, gap)
            break
        except subprocess.CalledProcessError as err:
            # espeak-ng 1.51 crashes (SIGSEGV) on a few voice/prosody/text combinations, always the same ones:
            # draw other prosody (deterministically, from this clip's generator) rather than lose the clip.
            if err.returncode >= 0 or attempt == 4:
                raise
            logger.info("espeak-ng crashed on %s with %s; drawing other prosody", voice, ssml)
    audio = soxr.resample(audio, sr, SAMPLING_RATE) if sr != SAMPLING_RATE else audio
    audio = apply_voice_quality(audio, SAMPLING_RATE, lambda name: float(rng.uniform(*RANGES[name])), rng)
    return write_take(path, audio, SAMPLING_RATE, rng, max_lead=0.25)


def synthesize_unlabelled_speech(cfg: UnlabelledConfig) -> dict:
    """Write ``cfg.num_clips`` 16 kHz WAVs under ``cfg.out/<voice>/`` and ``manifest.csv``; returns a summary."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed: `apt-get install espeak-ng` (make install does it)")
    if cfg.num_clips < 1:
        raise ValueError(f"--num-clips must be >= 1, got {cfg.num_clips}")
    check_disjoint_voices(tuple(cfg.variants))
    out = prepare_marked_folder(cfg.out, MARKER, cfg.overwrite, "unlabelled speech",
                                "dataset_scripts/synthesize_unlabelled.py")  # fmt: skip
    rng = np.random.default_rng(cfg.seed)
    voices = [f"{a}+{v}" for a in cfg.accents for v in cfg.variants]
    jobs = []
    for i in range(cfg.num_clips):
        voice = voices[i % len(voices)] if i < len(voices) else voices[int(rng.integers(len(voices)))]
        name = voice.replace("+", "_")
        jobs.append((out / name / f"{name}_{i:05d}.wav", _text(rng), voice, int(rng.integers(2**31))))
    with ThreadPoolExecutor(cfg.num_threads) as pool:
        seconds = list(tqdm(pool.map(lambda j: _render(*j), jobs), total=len(jobs), desc="espeak-ng", unit="clip"))
    with open(out / "manifest.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "voice", "seconds", "text"])
        for (path, text, voice, _), s in zip(jobs, seconds, strict=True):
            w.writerow([path.relative_to(out).as_posix(), voice, f"{s:.3f}", text])
    return {"clips": len(jobs), "hours": sum(seconds) / 3600, "voices": len({j[2] for j in jobs})}
