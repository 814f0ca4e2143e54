"""The pretraining recipe's run: unlabelled audio -> MFCC k-means targets -> masked prediction with the Trainer ->
an ordinary ``from_pretrained`` backbone folder (config, weights, feature extractor, card, pretraining.json)."""

from __future__ import annotations

import csv
import hashlib
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import Trainer, TrainingArguments, set_seed

from hf_ser.audio import AudioCheckError, decode_file
from hf_ser.inference.audio_stream import AUDIO_SUFFIXES
from hf_ser.outputs import overlaps
from hf_ser.training.configs import ConfigError
from hf_ser.training.pretraining.masked_prediction import (
    WINDOW,
    Codebook,
    HubertForMaskedPrediction,
    MaskedPredictionCollator,
    fit_codebook,
    frame_count,
    masked_prediction_scores,
    mfcc_frames,
)

__all__ = ["PretrainArguments", "PretrainTrainingArguments", "pretrain", "validate_pretrain_args"]

logger = logging.getLogger(__name__)
VALIDATION_MASK_SEED = 1234


@dataclass
class PretrainArguments:
    audio_dir: str | None = field(
        default=None, metadata={"help": "Folder of unlabelled speech: every audio file under it (any format/rate)."}
    )
    num_clusters: int = field(default=100, metadata={"help": "k-means clusters of MFCC frames (HuBERT: 100)."})
    kmeans_max_frames: int = field(default=250_000, metadata={"help": "Frames sampled to fit k-means."})
    mask_prob: float = field(default=0.8, metadata={"help": "Share of frames that start a masked span (HuBERT: 0.8)."})
    mask_length: int = field(default=10, metadata={"help": "Frames per masked span (HuBERT: 10)."})
    max_duration: float = field(default=3.0, metadata={"help": "Longer clips are cropped to this (seconds)."})
    validation_fraction: float = field(default=0.05, metadata={"help": "Clips held out to score masked prediction."})
    tiny_hidden_size: int = field(default=96, metadata={"help": "Backbone hidden size (the demo's tiny HuBERT)."})
    tiny_num_layers: int = field(default=3, metadata={"help": "Backbone transformer layers."})
    proj_dim: int = field(default=64, metadata={"help": "Projection size of the prediction head."})


@dataclass
class PretrainTrainingArguments(TrainingArguments):
    output_dir: str | None = field(default=None, metadata={"help": "Where the backbone folder goes."})
    overwrite_output_dir: bool = field(default=False, metadata={"help": "Replace a backbone already there."})
    eval_strategy: str = field(default="epoch", metadata={"help": "When to score validation masked prediction."})
    save_strategy: str = field(default="epoch", metadata={"help": "When to save a checkpoint (to resume)."})
    save_total_limit: int | None = field(default=1, metadata={"help": "Checkpoints kept."})
    prediction_loss_only: bool = field(default=True, metadata={"help": "Validation reports the loss only."})
    remove_unused_columns: bool = field(default=False, metadata={"help": "Kept False: the collator needs them."})
    logging_steps: float = field(default=20, metadata={"help": "Log every N steps."})
    report_to: None | str | list[str] = field(default="none", metadata={"help": "Loggers (none by default)."})
    dataloader_pin_memory: bool | None = field(
        default=None, metadata={"help": "Pin host memory for GPU transfers (default: only when CUDA is available)."}
    )

    def __post_init__(self):
        if self.output_dir is None:
            raise ConfigError("--output_dir is required (in the YAML or as a flag)")
        if self.dataloader_pin_memory is None:
            self.dataloader_pin_memory = torch.cuda.is_available()
        super().__post_init__()


def validate_pretrain_args(args: PretrainArguments, targs: PretrainTrainingArguments) -> None:
    errors = []
    if not args.audio_dir:
        errors.append("--audio_dir is required: a folder of unlabelled speech")
    elif not Path(args.audio_dir).is_dir():
        errors.append(f"--audio_dir {args.audio_dir}: no such folder")
    elif targs.output_dir and overlaps(Path(targs.output_dir), Path(args.audio_dir)):
        errors.append(f"--output_dir {targs.output_dir} overlaps --audio_dir {args.audio_dir}: the backbone, its card "
                      "and checkpoints would land among the audio (or the audio inside a run folder); use separate "
                      "folders")  # fmt: skip
    if args.num_clusters < 2:
        errors.append(f"--num_clusters {args.num_clusters}: must be >= 2")
    if not 0 < args.mask_prob <= 1:
        errors.append(f"--mask_prob {args.mask_prob}: must be in (0, 1]")
    if args.mask_length < 1:
        errors.append(f"--mask_length {args.mask_length}: must be >= 1")
    if args.max_duration < 0.5:
        errors.append(f"--max_duration {args.max_duration}: must be at least 0.5 s (a few masked spans)")
    if not 0 < args.validation_fraction < 0.5:
        errors.append(f"--validation_fraction {args.validation_fraction}: must be in (0, 0.5)")
    if targs.num_train_epochs <= 0 and targs.max_steps <= 0:
        errors.append(f"--num_train_epochs {targs.num_train_epochs} trains nothing (or give --max_steps N)")
    if errors:
        raise ConfigError("; ".join(errors))


