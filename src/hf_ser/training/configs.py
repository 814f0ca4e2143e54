"""Arguments of the recipes and the one parser: ``--config x.yaml`` gives defaults, flags override, unknown keys fail."""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from transformers import HfArgumentParser, TrainingArguments

__all__ = [
    "ConfigError",
    "DataArguments",
    "ModelArguments",
    "SERTrainingArguments",
    "label_list",
    "parse_recipe_args",
    "source_options",
    "validate_args",
]


class ConfigError(ValueError):
    """A config file or flag that cannot be used; the message names it."""


@dataclass
class ModelArguments:
    model_name_or_path: str = field(
        default="superb/hubert-large-superb-er",
        metadata={
            "help": "Hub id or local folder of an audio-classification checkpoint (HuBERT, wav2vec2, WavLM), or "
            "'hf-ser/tiny-hubert' for the small in-code HuBERT used by the demo and tests."
        },
    )
    peft: Literal["none", "qkv", "classifier", "all-linear"] = field(
        default="none",
        metadata={
            "help": "Fine-tuning method: none (full fine-tuning), qkv (LoRA on q/k/v + trained head), classifier "
            "(head only, backbone frozen with no backward pass), all-linear (LoRA on every encoder linear)."
        },
    )
    lora_r: int = field(default=8, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha (scale = alpha / r)."})
    lora_dropout: float = field(
        default=0.0,
        metadata={
            "help": "Dropout on the LoRA branch. 0 by default: on an H200 a dropout of 0.05 cost 15-20%% of a qkv step "
            "(peft copies the input once per adapted projection); the paper YAMLs set 0.05 explicitly."
        },
    )
    freeze_feature_encoder: bool = field(
        default=False, metadata={"help": "Also freeze the convolutional feature encoder in full fine-tuning."}
    )
    cache_features: bool | None = field(
        default=None,
        metadata={
            "help": "classifier only (on by default there): run the frozen backbone once per clip, cache the pooled "
            "features on disk ($HF_SER_CACHE or ~/.cache/hf_ser) and train the head on them."
        },
    )
    feature_views: int = field(
        default=1,
        metadata={
            "help": "With cached features: views per training clip. View 0 is the whole clip; views 1..K-1 are "
            "random crops with the run's augmentation, drawn once. Augmentation needs K >= 2."
        },
    )
    attn_implementation: str = field(
        default="auto",
        metadata={
            "help": "Attention kernel: auto (PyTorch's fused SDPA where the architecture has it, eager otherwise, e.g. "
            "WavLM), sdpa (refused for architectures without it) or eager."
        },
    )
    tiny_hidden_size: int = field(default=96, metadata={"help": "hf-ser/tiny-hubert only: hidden size."})
    tiny_num_layers: int = field(default=3, metadata={"help": "hf-ser/tiny-hubert only: transformer layers."})


@dataclass
class DataArguments:
    dataset: str = field(
        default="hf_ser/eight_emotions",
        metadata={
            "help": "A folder built by dataset_scripts/build.py (or eight_emotions.py), or any labelled audio: a CSV, "
            "TSV or JSONL manifest (EmoBox's too), a folder of train/test manifests, an audiofolder, a save_to_disk "
            "or Parquet folder, a Hub dataset id. Data other than a build is prepared once (decoded, checked, "
            "resampled, split) into $HF_SER_CACHE."
        },
    )
    protocol: str = field(
        default="auto",
        metadata={
            "help": "Dataset config: auto (the data's own splits if it has them, else speaker), default (the data's "
            "own splits), random (stratified; the paper's split), speaker (speaker-disjoint), a corpus name (one "
            "corpus), loco_<corpus> (leave one corpus out), speaker_fold<k> (speaker k-fold)."
        },
    )
    audio_column: str | None = field(
        default=None,
        metadata={"help": "A user's data: the audio (or audio path) column (default: audio, path, wav ...)."},
    )
    label_column: str | None = field(
        default=None, metadata={"help": "A user's data: the label column (default: label, emotion, emo ...)."}
    )
    speaker_column: str | None = field(
        default=None,
        metadata={"help": "A user's data: the speaker column (default: speaker, speaker_id, spk ...); without one, "
                  "only random and the data's own splits exist."},
    )  # fmt: skip
    audio_root: str | None = field(
        default=None,
        metadata={"help": "A manifest's relative audio paths start here (default: the manifest's folder, or the "
                  "nearest folder up from it where they exist, as for EmoBox's downloads/)."},
    )  # fmt: skip
    labels: str | None = field(
        default=None,
        metadata={"help": "Comma list: train and score on these classes only (after --label_map), in this order; "
                  "clips of other classes are left out, every split otherwise unchanged."},
    )  # fmt: skip
    max_duration: float = field(
        default=6.0, metadata={"help": "Training clips longer than this (seconds) are randomly cropped to it."}
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N training rows."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Use only the first N rows of val/test."})
    pitch_shift_p: float = field(default=0.0, metadata={"help": "Probability of a pitch shift (train only)."})
    pitch_shift_semitones: float = field(default=2.0, metadata={"help": "Pitch shift range, +/- semitones."})
    time_stretch_p: float = field(default=0.0, metadata={"help": "Probability of a time stretch (train only)."})
    time_stretch_min: float = field(default=0.9, metadata={"help": "Slowest time-stretch rate."})
    time_stretch_max: float = field(default=1.1, metadata={"help": "Fastest time-stretch rate."})
    noise_p: float = field(default=0.0, metadata={"help": "Probability of Gaussian noise (train only)."})
    noise_min_snr_db: float = field(default=15.0, metadata={"help": "Lowest SNR of the added noise."})
    noise_max_snr_db: float = field(default=40.0, metadata={"help": "Highest SNR of the added noise."})
    max_batch_seconds: float | None = field(
        default=None,
        metadata={
            "help": "Duration-budget batches: each training batch holds length-bucketed clips of at most this many "
            "seconds of (cropped, padded) audio, instead of per_device_train_batch_size clips. fairseq fine-tunes "
            "hubert-large with 80 s per GPU."
        },
    )
    pad_to_max_length: bool = field(
        default=False,
        metadata={"help": "Pad every batch to max_duration (the transformers example's way) instead of dynamically."},
    )
    label_map: str | None = field(
        default=None,
        metadata={
            "help": "Explicit label merges and names, comma-separated: presets (iemocap4: excited -> happy; no_calm: "
            "calm -> neutral), name=target pairs (LABEL_0=neutral, fru=other) or a YAML/JSON file of them. Merges "
            "the dataset's classes it names, and says which rows of a pretrained head mean which label."
        },
    )


