#!/usr/bin/env python
"""Synthesise unlabelled espeak-ng speech for pretraining the demo backbone (no demo voice, no emotion labels).

python dataset_scripts/synthesize_unlabelled.py --out data/pretrain/speech --num-clips 2400
"""

from __future__ import annotations

import argparse
import sys

from hf_ser.demo.unlabelled import UnlabelledConfig, synthesize_unlabelled_speech


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder to write <voice>/*.wav and manifest.csv into")
    p.add_argument("--num-clips", type=int, default=2400, help="clips to synthesise (default 2400, about 2 hours)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace a folder this script wrote before")
    args = p.parse_args(argv)
    try:
        summary = synthesize_unlabelled_speech(
            UnlabelledConfig(out=args.out, num_clips=args.num_clips, seed=args.seed, overwrite=args.overwrite)
        )
    except (RuntimeError, ValueError, FileExistsError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Wrote {summary['clips']} clips ({summary['hours']:.2f} h, {summary['voices']} voices) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
