#!/usr/bin/env python
"""Train one method on every fold (or every leave-one-corpus-out config) and tabulate mean +- std over them.

    python recipes/cross_validate.py --protocols kfold --config recipes/demo/full.yaml
    python recipes/cross_validate.py --protocols loco --config recipes/hubert-large/qkv.yaml --dataset data/eight_emotions
    python recipes/cross_validate.py --protocols speaker_fold0,speaker_fold1 --config recipes/demo/full.yaml

--protocols is a comma list of dataset configs, or kfold (every speaker_fold<k> of the dataset), loco (every
loco_<corpus>), corpora (each corpus's own config), emobox (every emobox_fold<k> of a build with --emobox-folds) or
emobox:<corpus> (that corpus's <corpus>_emobox_fold<k> in a mix). --dataset is any dataset recipes/train.py takes (a manifest
too). Every other flag is recipes/train.py's; each config's run goes to <output_dir>/<config>, and
<output_dir>/cross_validation.{md,json} hold the per-config rows and the mean +- std (with each run's 95% bootstrap
intervals).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import shlex
import sys
from pathlib import Path

import transformers

from hf_ser.data.loading import DataError
from hf_ser.evaluation.crossval import cross_validation_report, expand_protocols
from hf_ser.training.configs import ConfigError, parse_recipe_args, source_options
from hf_ser.training.run import DIVERGED_ERRORS, USER_ERRORS, train


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--protocols", required=True)
    known, rest = pre.parse_known_args(argv)
    try:
        model_args, data_args, training_args, _ = parse_recipe_args(rest)
        protocols = expand_protocols(known.protocols, data_args.dataset, source_options(data_args))
    except (ConfigError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity(training_args.get_process_log_level())

    root = Path(training_args.output_dir)
    runs = []
    for protocol in protocols:
        data = dataclasses.replace(data_args, protocol=protocol)
        args = dataclasses.replace(training_args, output_dir=str(root / protocol))
        command = "python recipes/cross_validate.py " + shlex.join(argv) + f"  # {protocol}"
        try:
            runs.append(train(model_args, data, args, command=command))
        except USER_ERRORS as err:
            print(f"error ({protocol}): {err}", file=sys.stderr)
            return 2
        except DIVERGED_ERRORS as err:
            print(f"error ({protocol}): {err}", file=sys.stderr)
            return 3
    if training_args.process_index == 0:
        md = cross_validation_report(runs, root)
        print("\n" + md + f"\n\nWrote {root / 'cross_validation.md'} and {root / 'cross_validation.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
