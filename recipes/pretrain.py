#!/usr/bin/env python
"""Pretrain a HuBERT backbone self-supervised (HuBERT iteration 1: masked prediction of MFCC k-means clusters).

    python recipes/pretrain.py --config recipes/pretrain/tiny-hubert.yaml
    python recipes/pretrain.py --config recipes/pretrain/tiny-hubert.yaml --resume_from_checkpoint last
    accelerate launch recipes/pretrain.py --audio_dir DIR --output_dir models/my-backbone --num_train_epochs 20

Writes an ordinary from_pretrained folder (config.json, model.safetensors, preprocessor_config.json), plus
codebook.npz, pretraining.json and a model card. Any TrainingArguments field is a flag; YAML keys are the same names.
"""

from __future__ import annotations

import logging
import shlex
import sys

import transformers

from hf_ser.training.configs import ConfigError, parse_yaml_and_flags
from hf_ser.training.pretraining.run import PretrainArguments, PretrainTrainingArguments, pretrain
from hf_ser.training.rundir import RunDirError


def main(argv: list[str] | None = None) -> int:
    try:
        args, targs, _ = parse_yaml_and_flags(
            (PretrainArguments, PretrainTrainingArguments), argv, "recipes/pretrain.py"
        )
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity(targs.get_process_log_level())
    command = "python recipes/pretrain.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    try:
        report = pretrain(args, targs, command=command)
    except (ConfigError, RunDirError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not report:  # not the main process
        return 0
    v = report["validation_masked_prediction"]
    print(
        f"\nPretrained {report['params']:,} parameters on {report['corpus']['clips']} clips "
        f"({report['corpus']['hours']:.2f} h) in {report['train_runtime_s'] / 60:.1f} min: masked-frame loss "
        f"{v['before']['loss']:.3f} -> {v['after']['loss']:.3f}, accuracy {v['before']['accuracy']:.3f} -> "
        f"{v['after']['accuracy']:.3f}\nBackbone: {targs.output_dir} (fine-tune it with --model_name_or_path "
        f"{targs.output_dir})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
