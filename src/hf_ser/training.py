"""Data transforms, collator, metrics and the Trainer run behind recipes/train.py and recipes/eval.py."""

from __future__ import annotations

import dataclasses
import logging
import platform
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hf_ser.audio import SAMPLING_RATE, AugmentConfig, build_augmentation, random_crop
from hf_ser.labels import CORPORA, EMOTIONS
from hf_ser.metrics.functional import ser_metrics

__all__ = [
    "REQUIRED_COLUMNS",
    "AudioCollator",
    "DataError",
    "EvalTransform",
    "TrainTransform",
    "clip_lengths",
    "compute_metrics",
    "make_trainer",
    "load_ser_dataset",
    "peak_memory_mb",
    "score_checkpoint",
    "predict_and_score",
    "train",
]

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("audio", "label")
SCALAR_METRICS = ("accuracy", "f1_macro", "f1_weighted", "uar", "eer", "eer_micro")


class DataError(RuntimeError):
    """A dataset that cannot be trained on; the message names the dataset, split or column."""


# ------------------------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------------------------
def load_ser_dataset(dataset: str, protocol: str, splits=("train", "validation", "test")):
    """load_dataset(dataset, protocol) with every way it can be wrong turned into one clear DataError."""
    from datasets import ClassLabel

    from hf_ser.data import load_eight_emotions
    from hf_ser.hub import looks_like_hub_id

    local = Path(dataset).expanduser()
    if not local.exists() and not looks_like_hub_id(dataset):
        raise DataError(f"--dataset {dataset}: no such folder, and not a Hub id")
    try:
        dd = load_eight_emotions(str(local) if local.exists() else dataset, protocol)
    except ValueError as err:
        raise DataError(f"--dataset {dataset}: cannot load config {protocol!r} ({err})") from err
    except Exception as err:  # noqa: BLE001 - datasets raises many types for 'not there' (offline, 404, no files)
        if local.exists():
            raise DataError(f"--dataset {dataset}: cannot load this folder: {type(err).__name__}: {err}") from err
        raise DataError(
            f"--dataset {dataset}: no such folder here, and as a Hub id it cannot be loaded (the Hub is unreachable "
            f"offline, or the id is wrong): {type(err).__name__}: {err}. Build the folder with "
            "dataset_scripts/eight_emotions.py, or download it on a connected machine, and pass its path."
        ) from err
    missing = [s for s in splits if s not in dd]
    if missing:
        raise DataError(f"--dataset {dataset} ({protocol}): missing split(s) {missing}; it has {list(dd)}")
    for split in splits:
        cols = dd[split].column_names
        absent = [c for c in REQUIRED_COLUMNS if c not in cols]
        if absent:
            raise DataError(f"--dataset {dataset} ({protocol}/{split}): missing column(s) {absent}; it has {cols}")
        label = dd[split].features["label"]
        if not isinstance(label, ClassLabel) or list(label.names) != list(EMOTIONS):
            raise DataError(
                f"--dataset {dataset} ({protocol}/{split}): 'label' must be a ClassLabel over {list(EMOTIONS)}, "
                f"got {label}"
            )
    return dd


def _samples(audio) -> np.ndarray:
    # datasets 5 decodes to a torchcodec AudioDecoder; dict access gives the array at the stored 16 kHz.
    arr = audio["array"]
    return arr.numpy() if isinstance(arr, torch.Tensor) else np.asarray(arr, dtype=np.float32)


class TrainTransform:
    """Random crop to max_duration, then augmentation (train split only)."""

    def __init__(self, max_duration: float, augment: AugmentConfig | None = None):
        self.max_samples = int(max_duration * SAMPLING_RATE)
        self.augment_cfg = augment or AugmentConfig()
        self._augment = None

    def __call__(self, batch: dict) -> dict:
        if "audio" not in batch:  # a column read (e.g. lengths for the sampler) passes through untouched
            return batch
        if self._augment is None and self.augment_cfg.enabled:
            self._augment = build_augmentation(self.augment_cfg)
        # torch's RNG is seeded by the Trainer (and per dataloader worker): reproducible and distinct per worker.
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,)).item()))
        out = []
        for audio in batch["audio"]:
            x = random_crop(_samples(audio), self.max_samples, rng)
            if self._augment is not None:
                x = self._augment(samples=x, sample_rate=SAMPLING_RATE)
            out.append(x.astype(np.float32, copy=False))
        return {"input_values": out, "labels": list(batch["label"])}


