"""The run behind recipes/train.py: load the data and the backbone, apply the method, train, score validation and
test on whole clips, write the run folder (model, adapter, results, predictions, confusion matrix, model card)."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

from hf_ser.audio import SAMPLING_RATE, AugmentConfig
from hf_ser.data.loading import (
    DataError,
    describe_splits,
    load_ser_dataset,
    merge_labels,
    select_labels,
    split_summary,
)
from hf_ser.data.transforms import AudioCollator, TrainTransform, clip_lengths
from hf_ser.evaluation.scoring import clip_ids, score_split, split_labels, write_predictions
from hf_ser.evaluation.validation import compute_metrics
from hf_ser.labels import parse_label_map
from hf_ser.training.configs import label_list, source_options
from hf_ser.training.trainer import DivergenceGuard, TrainingDivergedError, make_trainer, peak_memory_mb

__all__ = ["DIVERGED_ERRORS", "USER_ERRORS", "train"]

logger = logging.getLogger(__name__)


def _error_kinds():
    from hf_ser.evaluation.scoring import NonFiniteLogitsError
    from hf_ser.hub import HubUnavailableError
    from hf_ser.modeling.architectures import ArchitectureError
    from hf_ser.modeling.loading import ModelLoadError
    from hf_ser.training.configs import ConfigError
    from hf_ser.training.rundir import RunDirError

    user = (DataError, ModelLoadError, HubUnavailableError, ConfigError, RunDirError, ArchitectureError)
    return user, (TrainingDivergedError, NonFiniteLogitsError)


def _batching(trainer, data_args, training_args) -> dict:
    sampler = getattr(trainer, "duration_sampler", None)
    if sampler is None:
        return {"kind": "clips", "per_device_train_batch_size": training_args.per_device_train_batch_size}
    return {"kind": "duration", "max_batch_seconds": data_args.max_batch_seconds,
            "batches_per_epoch": len(sampler.batches), "padding_fraction": round(sampler.padding_fraction, 4)}  # fmt: skip


def _select_rows(dd, data_args):
    train_raw, val_raw, test_raw = dd["train"], dd["validation"], dd["test"]
    if data_args.max_train_samples:
        train_raw = train_raw.select(range(min(data_args.max_train_samples, len(train_raw))))
    if data_args.max_eval_samples:
        val_raw = val_raw.select(range(min(data_args.max_eval_samples, len(val_raw))))
        test_raw = test_raw.select(range(min(data_args.max_eval_samples, len(test_raw))))
    return train_raw, val_raw, test_raw


def train(model_args, data_args, training_args, *, command: str | None = None, callbacks=()) -> dict:
    """Fine-tune, score validation and test, write the run folder; returns results.json's content (on the main
    process; the others return an empty dict). ``callbacks`` are extra TrainerCallbacks (timers, loggers)."""
    from hf_ser.evaluation.reporting import plot_confusion_matrix, versions, write_json
    from hf_ser.hub import check_hub_push
    from hf_ser.modeling.loading import apply_method, count_parameters, export_model, load_backbone
    from hf_ser.training.rundir import prepare_run_dir

    # Check the output folder and the push target before any data or model is loaded
    resume = prepare_run_dir(training_args.output_dir, training_args.resume_from_checkpoint,
                             overwrite=training_args.overwrite_output_dir,
                             is_main=training_args.process_index == 0)  # fmt: skip
    push_repo = None
    if training_args.push_to_hub:
        push_repo = training_args.hub_model_id
        if not push_repo:
            raise DataError("--push_to_hub needs --hub_model_id ORG/NAME")
        check_hub_push(push_repo, what="push_to_hub")
        training_args.push_to_hub = False  # we push the finished folder ourselves, once

    # Load datasets: the model is trained on the dataset's labels (after --label_map's merges and --labels)
    label_map = parse_label_map(data_args.label_map)
    resolved: list = []
    dd = load_ser_dataset(data_args.dataset, data_args.protocol, source_options=source_options(data_args),
                          resolved=resolved)  # fmt: skip
    dd, merged = merge_labels(dd, label_map)
    if merged:
        logger.warning(
            "--label_map merges the dataset's labels: %s", ", ".join(f"{a} -> {b}" for a, b in merged.items())
        )
    dd, dropped = select_labels(dd, label_list(data_args.labels))
    data_args.protocol = resolved[1]  # auto -> the config it chose
    splits = split_summary(dd)
    if training_args.process_index == 0:
        logger.info("%s", describe_splits(data_args.dataset, data_args.protocol, splits, dropped))
    labels = split_labels(dd["train"])
    if len(labels) < 2:
        raise DataError(f"--dataset {data_args.dataset}: one label ({labels[0]}); a classifier needs two or more")
    train_raw, val_raw, test_raw = _select_rows(dd, data_args)

    # Load model and apply the fine-tuning method
    model, feature_extractor = load_backbone(
        model_args.model_name_or_path,
        labels=labels,
        label_map=label_map,
        tiny_hidden_size=model_args.tiny_hidden_size,
        tiny_num_layers=model_args.tiny_num_layers,
        seed=training_args.seed,
        attn_implementation=model_args.attn_implementation,
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
    from hf_ser.modeling.architectures import spec_augment_min_samples

    collator = AudioCollator(
        feature_extractor,
        max_length=int(data_args.max_duration * SAMPLING_RATE) if data_args.pad_to_max_length else None,
        min_length=spec_augment_min_samples(model.config),
    )

    # Training loop
    if resume and training_args.process_index == 0:
        print(f"Resuming from {resume}", flush=True)
    feature_seconds = None
    if model_args.peft == "classifier" and model_args.cache_features is not False:
        from hf_ser.training.cached_head import train_head_on_cached_features
        from hf_ser.training.features import FeatureSpec

        spec = FeatureSpec(views=model_args.feature_views, max_duration=data_args.max_duration,
                           augment=tuple(dataclasses.asdict(augment).items()), seed=training_args.seed,
                           all_layers=bool(getattr(model.config, "use_weighted_layer_sum", False)),
                           compute_dtype="bfloat16" if training_args.bf16 else "float32")  # fmt: skip
        t0 = time.perf_counter()
        trainer, train_out, feature_seconds = train_head_on_cached_features(
            model, feature_extractor, train_raw, val_raw, training_args, spec, resume=resume,
            callbacks=[DivergenceGuard(), *callbacks],
        )  # fmt: skip
        train_seconds = time.perf_counter() - t0
        trained = model  # the full model, its head now the best trained one
    else:
        trainer = make_trainer(
            model=model,
            train_lengths=clip_lengths(train_raw, data_args.max_duration),
            max_batch_seconds=data_args.max_batch_seconds,
            eval_raw=val_raw,
            args=training_args,
            train_dataset=train_raw.with_transform(TrainTransform(data_args.max_duration, augment)),
            eval_dataset=val_raw,  # scored by SERTrainer.evaluate through predict_split
            data_collator=collator,
            compute_metrics=compute_metrics,
            processing_class=feature_extractor,
            callbacks=list(callbacks),
        )
        t0 = time.perf_counter()
        train_out = trainer.train(resume_from_checkpoint=resume)
        train_seconds = time.perf_counter() - t0
        trained = None
    if resume:
        logger.info("resumed from %s", resume)
    trainer.accelerator.wait_for_everyone()
    if not trainer.is_world_process_zero():
        trainer.accelerator.wait_for_everyone()
        return {}

    # Export, then score the exported model in fp32: what results.json reports is what eval.py score and
    # pipeline() give for the saved folder (LoRA merged, no autocast), clip for clip.
    out = Path(training_args.output_dir)
    final = export_model(trained if trained is not None else trainer.accelerator.unwrap_model(trainer.model),
                         feature_extractor, out, base=model_args.model_name_or_path)  # fmt: skip
    final.to(training_args.device)
    scored = {}
    for name, raw in (("validation", val_raw), ("test", test_raw)):
        ids = clip_ids(raw)  # once per split: without a file column they hash every clip's audio
        result, logits = score_split(final, feature_extractor, raw, batch_size=training_args.per_device_eval_batch_size,
                                     device=training_args.device, desc=f"Scoring {name}", ids=ids)  # fmt: skip
        write_predictions(out / f"{name}_predictions.csv", raw, logits, ids=ids)
        scored[name] = result
    test_result = scored["test"]
    results = {
        "method": model_args.peft,
        "model": model_args.model_name_or_path,
        "dataset": data_args.dataset,
        "protocol": data_args.protocol,
        "data": {"prepared": str(resolved[0]), "splits": splits, "left_out_by_labels": dropped},
        "seed": training_args.seed,
        "params": params,
        "train_runtime_s": round(train_seconds, 2),
        "feature_extraction_s": round(feature_seconds, 2) if feature_seconds is not None else None,
        "train_steps": int(train_out.global_step),
        "epochs": float(trainer.state.epoch or 0),
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "batching": _batching(trainer, data_args, training_args),
        "resumed_from": resume,
        "peak_memory": peak_memory_mb(),
        "world_size": int(training_args.world_size),
        "scoring": {
            "precision": "float32",
            "batch_size": training_args.per_device_eval_batch_size,
            "device": str(training_args.device),
        },  # fmt: skip
        "labels": labels,
        "label_merges": merged,
        "validation": scored["validation"],
        "test": test_result,
        "command": command,
        "config": {
            "model": dataclasses.asdict(model_args),
            "data": dataclasses.asdict(data_args),
            "training": {
                k: v for k, v in training_args.to_dict().items() if not k.startswith("_") and "token" not in k
            },
        },
        "versions": versions(),
        "output_dir": str(training_args.output_dir),
    }
    write_json(results, out / "results.json")
    plot_confusion_matrix(
        test_result["confusion_matrix_percent"],
        labels,
        out / "confusion_matrix.png",
        title=f"{Path(model_args.model_name_or_path).name} ({model_args.peft}), {data_args.protocol} test",
    )
    from hf_ser.evaluation.model_card import render_model_card

    render_model_card(results, template=training_args.model_card_template).save(str(out / "README.md"))
    if push_repo:
        from hf_ser.hub import upload_folder

        url = upload_folder(out, push_repo, repo_type="model", private=training_args.hub_private_repo is not False,
                            message=f"hf-ser: {model_args.peft} on {data_args.protocol}",
                            ignore_patterns=["checkpoint-*", "checkpoint-*/**", "runs/**"])  # fmt: skip
        logger.info("pushed %s to %s", out, url)
    trainer.accelerator.wait_for_everyone()
    return results


# What the recipes print as one line: the user's input (exit 2), a run that diverged (exit 3).
USER_ERRORS, DIVERGED_ERRORS = _error_kinds()