@dataclass
class SERTrainingArguments(TrainingArguments):
    """TrainingArguments with SER defaults: evaluate and save each epoch, keep the best model by macro F1."""

    output_dir: str | None = field(default=None, metadata={"help": "Where the model, results and card go."})
    eval_strategy: str = field(default="epoch", metadata={"help": "When to evaluate on the validation split."})
    save_strategy: str = field(default="epoch", metadata={"help": "When to save a checkpoint."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept (the best is always kept)."})
    load_best_model_at_end: bool = field(default=True, metadata={"help": "Reload the best checkpoint at the end."})
    metric_for_best_model: str | None = field(default="f1_macro", metadata={"help": "Validation metric to select on."})
    greater_is_better: bool | None = field(default=None, metadata={"help": "Derived from the metric when unset."})
    train_sampling_strategy: str = field(
        default="group_by_length", metadata={"help": "group_by_length batches clips of similar duration."}
    )
    remove_unused_columns: bool = field(
        default=False, metadata={"help": "Kept False: the audio transform needs them."}
    )
    logging_steps: float = field(default=10, metadata={"help": "Log every N steps."})
    report_to: None | str | list[str] = field(
        default="auto", metadata={"help": "'auto': TensorBoard when it is installed, else none."}
    )
    bf16_if_available: bool = field(
        default=True, metadata={"help": "Train in bf16 when the GPU supports it (Ampere or newer); fp32 otherwise."}
    )
    dataloader_persistent_workers: bool | None = field(
        default=None,
        metadata={"help": "Keep dataloader workers between epochs (default: whenever dataloader_num_workers > 0)."},
    )
    dataloader_pin_memory: bool | None = field(
        default=None, metadata={"help": "Pin host memory for GPU transfers (default: only when CUDA is available)."}
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Replace the run already in output_dir (its checkpoints, model and results). Without it, a folder "
            "holding a run is refused unless --resume_from_checkpoint continues it."
        },
    )
    model_card_template: str | None = field(
        default=None, metadata={"help": "Jinja template of the model card (default: the repository's model_card.md)."}
    )

    def __post_init__(self):
        if self.output_dir is None:
            raise ConfigError("--output_dir is required (in the YAML or as a flag)")
        import os

        import torch

        if not self.use_cpu and not torch.cuda.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            # Launched as several processes on a machine without CUDA: DDP over gloo on CPU. Without use_cpu,
            # accelerate would start each process as an independent single-process run.
            self.use_cpu = True
        if self.bf16_if_available and not (self.bf16 or self.fp16) and not self.use_cpu:
            self.bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        if self.dataloader_pin_memory is None:
            self.dataloader_pin_memory = torch.cuda.is_available()
        if self.dataloader_persistent_workers is None:
            self.dataloader_persistent_workers = self.dataloader_num_workers > 0
        if self.tf32 is None and not self.use_cpu and torch.cuda.is_available():
            # TF32 for the fp32 matmuls left outside bf16 autocast (Ampere or newer); the probe on an H200 measured
            # fused AdamW + TF32 at 1.35x a batch-32 full step (../measurements ceiling_probe).
            self.tf32 = torch.cuda.get_device_capability()[0] >= 8
        if self.report_to == "auto":
            try:
                import tensorboard  # noqa: F401

                self.report_to = ["tensorboard"]
            except ImportError:
                self.report_to = "none"
        if self.greater_is_better is None and self.metric_for_best_model:
            self.greater_is_better = not self.metric_for_best_model.removeprefix("eval_").startswith(("eer", "loss"))
        super().__post_init__()


def _all_fields(classes) -> dict[str, type]:
    out = {}
    for cls in classes:
        for f in dataclasses.fields(cls):
            if f.init:
                out[f.name] = cls
    return out


def parse_yaml_and_flags(classes: tuple, argv: list[str] | None, script: str):
    """(one instance per class in ``classes``, config_dict) from ``--config`` YAML + flags (flags win).

    Unknown YAML keys and unknown flags are ConfigErrors naming them; ``script`` is named in the hint.
    """
    import yaml

    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, rest = pre.parse_known_args(argv)
    defaults: dict = {}
    if known.config:
        path = Path(known.config)
        if not path.is_file():
            raise ConfigError(f"--config {path}: file not found")
        try:
            defaults = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"--config {path}: not valid YAML ({err})") from err
        if not isinstance(defaults, dict):
            raise ConfigError(f"--config {path}: expected a mapping of argument names to values")
        unknown = sorted(set(defaults) - set(_all_fields(classes)))
        if unknown:
            raise ConfigError(f"--config {path}: unknown key(s) {', '.join(unknown)} (see `{script} --help`)")
    parser = HfArgumentParser(classes)
    parser.add_argument("--config", help="YAML file whose keys are any of the flags below; flags override it")
    parser.set_defaults(**defaults)
    # argparse's own errors (unknown flag, bad choice) exit 2 with the flag named, as a CLI should.
    try:
        *parsed, _ = parser.parse_args_into_dataclasses(
            args=rest + (["--config", known.config] if known.config else [])
        )
    except ValueError as err:  # unknown flags, and TrainingArguments' own validation (e.g. incompatible strategies)
        msg = str(err).strip()
        if "not used by the HfArgumentParser" in msg:
            unknown = [a for a in rest if a.startswith("--") and a in msg]
            msg = f"unknown flag(s) {' '.join(unknown) or msg} (see `{script} --help`)"
        raise ConfigError(msg) from err
    return (*parsed, {**defaults, "_argv": argv})


