#!/usr/bin/env python
"""Build the eight-emotion dataset from the corpora on disk, optionally push it to the Hub (the paper's preset of
dataset_scripts/build.py, which takes any mix of corpora and a user's own data).

    python dataset_scripts/eight_emotions.py --ravdess ~/corpora/ravdess --crema-d ~/corpora/CREMA-D \\
        --tess ~/corpora/TESS --savee ~/corpora/SAVEE --output data/eight_emotions --num-proc 8

    from datasets import load_dataset
    ds = load_dataset("data/eight_emotions", "speaker")   # or "random"
"""

from __future__ import annotations

import argparse
import logging
import sys

from hf_ser.data.build import BuildConfig, BuildError
from hf_ser.data.build_cli import add_build_arguments, run_build
from hf_ser.labels import LabelMapError, parse_label_map


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("ravdess", "crema-d", "tess", "savee"):
        p.add_argument(f"--{name}", metavar="DIR", help=f"folder of the {name.upper()} download (any layout)")
    add_build_arguments(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    corpora = {
        name: getattr(args, attr)
        for name, attr in (("ravdess", "ravdess"), ("crema_d", "crema_d"), ("tess", "tess"), ("savee", "savee"))
        if getattr(args, attr)
    }
    try:
        label_map = parse_label_map(args.label_map, "--label-map")
    except LabelMapError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not corpora:
        print(f"error: {BuildError('no corpus given: pass at least one of --ravdess, --crema-d, --tess, --savee')}",
              file=sys.stderr)  # fmt: skip
        return 2
    cfg = BuildConfig(corpora=corpora, output_dir=args.output, seed=args.seed, test_size=args.test_size,
                      validation_size=args.validation_size, num_proc=args.num_proc, overwrite=args.overwrite,
                      folds=args.folds, label_map=label_map)  # fmt: skip
    return run_build(cfg, args, argv, "dataset_scripts/eight_emotions.py")


if __name__ == "__main__":
    sys.exit(main())
