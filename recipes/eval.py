#!/usr/bin/env python
"""Score a checkpoint on a dataset split, or compare several runs as a Table-3 style Markdown table.

    python recipes/eval.py score --model outputs/demo --dataset data/demo/eight_emotions --protocol speaker \\
        --split test --output_dir outputs/demo-eval
    python recipes/eval.py compare outputs/demo outputs/demo-qkv outputs/demo-classifier --output table.md
    python recipes/eval.py matrix --models outputs/demo ORG/other-ser --datasets data/demo/eight_emotions:speaker \
        data/mix:emodb --output_dir outputs/matrix
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from hf_ser.data.loading import DataError, describe_splits
from hf_ser.data.sources import SourceOptions
from hf_ser.evaluation.alignment import describe
from hf_ser.evaluation.comparison import check_runs, comparison_markdown, seed_table, significance_table
from hf_ser.evaluation.reporting import load_results
from hf_ser.evaluation.scoring import NonFiniteLogitsError, score_checkpoint
from hf_ser.labels import parse_label_map
from hf_ser.modeling.loading import ModelLoadError
from hf_ser.outputs import OutputPathError, atomic_file, guard_output


def _is_comparison(path: Path) -> bool:
    """An earlier `compare` table (its first line is the table's header), which a new one may replace."""
    try:
        return path.read_text(errors="replace").startswith("| model | method | protocol |")
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="score a checkpoint (local folder or Hub id) on one split")
    s.add_argument("--model", required=True)
    s.add_argument("--dataset", required=True)
    s.add_argument(
        "--protocol",
        default="auto",
        help="dataset config: auto (the data's own splits, else speaker), default, random, speaker, <corpus>, "
        "loco_<corpus>, speaker_fold<k>",
    )
    s.add_argument("--split", default="test", choices=["train", "validation", "test"])
    s.add_argument("--output_dir", required=True)
    s.add_argument(
        "--batch_size", type=int, default=16, help="clips per forward pass (the scores do not depend on it)"
    )
    s.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    for name, what in (
        ("audio_column", "the audio (or audio path) column"),
        ("label_column", "the label column"),
        ("speaker_column", "the speaker column"),
        ("audio_root", "where relative audio paths start"),
    ):
        s.add_argument(f"--{name}", help=f"a user's data (as recipes/train.py): {what}")
    s.add_argument("--labels", help="comma list: score these classes only (as recipes/train.py --labels)")
    s.add_argument("--label_map", help="explicit label merges and names where the model's labels and the dataset's "
                   "differ: presets (iemocap4, no_calm), name=target pairs, or a YAML/JSON file")  # fmt: skip
    c = sub.add_parser("compare", help="Table-3 style Markdown of several runs' results.json")
    c.add_argument("runs", nargs="+", help="run folders (or results.json files)")
    c.add_argument("--split", default="test", choices=["validation", "test"])
    c.add_argument("--output", help="also write the table to this file")
    c.add_argument(
        "--allow_label_mismatch",
        action="store_true",
        help="tabulate runs scored on different label sets (refused otherwise: different tasks)",
    )
    c.add_argument("--significance", action="store_true",
                   help="paired tests of each run against the first (paired bootstrap + McNemar, same test clips)")  # fmt: skip
    m = sub.add_parser("matrix", help="every model on every dataset config: Markdown, JSON and a heatmap (resumable)")
    m.add_argument("--models", nargs="+", required=True, help="checkpoint folders or Hub ids")
    m.add_argument("--datasets", nargs="+", required=True, metavar="DATASET[:CONFIG]",
                   help="dataset folders or Hub ids, each with its config (default auto)")  # fmt: skip
    m.add_argument("--split", default="test", choices=["train", "validation", "test"])
    m.add_argument("--output_dir", required=True, help="cells/, matrix.md, matrix.json, matrix.png")
    m.add_argument("--batch_size", type=int, default=16)
    m.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    m.add_argument("--labels", help="comma list: score these classes only")
    m.add_argument("--label_map", help="explicit label merges (as score)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    try:
        if args.command == "score":
            results = score_checkpoint(args.model, args.dataset, args.protocol, args.split, args.output_dir,
                                       batch_size=args.batch_size, device=args.device,
                                       label_map=parse_label_map(args.label_map),
                                       source_options=SourceOptions(audio_column=args.audio_column,
                                                                    label_column=args.label_column,
                                                                    speaker_column=args.speaker_column,
                                                                    audio_root=args.audio_root),
                                       labels=[x.strip() for x in args.labels.split(",")] if args.labels else None)  # fmt: skip
            r = results[args.split]
            print(describe_splits(args.dataset, results["protocol"], results["data"]["splits"],
                                  results["data"]["left_out_by_labels"]))  # fmt: skip
            print(f"{args.model} on {results['protocol']}/{args.split} ({r['num_samples']} clips): accuracy "
                  f"{r['accuracy']:.4f}, F1 {r['f1_macro']:.4f}, UAR {r['uar']:.4f}, EER {r['eer']:.4f}")  # fmt: skip
            if not results["label_alignment"]["same_label_set"]:
                print(describe(results["label_alignment"]))
                print(f"results.json, confusion_matrix.png and confusion_matrix_all_labels.png in {args.output_dir}")
            else:
                print(f"results.json and confusion_matrix.png in {args.output_dir}")
        elif args.command == "matrix":
            from hf_ser.evaluation.matrix import matrix_markdown, score_matrix

            cells = score_matrix(args.models, args.datasets, args.output_dir, split=args.split,
                                 label_map=parse_label_map(args.label_map), device=args.device,
                                 batch_size=args.batch_size,
                                 labels=[x.strip() for x in args.labels.split(",")] if args.labels else None)  # fmt: skip
            print(matrix_markdown(cells))
            print(f"\nmatrix.md, matrix.json and matrix.png in {args.output_dir} (cells/ holds each score)")
        else:
            runs = [load_results(r) for r in args.runs]
            if args.output:
                run_dirs = [Path(r["_path"]).parent for r in runs]
                guard_output(args.output, "--output", reads=[Path(r["_path"]) for r in runs], ours=_is_comparison,
                             what="eval.py compare")  # fmt: skip
                inside = [d for d in run_dirs if d.resolve() in Path(args.output).resolve().parents]
                if inside:
                    raise OutputPathError(f"--output {args.output}: inside the run folder {inside[0]}; write the "
                                          "table elsewhere")  # fmt: skip
            check_runs(runs, split=args.split, allow_label_mismatch=args.allow_label_mismatch)
            table = comparison_markdown(runs, split=args.split)
            seeds = seed_table(runs, split=args.split)
            if seeds:
                table += "\n\n### Over seeds\n\n" + seeds
            if args.significance:
                table += "\n\n### Significance (paired, against the first run)\n\n" + significance_table(
                    runs, split=args.split
                )
            print(table)
            if args.output:
                with atomic_file(args.output) as fh:
                    fh.write(table + "\n")
    except (DataError, ModelLoadError, FileNotFoundError, OutputPathError, NonFiniteLogitsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