class _Clips(torch.utils.data.Dataset):
    def __init__(self, audios, targets, mask_seed: int | None = None):
        self.audios, self.targets, self.mask_seed = audios, targets, mask_seed

    def __len__(self):
        return len(self.audios)

    def __getitem__(self, i):
        return {"audio": self.audios[i], "targets": self.targets[i], "mask_seed": self.mask_seed}


def _read_corpus(audio_dir: Path) -> tuple[list[Path], list[np.ndarray], list[tuple[str, str]]]:
    files = sorted(p for p in audio_dir.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise ConfigError(f"--audio_dir {audio_dir}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    kept, audios, skipped = [], [], []
    for path in tqdm(files, desc="Reading audio", unit="file"):
        try:
            clip = decode_file(str(path))
        except AudioCheckError as err:
            skipped.append((str(path), str(err)))
            continue
        if len(clip.array) < WINDOW:
            skipped.append((str(path), f"too short for one frame ({len(clip.array)} samples)"))
            continue
        kept.append(path)
        audios.append(clip.array)
    if len(audios) < 2:
        raise ConfigError(f"--audio_dir {audio_dir}: {len(audios)} of its {len(files)} audio files usable; pretraining "
                          "needs at least 2 (one is held out to measure masked prediction)")  # fmt: skip
    return kept, audios, skipped


def _fingerprint(files: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for p in files:
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def _voices(root: Path) -> int | None:
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        return None
    with open(manifest, newline="") as fh:
        return len({row["voice"] for row in csv.DictReader(fh)})


def pretrain(args: PretrainArguments, targs: PretrainTrainingArguments, *, command: str = "") -> dict:
    """Run the recipe; returns pretraining.json's content."""
    from hf_ser.evaluation.reporting import versions, write_json
    from hf_ser.modeling.loading import _tiny_feature_extractor, tiny_hubert_config
    from hf_ser.training.rundir import prepare_run_dir

    validate_pretrain_args(args, targs)
    resume = prepare_run_dir(targs.output_dir, targs.resume_from_checkpoint, overwrite=targs.overwrite_output_dir)
    out, root = Path(targs.output_dir), Path(args.audio_dir)
    set_seed(targs.seed)

    # Unlabelled audio and its first-iteration HuBERT targets (k-means of MFCC frames)
    files, audios, skipped = _read_corpus(root)
    if skipped:
        logger.warning("skipped %d of %d files (listed in pretraining.json), e.g. %s: %s",
                       len(skipped), len(files) + len(skipped), *skipped[0])  # fmt: skip
    config = tiny_hubert_config(hidden_size=args.tiny_hidden_size, num_layers=args.tiny_num_layers)
    feats = [mfcc_frames(a, config) for a in tqdm(audios, desc="MFCC", unit="clip")]
    frames = sum(len(f) for f in feats)
    if frames < args.num_clusters:
        raise ConfigError(f"--audio_dir {root}: {frames} frames in all ({sum(len(a) for a in audios) / 16_000:.1f} s), "
                          f"fewer than --num_clusters {args.num_clusters}; give more audio or fewer clusters")  # fmt: skip
    codebook_path = out / "codebook.npz"
    if resume and codebook_path.is_file():
        codebook = Codebook.load(codebook_path)  # the targets the checkpoint was trained on
    else:
        # every process fits the same codebook (same frames, same seed); the main one writes it
        codebook = fit_codebook(feats, args.num_clusters, max_frames=args.kmeans_max_frames, seed=targs.seed)
        if targs.process_index == 0:
            out.mkdir(parents=True, exist_ok=True)
            codebook.save(codebook_path)
    targets = [codebook.assign(f) for f in feats]
    usage = np.bincount(np.concatenate(targets).astype(np.int64), minlength=args.num_clusters)

    # Speaker-agnostic random split (the audio is unlabelled: nothing to stratify by)
    order = np.random.default_rng(targs.seed).permutation(len(audios))
    n_val = max(1, int(round(args.validation_fraction * len(audios))))
    val_idx, train_idx = sorted(order[:n_val]), sorted(order[n_val:])
    train_set = _Clips([audios[i] for i in train_idx], [targets[i] for i in train_idx])
    val_set = _Clips([audios[i] for i in val_idx], [targets[i] for i in val_idx], mask_seed=VALIDATION_MASK_SEED)

    feature_extractor = _tiny_feature_extractor()
    max_frames = frame_count(int(args.max_duration * 16_000), config)
    collator = MaskedPredictionCollator(feature_extractor, config, max_frames=max_frames, mask_prob=args.mask_prob,
                                        mask_length=args.mask_length)  # fmt: skip
    model = HubertForMaskedPrediction(config, num_clusters=args.num_clusters, proj_dim=args.proj_dim)
    before = masked_prediction_scores(model, val_set, collator, batch_size=targs.per_device_eval_batch_size)
    logger.info("masked prediction before pretraining: loss %.3f, accuracy %.3f", before["loss"], before["accuracy"])

    trainer = Trainer(model=model, args=targs, train_dataset=train_set, eval_dataset=val_set, data_collator=collator)
    if resume:
        print(f"Resuming from {resume}", flush=True)
    t0 = time.perf_counter()
    train_out = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - t0
    if not trainer.is_world_process_zero():
        return {}
    model = trainer.accelerator.unwrap_model(trainer.model).to("cpu")
    after = masked_prediction_scores(model, val_set, collator, batch_size=targs.per_device_eval_batch_size)
    logger.info("masked prediction after pretraining: loss %.3f, accuracy %.3f", after["loss"], after["accuracy"])

    # The backbone as an ordinary from_pretrained folder (the recipes add a classification head to it)
    backbone = model.backbone()
    backbone.config.architectures = ["HubertModel"]
    backbone.save_pretrained(str(out))
    feature_extractor.save_pretrained(str(out))
    weights = out / "model.safetensors"
    seconds_audio = sum(len(a) for a in audios) / 16_000
    report = {
        "objective": "HuBERT iteration 1: masked prediction of k-means clusters of MFCC frames",
        "audio_dir": str(root),
        "corpus": {
            "clips": len(audios),
            "hours": round(seconds_audio / 3600, 3),
            "voices": _voices(root),
            "train_clips": len(train_idx),
            "validation_clips": len(val_idx),
            "fingerprint": _fingerprint(files, root),
            "skipped": [{"file": f, "reason": r} for f, r in skipped],
        },  # fmt: skip
        "codebook": {
            "clusters": args.num_clusters,
            "fingerprint": codebook.fingerprint(),
            "clusters_used": int((usage > 0).sum()),
            "largest_cluster_share": round(float(usage.max() / usage.sum()), 4),
        },  # fmt: skip
        "validation_masked_prediction": {
            "before": before,
            "after": after,
            "chance_loss": float(np.log(args.num_clusters)),
        },
        "train_steps": int(train_out.global_step),
        "epochs": float(trainer.state.epoch or 0),
        "train_runtime_s": round(seconds, 1),
        "resumed_from": resume,
        "torch_threads": torch.get_num_threads(),
        "params": int(sum(p.numel() for p in backbone.parameters())),
        "weights": {
            "file": weights.name,
            "bytes": weights.stat().st_size,
            "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        },  # fmt: skip
        "args": asdict(args),
        "training": {k: v for k, v in targs.to_dict().items() if not k.startswith("_") and "token" not in k},
        "command": command,
        "versions": versions(),
    }
    write_json(report, out / "pretraining.json")
    (out / "README.md").write_text(_card(report, out))
    return report


def _card(r: dict, out: Path) -> str:
    v = r["validation_masked_prediction"]
    c = r["corpus"]
    voices = f", {c['voices']} voices" if c.get("voices") else ""
    return f"""---
library_name: transformers
tags: [hubert, self-supervised, speech, hf-ser]
---

# {out.name}: a HuBERT backbone pretrained the HuBERT way

A `HubertModel` ({r["params"]:,} parameters) pretrained self-supervised by masked prediction of k-means clusters of
MFCC frames (HuBERT's first iteration) on {c["clips"]} unlabelled clips of `{r["audio_dir"]}` ({c["hours"]:.2f} h{voices}).
No labels of any kind were used. hf-ser's demo backbone (`models/tiny-hubert-ssl`) is pretrained this way on
espeak-ng speech of voices the demo corpora never use: a backbone for the offline demo, **not** a speech model for
real recordings.

| | masked-frame loss | masked-frame accuracy |
|---|---|---|
| before pretraining | {v["before"]["loss"]:.3f} | {v["before"]["accuracy"]:.3f} |
| after {r["train_steps"]} steps ({r["epochs"]:.0f} epochs, {r["train_runtime_s"] / 60:.1f} min) | {v["after"]["loss"]:.3f} | {v["after"]["accuracy"]:.3f} |

Chance loss: {v["chance_loss"]:.3f} ({r["codebook"]["clusters"]} clusters); validation: {c["validation_clips"]} held-out clips,
fixed masks.

Fine-tune it like any checkpoint:

    accelerate launch recipes/train.py --model_name_or_path {out} --peft qkv --dataset DIR ...

Reproduce it: `{r["command"]}` (weights sha256 `{r["weights"]["sha256"][:16]}...`, {r["torch_threads"]} torch threads;
details in `pretraining.json`).
"""
