#!/usr/bin/env python
"""Build the eight-emotion dataset from the corpora on disk, optionally push it to the Hub.

    python dataset_scripts/eight_emotions.py --ravdess ~/corpora/ravdess --crema-d ~/corpora/CREMA-D \\
        --tess ~/corpora/TESS --savee ~/corpora/SAVEE --output data/eight_emotions --num-proc 8

    from datasets import load_dataset
    ds = load_dataset("data/eight_emotions", "speaker")   # or "random"
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys

from hf_ser.data.build import BuildConfig, BuildError, build_eight_emotions
from hf_ser.hub import HubUnavailableError, check_hub_push, upload_folder
from hf_ser.labels import LabelMapError, parse_label_map


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("ravdess", "crema-d", "tess", "savee"):
        p.add_argument(f"--{name}", metavar="DIR", help=f"folder of the {name.upper()} download (any layout)")
    p.add_argument("--output", required=True, metavar="DIR", help="dataset folder to write (Parquet + README.md)")
    p.add_argument("--seed", type=int, default=42, help="seed of both split protocols (default 42)")
    p.add_argument("--num-proc", type=int, default=os.cpu_count() or 1, help="decoding processes (default: all cores)")
    p.add_argument("--test-size", type=float, default=0.2, help="fraction of files in test (default 0.2)")
    p.add_argument("--validation-size", type=float, default=0.1, help="fraction of files in validation (default 0.1)")
    p.add_argument("--folds", type=int, default=5, help="speaker k-fold configs speaker_fold0..k-1 (default 5)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --output")
    p.add_argument("--label-map", help="merge labels at build time: presets (no_calm: calm -> neutral), name=target "
                   "pairs or a YAML/JSON file (default: the eight emotions as the corpora label them)")  # fmt: skip
    p.add_argument("--push-to-hub", metavar="REPO", help="dataset repo id to upload the folder to (private)")
    p.add_argument("--public", action="store_true", help="make the pushed repo public (check the corpora's licences)")
    return p.parse_args(argv)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    # SIGTERM (a job scheduler, `timeout`, `kill`) cleans up like Ctrl-C: no half-written folder is left behind.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    corpora = {
        name: getattr(args, attr)
        for name, attr in (("ravdess", "ravdess"), ("crema_d", "crema_d"), ("tess", "tess"), ("savee", "savee"))
        if getattr(args, attr)
    }
    try:
        if args.push_to_hub:
            check_hub_push(args.push_to_hub, what="push-to-hub")  # before minutes of decoding, not after
        cfg = BuildConfig(
            corpora=corpora,
            output_dir=args.output,
            seed=args.seed,
            test_size=args.test_size,
            validation_size=args.validation_size,
            num_proc=args.num_proc,
            overwrite=args.overwrite,
            folds=args.folds,
            label_map=parse_label_map(args.label_map, "--label-map"),
        )
        command = "python dataset_scripts/eight_emotions.py " + shlex.join(argv if argv is not None else sys.argv[1:])
        report = build_eight_emotions(cfg, command=command)
    except (BuildError, HubUnavailableError, LabelMapError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        why = str(err) or "SIGINT"
        print(f"interrupted ({why}): nothing was written, the partial build was removed", file=sys.stderr)
        return 143 if why == "SIGTERM" else 130

    n = sum(sum(d.values()) for d in report.final.values())
    print(
        f"\nWrote {report.output_dir}: {n} clips, {report.total_hours:.2f} h, in {report.total_seconds:.1f} s; "
        f"{len(cfg.label_names)} labels ({', '.join(cfg.label_names)})"
    )
    for protocol, splits in report.split_counts.items():
        print(f"  {protocol:14s} " + "  ".join(f"{s} {k}" for s, k in splits.items()))
    for protocol, why in report.left_out.items():
        print(f"  {protocol:14s} not written: {why}")
    for corpus, counts in report.scanned.items():
        print(f"  {corpus:8s} found {sum(counts.values()):5d}, kept {sum(report.final.get(corpus, {}).values()):5d}")
    if report.skipped:
        print(f"Skipped {len(report.skipped)} files (all listed in {report.output_dir}/skipped.csv):")
        for (corpus, reason), k in sorted(report.skipped_by_reason().items()):
            print(f"  {corpus:8s} {k:5d}  {reason}")
    if args.push_to_hub:
        try:
            url = upload_folder(
                report.output_dir,
                args.push_to_hub,
                repo_type="dataset",
                private=not args.public,
                message="hf-ser build",
            )
        except Exception as err:  # noqa: BLE001 - the folder is built; say so and how to retry
            print(
                f"error: push to {args.push_to_hub} failed ({err}); the folder is complete, retry with `hf upload`",
                file=sys.stderr,
            )
            return 3
        print(f"Pushed to {url} ({'public' if args.public else 'private'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
