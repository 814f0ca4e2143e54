#!/usr/bin/env python
"""Synthesise small RAVDESS / CREMA-D / TESS / SAVEE look-alikes with espeak-ng (for the demo and tests).

python dataset_scripts/synthesize_demo_corpora.py --out data/demo/corpora --scale 3
"""

from __future__ import annotations

import argparse
import sys

from hf_ser.demo.synth import DEFAULT_VOICES, DemoConfig, synthesize_demo_corpora


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder to write ravdess/, crema_d/, tess/, savee/ into")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", type=int, default=2, help="files per speaker x emotion cell (default 2)")
    p.add_argument("--voices", nargs="+", default=list(DEFAULT_VOICES), help="espeak-ng voices to draw speakers from")
    p.add_argument("--ravdess-actors", type=int, default=24, help="RAVDESS actors to synthesise (1-24)")
    p.add_argument("--crema-d-actors", type=int, default=40, help="CREMA-D actors to synthesise (1-91)")
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    cfg = DemoConfig(
        out=args.out, seed=args.seed, scale=args.scale, voices=tuple(args.voices),
        ravdess_actors=args.ravdess_actors, crema_d_actors=args.crema_d_actors, overwrite=args.overwrite,
    )  # fmt: skip
    try:
        counts = synthesize_demo_corpora(cfg)
    except (RuntimeError, ValueError, FileExistsError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Wrote {sum(counts.values())} files to {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
