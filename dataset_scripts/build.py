#!/usr/bin/env python
"""Build one dataset folder from any mix of corpora: the four corpus folders and a user's own data, with every
protocol, the card, skipped.csv and de-duplication; optionally push it to the Hub.

    python dataset_scripts/build.py --corpus ravdess=~/corpora/ravdess --corpus savee=~/corpora/SAVEE \\
        --manifest emodb=~/corpora/emodb/manifest.csv --output data/my_mix
    python dataset_scripts/build.py --manifest mine=~/data/my_audiofolder --labels angry,happy,neutral,sad --output data/mine

    from datasets import load_dataset
    ds = load_dataset("data/my_mix", "speaker")   # or default, random, loco_<corpus>, speaker_fold<k>, <corpus>,
                                                  # <corpus>_emobox_fold<k> (with --emobox-folds)

--corpus NAME=DIR takes a corpus folder hf-ser has a scanner for, read by its file-name grammar: the paper's four
(ravdess, crema_d, tess, savee) and the others listed under --corpus below, each with its licence and citation in
the card; their own label codes are kept in raw_label.
--manifest NAME=PATH takes anything recipes/train.py --dataset takes: a CSV/TSV/JSONL manifest (EmoBox's too), a
folder of train/test manifests, an audiofolder, a save_to_disk or Parquet folder, a Hub id. Labels stay as the data
names them; where two inputs' label sets differ they meet through hf-ser's alias table (anger and angry are one class).
dataset_scripts/eight_emotions.py is the paper's preset of this script.
"""

from __future__ import annotations

import argparse
import logging
import sys

from hf_ser.data.build import BuildConfig, BuildError
from hf_ser.data.build_cli import add_build_arguments, name_path_pairs, run_build
from hf_ser.data.corpora import MORE_CORPORA
from hf_ser.data.sources import AUDIO_COLUMNS, LABEL_COLUMNS, SPEAKER_COLUMNS, SourceOptions
from hf_ser.labels import CORPORA, LabelMapError, parse_label_map


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = ", ".join(f"{info.name} ({info.display}, {info.language})" for info, _ in MORE_CORPORA.values())
    p.add_argument("--corpus", action="append", default=[], metavar="NAME=DIR",
                   help=f"a corpus folder (repeatable); NAME is one of {', '.join(CORPORA)} (the paper's four) "
                   f"or {names}")  # fmt: skip
    p.add_argument("--manifest", action="append", default=[], metavar="NAME=PATH",
                   help="a user's corpus under the name NAME: manifest file, folder or Hub id (repeatable)")  # fmt: skip
    p.add_argument(
        "--audio-column", help=f"audio column of the manifests (default: first of {', '.join(AUDIO_COLUMNS[:4])} ...)"
    )
    p.add_argument("--label-column", help=f"label column (default: first of {', '.join(LABEL_COLUMNS[:4])} ...)")
    p.add_argument("--speaker-column", help=f"speaker column (default: first of {', '.join(SPEAKER_COLUMNS[:4])} ...)")
    p.add_argument("--audio-root", help="relative audio paths start here (default: the manifest's folder)")
    p.add_argument("--labels", help="comma list: keep only these classes (after --label-map), in this order; every "
                   "clip of another class is listed in skipped.csv")  # fmt: skip
    p.add_argument("--emobox-folds", action="store_true",
                   help="also write EmoBox's folds of each corpus (emobox_fold<k>; <corpus>_emobox_fold<k> in a mix), "
                   "from its rules, so results compare with the EmoBox benchmark's")  # fmt: skip
    add_build_arguments(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        corpora = name_path_pairs(args.corpus, "--corpus")
        unknown = sorted(set(corpora) - set(CORPORA) - set(MORE_CORPORA))
        if unknown:
            raise BuildError(f"--corpus {unknown[0]}=...: not one of {', '.join([*CORPORA, *MORE_CORPORA])} (pass a "
                             "user's corpus with --manifest NAME=PATH)")  # fmt: skip
        cfg = BuildConfig(
            corpora={k: v for k, v in corpora.items() if k in CORPORA},
            more_corpora={k: v for k, v in corpora.items() if k in MORE_CORPORA},
            output_dir=args.output,
            seed=args.seed,
            test_size=args.test_size,
            validation_size=args.validation_size,
            num_proc=args.num_proc,
            overwrite=args.overwrite,
            folds=args.folds,
            label_map=parse_label_map(args.label_map, "--label-map"),
            sources=name_path_pairs(args.manifest, "--manifest"),
            source_options=SourceOptions(audio_column=args.audio_column, label_column=args.label_column,
                                         speaker_column=args.speaker_column, audio_root=args.audio_root),
            labels=[x.strip() for x in args.labels.split(",") if x.strip()] if args.labels else None,
            emobox_folds=args.emobox_folds,
        )  # fmt: skip
    except (BuildError, LabelMapError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return run_build(cfg, args, argv, "dataset_scripts/build.py")


if __name__ == "__main__":
    sys.exit(main())