def parse_recipe_args(argv: list[str] | None = None):
    """(ModelArguments, DataArguments, SERTrainingArguments, config_dict) from ``--config`` YAML + flags."""
    model_args, data_args, training_args, config = parse_yaml_and_flags(
        (ModelArguments, DataArguments, SERTrainingArguments), argv, "recipes/train.py"
    )
    validate_args(model_args, data_args, training_args)
    return model_args, data_args, training_args, config


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def validate_args(model_args, data_args, training_args) -> None:
    """Values that would run but train nothing, train on nothing, or crash later: refused before anything loads."""
    from hf_ser.audio import MIN_SECONDS

    errors = []
    if training_args.max_steps <= 0 and not (
        _finite(training_args.num_train_epochs) and training_args.num_train_epochs > 0
    ):
        errors.append(
            f"--num_train_epochs {training_args.num_train_epochs} trains nothing (give a positive number, or --max_steps N)"
        )
    if not _finite(data_args.max_duration) or data_args.max_duration < MIN_SECONDS:
        errors.append(
            f"--max_duration {data_args.max_duration}: training clips are cropped to this many seconds; it must be "
            f"at least {MIN_SECONDS} (the shortest clip the dataset builder keeps)"
        )
    if data_args.max_batch_seconds is not None and not (
        _finite(data_args.max_batch_seconds) and data_args.max_batch_seconds >= data_args.max_duration
    ):
        errors.append(
            f"--max_batch_seconds {data_args.max_batch_seconds}: must be at least --max_duration "
            f"{data_args.max_duration} (a cropped clip must fit in a batch)"
        )
    if data_args.max_batch_seconds is not None and data_args.pad_to_max_length:
        errors.append(
            "--max_batch_seconds and --pad_to_max_length do not go together (the budget assumes dynamic padding)"
        )
    for name in ("max_train_samples", "max_eval_samples"):
        v = getattr(data_args, name)
        if v is not None and v < 1:
            errors.append(f"--{name} {v}: must be at least 1 (or left unset for all rows)")
    for name in ("pitch_shift_p", "time_stretch_p", "noise_p"):
        v = getattr(data_args, name)
        if not (_finite(v) and 0 <= v <= 1):
            errors.append(f"--{name} {v}: a probability, in [0, 1]")
    if not (_finite(data_args.pitch_shift_semitones) and data_args.pitch_shift_semitones >= 0):
        errors.append(f"--pitch_shift_semitones {data_args.pitch_shift_semitones}: must be >= 0")
    if not (0 < data_args.time_stretch_min <= data_args.time_stretch_max):
        errors.append(
            f"--time_stretch_min {data_args.time_stretch_min} / --time_stretch_max {data_args.time_stretch_max}: need 0 < min <= max"
        )
    if not data_args.noise_min_snr_db <= data_args.noise_max_snr_db:
        errors.append(
            f"--noise_min_snr_db {data_args.noise_min_snr_db} is above --noise_max_snr_db {data_args.noise_max_snr_db}"
        )
    from hf_ser.outputs import overlaps

    for flag, src in (("--model_name_or_path", model_args.model_name_or_path), ("--dataset", data_args.dataset)):
        if training_args.output_dir and Path(src).expanduser().is_dir() and overlaps(Path(training_args.output_dir),
                                                                                   Path(src).expanduser()):  # fmt: skip
            errors.append(f"--output_dir {training_args.output_dir} overlaps {flag} {src}: a run there (or "
                          "--overwrite_output_dir) would write over what it reads; choose another --output_dir")  # fmt: skip
    from hf_ser.data.layout import check_protocol_name
    from hf_ser.data.protocols import ProtocolError

    try:
        check_protocol_name(data_args.protocol)
    except ProtocolError as err:
        errors.append(str(err))
    augmenting = max(data_args.pitch_shift_p, data_args.time_stretch_p, data_args.noise_p) > 0
    if model_args.cache_features and model_args.peft != "classifier":
        errors.append(
            f"--cache_features applies to --peft classifier only (the backbone of {model_args.peft} changes)"
        )
    caching = model_args.peft == "classifier" and model_args.cache_features is not False
    if caching and augmenting and model_args.feature_views < 2:
        errors.append(
            "--peft classifier caches backbone features, and on-the-fly augmentation cannot be cached: pass "
            "--feature_views K (K >= 2: the whole clip plus K-1 augmented crops, computed once) or --cache_features false"
        )
    if model_args.feature_views < 1:
        errors.append(f"--feature_views {model_args.feature_views}: must be >= 1")
    from hf_ser.modeling.architectures import ATTN_IMPLEMENTATIONS

    if model_args.attn_implementation not in ATTN_IMPLEMENTATIONS:
        errors.append(
            f"--attn_implementation {model_args.attn_implementation}: one of {', '.join(ATTN_IMPLEMENTATIONS)}"
        )
    if model_args.lora_r < 1:
        errors.append(f"--lora_r {model_args.lora_r}: the LoRA rank must be >= 1")
    if not (_finite(model_args.lora_dropout) and 0 <= model_args.lora_dropout < 1):
        errors.append(f"--lora_dropout {model_args.lora_dropout}: must be in [0, 1)")
    if not (_finite(training_args.learning_rate) and training_args.learning_rate > 0):
        errors.append(f"--learning_rate {training_args.learning_rate}: must be > 0")
    from hf_ser.labels import LabelMapError, parse_label_map

    try:
        parse_label_map(data_args.label_map)
    except LabelMapError as err:
        errors.append(str(err))
    if errors:
        raise ConfigError("; ".join(errors))


def source_options(data_args):
    """The hf_ser.data.sources.SourceOptions of the recipe's --*_column and --audio_root flags."""
    from hf_ser.data.sources import SourceOptions

    return SourceOptions(audio_column=data_args.audio_column, label_column=data_args.label_column,
                         speaker_column=data_args.speaker_column, audio_root=data_args.audio_root)  # fmt: skip


def label_list(spec: str | None) -> list[str] | None:
    """``--labels a,b,c`` as a list (None when unset)."""
    if not spec:
        return None
    return [p.strip() for p in str(spec).split(",") if p.strip()]
