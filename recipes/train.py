#!/usr/bin/env python
"""Fine-tune an audio-classification backbone for eight-emotion SER (full, LoRA-QKV or classifier-only).

    accelerate launch recipes/train.py --config recipes/hubert-large/qkv.yaml
    accelerate launch recipes/train.py --config recipes/hubert-large/full.yaml --peft qkv --lora_r 16
    accelerate launch --config_file recipes/accelerate_configs/cpu.yaml recipes/train.py --config recipes/demo/full.yaml

Any TrainingArguments field is a flag (``--learning_rate 3e-4``); YAML keys are the same names.
"""

from __future__ import annotations

import logging
import shlex
import sys

import transformers

from hf_ser.training.configs import ConfigError, parse_recipe_args
from hf_ser.training.run import DIVERGED_ERRORS, USER_ERRORS, train


def main(argv: list[str] | None = None) -> int:
    # Parse arguments
    try:
        model_args, data_args, training_args, _ = parse_recipe_args(argv)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    # Set up logging
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity(training_args.get_process_log_level())

    # Train, evaluate, write the run folder
    command = "accelerate launch recipes/train.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    try:
        results = train(model_args, data_args, training_args, command=command)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except DIVERGED_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 3

    if training_args.process_index == 0:
        t = results["test"]
        print(
            f"\n{model_args.peft} on {data_args.protocol}/test ({t['num_samples']} clips): accuracy {t['accuracy']:.4f}, "
            f"F1 {t['f1_macro']:.4f}, UAR {t['uar']:.4f}, EER {t['eer']:.4f}\n"
            f"Model, results.json, confusion_matrix.png, README.md: {training_args.output_dir}\n"
            f'Try it: pipeline("audio-classification", model="{training_args.output_dir}")'
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
