#!/usr/bin/env python
"""Write the web demo's example clips (app_examples/) from the demo dataset's speaker-protocol test split.

    python scripts/make_app_examples.py --dataset data/demo/eight_emotions --out app_examples

Four single clips of different emotions (voices the demo model never heard) and one ~20 s recording that strings
several of them together with pauses (one of 3.5 s: a silent window), to show emotion over time. Run after `make demo`; the files are committed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hf_ser.data.layout import load_eight_emotions  # noqa: E402
from hf_ser.data.transforms import clip_samples  # noqa: E402
from hf_ser.labels import EMOTIONS  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="data/demo/eight_emotions")
    p.add_argument("--out", default="app_examples")
    args = p.parse_args(argv)
    test = load_eight_emotions(args.dataset, "speaker")["test"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    picked = {}
    for row in test:
        emo = EMOTIONS[row["label"]]
        if emo in ("angry", "sad", "happy", "calm", "fear", "surprise") and emo not in picked:
            picked[emo] = clip_samples(row["audio"])
    for emo in ("angry", "sad", "happy", "calm"):
        sf.write(out / f"{emo}.wav", picked[emo], 16_000, subtype="PCM_16")
    pause, long_pause = np.zeros(16_000, dtype=np.float32), np.zeros(56_000, dtype=np.float32)
    story = ["calm", "calm", "happy", "surprise", None, "fear", "angry", "angry", "sad"]  # None: 3.5 s of silence
    long = np.concatenate([x for e in story for x in ((long_pause,) if e is None else (picked[e], pause))])
    sf.write(out / "long_recording.wav", long, 16_000, subtype="PCM_16")
    print(f"wrote {len(list(out.glob('*.wav')))} clips to {out} ({long.size / 16_000:.1f} s long recording)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
