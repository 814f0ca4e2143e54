"""Classifier-only training on cached backbone features (``--peft classifier --cache_features``).

The head of an audio classifier (layer weights, projector, classifier) trains with the ordinary Trainer on the
pooled features of :mod:`hf_ser.training.features`: every epoch costs a few matrix products instead of a backbone pass per
clip. At the end the trained head is put back into the full model, which is exported as an ordinary checkpoint.
"""

from __future__ import annotations

import copy
import logging
import time

import numpy as np
import torch
from torch import nn
from transformers import TrainerCallback
from transformers.modeling_outputs import SequenceClassifierOutput

from hf_ser.evaluation.validation import log_validation
from hf_ser.training.features import FeatureSpec, cached_features, model_fingerprint

__all__ = ["CachedFeatureDataset", "CachedHead", "train_head_on_cached_features"]

logger = logging.getLogger(__name__)
HEAD_PARTS = ("projector", "classifier")


class CachedHead(nn.Module):
    """The head of ``model`` (copied), applied to pooled features: (B, H) or (B, L+1, H) with layer weights."""

    def __init__(self, model):
        super().__init__()
        self.weighted = bool(getattr(model.config, "use_weighted_layer_sum", False))
        self.projector = copy.deepcopy(model.projector)
        self.classifier = copy.deepcopy(model.classifier)
        if self.weighted:
            self.layer_weights = nn.Parameter(model.layer_weights.detach().clone())
        self.num_labels = model.config.num_labels

    def forward(self, features, labels=None):
        h = features
        if self.weighted:
            h = (h * nn.functional.softmax(self.layer_weights, dim=-1).view(1, -1, 1)).sum(dim=1)
        logits = self.classifier(self.projector(h))
        loss = nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def copy_into(self, model) -> None:
        """Put the trained head back into the full model."""
        model.projector.load_state_dict(self.projector.state_dict())
        model.classifier.load_state_dict(self.classifier.state_dict())
        if self.weighted:
            with torch.no_grad():
                model.layer_weights.copy_(self.layer_weights)


class CachedFeatureDataset(torch.utils.data.Dataset):
    """Row i of epoch e is view ``rng(seed, e, i)`` of clip i (view 0 only when there is one view)."""

    def __init__(self, features: np.ndarray, labels, seed: int = 0):
        self.features, self.labels, self.seed, self.epoch = features, np.asarray(labels), seed, 0

    def __len__(self) -> int:
        return self.features.shape[1]

    def __getitem__(self, i: int) -> dict:
        views = self.features.shape[0]
        v = 0 if views == 1 else int(np.random.default_rng([self.seed, self.epoch, i]).integers(views))
        return {"features": torch.from_numpy(np.array(self.features[v, i])), "labels": int(self.labels[i])}


class _Epoch(TrainerCallback):
    def __init__(self, dataset):
        self.dataset = dataset

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.dataset.epoch = int((state.epoch or 0) + 1e-6)


def _collate(rows: list[dict]) -> dict:
    return {"features": torch.stack([r["features"] for r in rows]),
            "labels": torch.tensor([r["labels"] for r in rows], dtype=torch.long)}  # fmt: skip


def train_head_on_cached_features(model, feature_extractor, train_raw, val_raw, training_args, spec: FeatureSpec,
                                  *, resume=None, cache_dir=None, callbacks=()):  # fmt: skip
    """Train ``model``'s head on cached features; returns (trainer, train_output, seconds of feature extraction).

    ``model`` (backbone frozen) ends with the best head in place."""
    from transformers import Trainer

    device = training_args.device
    model.to(device)
    t0 = time.perf_counter()
    key = model_fingerprint(model)
    kw = dict(device=device, batch_size=training_args.per_device_eval_batch_size, cache_dir=cache_dir, model_key=key)
    train_feats = cached_features(model, feature_extractor, train_raw, spec, name="train", **kw)
    val_spec = FeatureSpec(**{**spec.__dict__, "views": 1})
    val_feats = cached_features(model, feature_extractor, val_raw, val_spec, name="validation", **kw)[0]
    feature_seconds = time.perf_counter() - t0
    head = CachedHead(model)
    train_ds = CachedFeatureDataset(train_feats, train_raw["label"], seed=training_args.seed)
    val_labels = np.asarray(val_raw["label"])

    class HeadTrainer(Trainer):
        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            start = time.time()
            self.model.eval()
            with torch.no_grad():
                logits = self.model(torch.from_numpy(np.array(val_feats)).to(device)).logits.float().cpu().numpy()
            self.model.train()
            return log_validation(self, logits, val_labels, metric_key_prefix, start)

    args = copy.deepcopy(training_args)
    args.dataloader_num_workers = 0  # features are in memory; workers would only copy them
    args.dataloader_persistent_workers = False
    args.train_sampling_strategy = "random"
    trainer = HeadTrainer(model=head, args=args, train_dataset=train_ds, eval_dataset=train_ds,
                          data_collator=_collate, callbacks=[_Epoch(train_ds), *callbacks])  # fmt: skip
    out = trainer.train(resume_from_checkpoint=resume)
    trainer.model.copy_into(model)
    return trainer, out, feature_seconds