class EvalTransform:
    """Whole clips, no augmentation."""

    def __call__(self, batch: dict) -> dict:
        if "audio" not in batch:
            return batch
        return {"input_values": [_samples(a) for a in batch["audio"]], "labels": list(batch["label"])}


@dataclass
class AudioCollator:
    """Feature-extractor normalisation + padding per batch: dynamic (to the longest clip) or to a fixed length."""

    feature_extractor: object
    max_length: int | None = None  # samples; set to pad every batch to it (the transformers example's way)

    def __call__(self, features: list[dict]) -> dict:
        arrays = [f["input_values"] for f in features]
        kwargs = {"padding": "longest"}
        if self.max_length is not None:
            kwargs = {"padding": "max_length", "max_length": self.max_length, "truncation": True}
        batch = self.feature_extractor(arrays, sampling_rate=SAMPLING_RATE, return_tensors="pt", **kwargs)
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return batch


def compute_metrics(eval_pred) -> dict[str, float]:
    """Trainer hook: the scalar part of the SER bundle on the validation logits."""
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    if isinstance(logits, tuple):
        logits = logits[0]
    full = ser_metrics(logits, labels, label_names=EMOTIONS)
    return {k: full[k] for k in SCALAR_METRICS}


def peak_memory_mb() -> dict[str, float]:
    out = {"cpu_rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if torch.cuda.is_available():
        out["gpu_allocated_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def by_length(ds):
    """Rows sorted by duration (metadata only): evaluation batches of whole clips then pad little."""
    return ds.sort("duration") if "duration" in ds.column_names else ds


def predict_and_score(trainer, raw_split) -> dict:
    """Whole-clip predictions on one split -> the full SER bundle plus per-corpus accuracy."""
    raw_split = by_length(raw_split)
    view = raw_split.with_transform(EvalTransform())
    out = trainer.predict(view, metric_key_prefix="predict")
    logits = out.predictions[0] if isinstance(out.predictions, tuple) else out.predictions
    labels = out.label_ids
    result = ser_metrics(logits, labels, label_names=EMOTIONS)
    result["num_samples"] = int(len(labels))
    if "corpus" in raw_split.column_names:
        corpus_names = getattr(raw_split.features["corpus"], "names", CORPORA)
        corpus = np.asarray(raw_split["corpus"])
        pred = logits.argmax(axis=1)
        result["per_corpus_accuracy"] = {
            corpus_names[c]: float((pred[corpus == c] == labels[corpus == c]).mean())
            for c in sorted(set(corpus.tolist()))
        }
    return result


# ------------------------------------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------------------------------------
def clip_lengths(ds, max_duration: float) -> list[int] | None:
    """Samples per row after cropping, from the metadata column (no audio decoded); None without 'duration'."""
    if "duration" not in ds.column_names:
        logger.warning("dataset has no 'duration' column: batches will not be grouped by length")
        return None
    # A column read honours select()/sort() index mappings (ds.data would not) and decodes no audio.
    seconds = np.minimum(np.asarray(ds["duration"], dtype=np.float64), max_duration)
    return (seconds * SAMPLING_RATE).astype(np.int64).tolist()


def make_trainer(*args, train_lengths: list[int] | None = None, **kwargs):
    """A transformers Trainer whose length-grouped sampler uses ``train_lengths`` (read from metadata) instead of
    indexing the dataset, which with an on-the-fly audio transform would decode every clip to measure it."""
    from transformers import Trainer
    from transformers.trainer_pt_utils import LengthGroupedSampler

    class SERTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            if self.args.train_sampling_strategy == "group_by_length" and train_lengths is not None:
                return LengthGroupedSampler(
                    self.args.train_batch_size * self.args.gradient_accumulation_steps, lengths=train_lengths
                )
            return super()._get_train_sampler(train_dataset)

    return SERTrainer(*args, **kwargs)


def _versions() -> dict[str, str]:
    import accelerate
    import datasets
    import peft
    import transformers

    import hf_ser

    return {
        "hf_ser": hf_ser.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "accelerate": accelerate.__version__,
        "datasets": datasets.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def train(model_args, data_args, training_args, *, command: str | None = None) -> dict:
    """Fine-tune, evaluate on validation and test, write the run folder; returns results.json's content."""
    from hf_ser.hub import check_hub_push
    from hf_ser.modeling import apply_method, count_parameters, export_model, load_backbone
    from hf_ser.reporting import plot_confusion_matrix, write_json

    push_repo = None
    if training_args.push_to_hub:
        push_repo = training_args.hub_model_id
        if not push_repo:
            raise DataError("--push_to_hub needs --hub_model_id ORG/NAME")
        check_hub_push(push_repo, what="push_to_hub")  # before any data or model is loaded
        training_args.push_to_hub = False  # we push the finished folder ourselves, once

    # Load datasets
    dd = load_ser_dataset(data_args.dataset, data_args.protocol)
    train_raw, val_raw, test_raw = dd["train"], dd["validation"], dd["test"]
    if data_args.max_train_samples:
        train_raw = train_raw.select(range(min(data_args.max_train_samples, len(train_raw))))
    if data_args.max_eval_samples:
        val_raw = val_raw.select(range(min(data_args.max_eval_samples, len(val_raw))))
        test_raw = test_raw.select(range(min(data_args.max_eval_samples, len(test_raw))))

    # Load model and apply the fine-tuning method
    model, feature_extractor = load_backbone(
        model_args.model_name_or_path,
        tiny_hidden_size=model_args.tiny_hidden_size,
        tiny_num_layers=model_args.tiny_num_layers,
        seed=training_args.seed,
    )
    model = apply_method(
        model,
        model_args.peft,
        lora_r=model_args.lora_r,
        lora_alpha=model_args.lora_alpha,
        lora_dropout=model_args.lora_dropout,
        freeze_feature_encoder=model_args.freeze_feature_encoder,
    )
    params = count_parameters(model)
    logger.info(
        "method %s: %s trainable of %s parameters (%.2f%%)",
        model_args.peft,
        f"{params['trainable']:,}",
        f"{params['total']:,}",
        100 * params["trainable"] / params["total"],
    )

    augment = AugmentConfig(
        **{f.name: getattr(data_args, f.name) for f in dataclasses.fields(AugmentConfig) if hasattr(data_args, f.name)}
    )
    train_ds = train_raw.with_transform(TrainTransform(data_args.max_duration, augment))
    collator = AudioCollator(
        feature_extractor,
        max_length=int(data_args.max_duration * SAMPLING_RATE) if data_args.pad_to_max_length else None,
    )
    eval_collator = AudioCollator(feature_extractor)

    # Training loop
    trainer = make_trainer(
        model=model,
        train_lengths=clip_lengths(train_raw, data_args.max_duration),
        args=training_args,
        train_dataset=train_ds,
        eval_dataset=by_length(val_raw).with_transform(EvalTransform()),
        data_collator=collator,
        compute_metrics=compute_metrics,
        processing_class=feature_extractor,
    )
    resume = training_args.resume_from_checkpoint
    if isinstance(resume, str) and resume.lower() in {"last", "true"}:
        resume = True
    t0 = time.perf_counter()
    train_out = trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.perf_counter() - t0

    # Evaluate on whole clips (the eval collator pads dynamically even when training padded to a fixed length)
    trainer.data_collator = eval_collator
    val_result = predict_and_score(trainer, val_raw)
    test_result = predict_and_score(trainer, test_raw)

    results = {
        "method": model_args.peft,
        "model": model_args.model_name_or_path,
        "dataset": data_args.dataset,
        "protocol": data_args.protocol,
        "seed": training_args.seed,
        "params": params,
        "train_runtime_s": round(train_seconds, 2),
        "train_steps": int(train_out.global_step),
        "epochs": float(trainer.state.epoch or 0),
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "peak_memory": peak_memory_mb(),
        "world_size": int(training_args.world_size),
        "validation": val_result,
        "test": test_result,
        "command": command,
        "config": {
            "model": dataclasses.asdict(model_args),
            "data": dataclasses.asdict(data_args),
            "training": {
                k: v for k, v in training_args.to_dict().items() if not k.startswith("_") and "token" not in k
            },
        },
        "versions": _versions(),
        "output_dir": str(training_args.output_dir),
    }
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        out = Path(training_args.output_dir)
        export_model(trainer.accelerator.unwrap_model(trainer.model), feature_extractor, out)
        write_json(results, out / "results.json")
        plot_confusion_matrix(
            test_result["confusion_matrix_percent"],
            EMOTIONS,
            out / "confusion_matrix.png",
            title=f"{Path(model_args.model_name_or_path).name} ({model_args.peft}), {data_args.protocol} test",
        )
        from hf_ser.model_card import render_model_card

        render_model_card(results, template=training_args.model_card_template).save(str(out / "README.md"))
        if push_repo:
            from hf_ser.hub import upload_folder

            url = upload_folder(out, push_repo, repo_type="model", private=training_args.hub_private_repo is not False,
                                message=f"hf-ser: {model_args.peft} on {data_args.protocol}",
                                ignore_patterns=["checkpoint-*", "checkpoint-*/**", "runs/**"])  # fmt: skip
            logger.info("pushed %s to %s", out, url)
    trainer.accelerator.wait_for_everyone()
    return results


def score_checkpoint(
    model: str, dataset: str, protocol: str, split: str, output_dir: str, *, batch_size: int = 16
) -> dict:
    """Score any saved checkpoint (local folder or Hub id) on one split; writes results.json + confusion_matrix.png."""
    import tempfile

    from transformers import AutoFeatureExtractor, AutoModelForAudioClassification, TrainingArguments

    from hf_ser.hub import looks_like_hub_id
    from hf_ser.modeling import ModelLoadError
    from hf_ser.reporting import plot_confusion_matrix, write_json

    local = Path(model).expanduser()
    if not local.exists() and not looks_like_hub_id(model):
        raise ModelLoadError(f"--model {model}: no such folder, and not a Hub id")
    try:  # the model first: it fails faster than a dataset load
        net = AutoModelForAudioClassification.from_pretrained(model)
        fe = AutoFeatureExtractor.from_pretrained(model)
    except (OSError, ValueError) as err:
        if local.exists():
            raise ModelLoadError(f"--model {model}: not a transformers checkpoint ({err})") from err
        raise ModelLoadError(
            f"--model {model}: no such folder here, and as a Hub id it cannot be loaded (the Hub is unreachable "
            f"offline, or the id is wrong). On a connected machine run `hf download {model} --local-dir DIR`, then "
            "pass --model DIR."
        ) from err
    dd = load_ser_dataset(dataset, protocol, splits=(split,))
    labels = [net.config.id2label[i] for i in range(net.config.num_labels)]
    if labels != list(EMOTIONS):
        raise ModelLoadError(f"--model {model}: its labels {labels} are not hf-ser's eight emotions {list(EMOTIONS)}")
    raw = dd[split]
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_eval_batch_size=batch_size, report_to="none",
                                 remove_unused_columns=False, dataloader_pin_memory=torch.cuda.is_available())  # fmt: skip
        trainer = make_trainer(model=net, args=args, data_collator=AudioCollator(fe), processing_class=fe)
        result = predict_and_score(trainer, raw)
    results = {"model": model, "method": "checkpoint", "dataset": dataset, "protocol": protocol, "split": split,
               split: result, "versions": _versions(), "output_dir": str(output_dir)}  # fmt: skip
    if split != "test":
        results["test"] = result  # compare tables read 'test' by default; say which split it really is above
    out = Path(output_dir)
    write_json(results, out / "results.json")
    plot_confusion_matrix(result["confusion_matrix_percent"], EMOTIONS, out / "confusion_matrix.png",
                          title=f"{Path(model).name} on {protocol}/{split}")  # fmt: skip
    return results
