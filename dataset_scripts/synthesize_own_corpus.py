#!/usr/bin/env python
"""Synthesise the own-corpus demo: German speech in EmoDB's layout and seven labels (boredom among them), with a
CSV manifest (path, label, speaker, gender, text, language), as a user's own corpus would come.

python dataset_scripts/synthesize_own_corpus.py --out data/demo-own/emodb_like
"""

from __future__ import annotations

import argparse
import sys

from hf_ser.demo.own import OwnDemoConfig, synthesize_own_corpus


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder to write wav/ and manifest.csv into")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--takes", type=int, default=6, help="sentences per speaker x emotion (default 6)")
    p.add_argument("--overwrite", action="store_true", help="replace a folder this script wrote")
    args = p.parse_args(argv)
    try:
        manifest = synthesize_own_corpus(OwnDemoConfig(out=args.out, seed=args.seed, takes=args.takes,
                                                       overwrite=args.overwrite))  # fmt: skip
    except (RuntimeError, ValueError, FileExistsError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    n = len(manifest.read_text().splitlines()) - 1
    print(f"Wrote {n} clips and {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
