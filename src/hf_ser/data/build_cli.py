"""What both dataset build scripts share: their common flags, NAME=PATH inputs, and the run (push check, build,
the terminal summary, push). The scripts stay thin: dataset_scripts/build.py (any mix) and eight_emotions.py (the
paper's preset)."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys

from hf_ser.data.build import BuildConfig, BuildError, build_dataset
from hf_ser.hub import HubUnavailableError, check_hub_push, upload_folder
from hf_ser.labels import LabelMapError

__all__ = ["add_build_arguments", "name_path_pairs", "run_build"]


def add_build_arguments(p: argparse.ArgumentParser) -> None:
    """The flags both build scripts share (output, protocol parameters, labels, push)."""
    p.add_argument("--output", required=True, metavar="DIR", help="dataset folder to write (Parquet + README.md)")
    p.add_argument("--seed", type=int, default=42, help="seed of every split protocol (default 42)")
    p.add_argument("--num-proc", type=int, default=os.cpu_count() or 1, help="decoding processes (default: all cores)")
    p.add_argument("--test-size", type=float, default=0.2, help="fraction of files in test (default 0.2)")
    p.add_argument("--validation-size", type=float, default=0.1, help="fraction of files in validation (default 0.1)")
    p.add_argument("--folds", type=int, default=5, help="speaker k-fold configs speaker_fold0..k-1 (default 5)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --output (only a build's folder)")
    p.add_argument("--label-map", help="merge labels at build time: presets (no_calm: calm -> neutral; iemocap4), "
                   "name=target pairs or a YAML/JSON file")  # fmt: skip
    p.add_argument("--push-to-hub", metavar="REPO", help="dataset repo id to upload the folder to (private)")
    p.add_argument("--public", action="store_true", help="make the pushed repo public (check the corpora's licences)")


def name_path_pairs(values: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        name, sep, path = v.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or not name or not path:
            raise BuildError(f"{flag} {v}: expected NAME=PATH")
        if name in out:
            raise BuildError(f"{flag} {name}=...: given twice")
        out[name] = path
    return out


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run_build(cfg: BuildConfig, args, argv, script: str) -> int:
    """Build (after checking the push target), print the summary, push: what both build scripts do."""
    signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM cleans up like Ctrl-C: no half-written folder
    try:
        if args.push_to_hub:
            check_hub_push(args.push_to_hub, what="push-to-hub")  # before minutes of decoding, not after
        command = f"python {script} " + shlex.join(argv if argv is not None else sys.argv[1:])
        report = build_dataset(cfg, command=command)
    except (BuildError, HubUnavailableError, LabelMapError) as err:
        print(f"error: {err}", *getattr(err, "__notes__", ()), sep="\n", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        why = str(err) or "SIGINT"
        print(f"interrupted ({why}): no dataset was written, the partial build was removed",
              *getattr(err, "__notes__", ()), sep="\n", file=sys.stderr)  # fmt: skip
        return 143 if why == "SIGTERM" else 130

    n = sum(sum(d.values()) for d in report.final.values())
    print(
        f"\nWrote {report.output_dir}: {n} clips, {report.total_hours:.2f} h, in {report.total_seconds:.1f} s; "
        f"{len(report.label_names)} labels ({', '.join(report.label_names)})"
    )
    for protocol, splits in report.split_counts.items():
        spk = report.speakers.get(protocol, {})
        print(f"  {protocol:14s} " + "  ".join(f"{s} {k}" for s, k in splits.items())
              + (f"   speakers {spk['train']}/{spk['validation']}/{spk['test']}" if any(spk.values()) else ""))  # fmt: skip
    for protocol, why in report.left_out.items():
        print(f"  {protocol:14s} not written: {why}")
    for corpus, counts in report.scanned.items():
        print(f"  {corpus:8s} found {sum(counts.values()):5d}, kept {sum(report.final.get(corpus, {}).values()):5d}")
    for scan in report.sources:
        for note in scan.notes:
            print(f"  {scan.corpus}: {note}")
    if report.skipped:
        print(f"Skipped {len(report.skipped)} files (all listed in {report.output_dir}/skipped.csv):")
        for (corpus, reason), k in sorted(report.skipped_by_reason().items()):
            print(f"  {corpus:8s} {k:5d}  {reason}")
    if args.push_to_hub:
        try:
            url = upload_folder(report.output_dir, args.push_to_hub, repo_type="dataset", private=not args.public,
                                message="hf-ser build")  # fmt: skip
        except Exception as err:  # noqa: BLE001 - the folder is built; say so and how to retry
            print(f"error: push to {args.push_to_hub} failed ({err}); the folder is complete, retry with `hf upload`",
                  file=sys.stderr)  # fmt: skip
            return 3
        print(f"Pushed to {url} ({'public' if args.public else 'private'})")
    return 0
