"""Self-supervised pretraining of a HuBERT backbone, the first HuBERT iteration: k-means clusters of MFCC frames are
the targets, predicted at masked frames by the same ``HubertModel`` the recipes fine-tune.

- ``mfcc_frames``: 13 MFCC + deltas + delta-deltas per 20 ms, framed exactly as the HuBERT conv encoder frames audio
  (400-sample window, 320-sample hop, no padding), so frame t of the targets is frame t of the model.
- ``fit_codebook`` / ``Codebook.assign``: scikit-learn's MiniBatchKMeans on standardised frames (HuBERT: 100 clusters).
- ``MaskedPredictionCollator``: pads a batch, crops long clips on frame boundaries, and masks spans of frames the way
  HuBERT does (``mask_prob`` 0.8 of frames start a span of ``mask_length`` 10, transformers' ``_compute_mask_indices``).
- ``HubertForMaskedPrediction``: the backbone, a projection and one embedding per cluster; the logits are cosine
  similarities / 0.1 and the loss is cross-entropy over the masked frames only (HuBERT's alpha = 1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import HubertConfig, HubertModel
from transformers.modeling_outputs import ModelOutput
from transformers.models.hubert.modeling_hubert import HubertPreTrainedModel, _compute_mask_indices

__all__ = [
    "Codebook",
    "HubertForMaskedPrediction",
    "MaskedPredictionCollator",
    "MaskedPredictionOutput",
    "fit_codebook",
    "frame_count",
    "masked_prediction_scores",
    "mfcc_frames",
]

SAMPLING_RATE = 16_000
WINDOW, HOP = 400, 320  # the conv encoder's receptive field and stride at 16 kHz


def frame_count(num_samples: int, config: HubertConfig) -> int:
    """Frames the conv encoder of ``config`` gives for ``num_samples`` samples (0 when too short)."""
    n = num_samples
    for kernel, stride in zip(config.conv_kernel, config.conv_stride, strict=True):
        n = (n - kernel) // stride + 1
        if n <= 0:
            return 0
    return n


def mfcc_frames(audio: np.ndarray, config: HubertConfig) -> np.ndarray:
    """(frames, 39) float32: MFCC + delta + delta-delta, one row per conv-encoder frame of ``audio`` (16 kHz)."""
    import librosa

    frames = frame_count(len(audio), config)
    if frames < 1:
        return np.zeros((0, 39), dtype=np.float32)
    mfcc = librosa.feature.mfcc(
        y=np.asarray(audio, dtype=np.float32), sr=SAMPLING_RATE, n_mfcc=13, n_fft=WINDOW, hop_length=HOP,
        win_length=WINDOW, center=False, n_mels=40,
    )  # fmt: skip
    width = min(9, mfcc.shape[1] if mfcc.shape[1] % 2 else mfcc.shape[1] - 1)
    if width >= 3:
        feats = np.concatenate(
            [mfcc, librosa.feature.delta(mfcc, width=width, order=1, mode="nearest"),
             librosa.feature.delta(mfcc, width=width, order=2, mode="nearest")]
        )  # fmt: skip
    else:
        feats = np.concatenate([mfcc, np.zeros_like(mfcc), np.zeros_like(mfcc)])
    feats = feats.T
    # The encoder's framing equals the MFCC framing for 16 kHz audio; pad/trim by a frame for any other conv stack.
    if len(feats) < frames:
        feats = np.concatenate([feats, np.repeat(feats[-1:], frames - len(feats), axis=0)])
    return np.ascontiguousarray(feats[:frames], dtype=np.float32)


@dataclass
class Codebook:
    """k-means centres over standardised MFCC frames; ``assign`` gives each frame its cluster (the target)."""

    mean: np.ndarray
    std: np.ndarray
    centres: np.ndarray

    def assign(self, feats: np.ndarray) -> np.ndarray:
        x = (feats - self.mean) / self.std
        dist = (x**2).sum(1, keepdims=True) - 2 * x @ self.centres.T + (self.centres**2).sum(1)
        return dist.argmin(1).astype(np.int16)

    def save(self, path: str | Path) -> None:
        np.savez(path, mean=self.mean, std=self.std, centres=self.centres)

    @classmethod
    def load(cls, path: str | Path) -> Codebook:
        with np.load(path) as z:
            return cls(mean=z["mean"], std=z["std"], centres=z["centres"])

    def fingerprint(self) -> str:
        return hashlib.sha256(b"".join(a.tobytes() for a in (self.mean, self.std, self.centres))).hexdigest()[:12]


def fit_codebook(features: list[np.ndarray], num_clusters: int = 100, *, max_frames: int = 250_000,
                 seed: int = 0) -> Codebook:  # fmt: skip
    """MiniBatchKMeans (scikit-learn) on at most ``max_frames`` frames drawn at random from ``features``."""
    from sklearn.cluster import MiniBatchKMeans

    stacked = np.concatenate(features)
    if len(stacked) < num_clusters:
        raise ValueError(f"{len(stacked)} MFCC frames cannot make {num_clusters} clusters: give more audio")
    rng = np.random.default_rng(seed)
    if len(stacked) > max_frames:
        stacked = stacked[np.sort(rng.choice(len(stacked), max_frames, replace=False))]
    mean, std = stacked.mean(0), stacked.std(0) + 1e-5
    km = MiniBatchKMeans(n_clusters=num_clusters, batch_size=10_000, n_init=3, max_no_improvement=50,
                         random_state=seed).fit((stacked - mean) / std)  # fmt: skip
    return Codebook(mean.astype(np.float32), std.astype(np.float32), km.cluster_centers_.astype(np.float32))


@dataclass
class MaskedPredictionOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None  # (masked frames, clusters)
    targets: torch.Tensor | None = None  # (masked frames,)


class HubertForMaskedPrediction(HubertPreTrainedModel):
    """HuBERT's pretraining head on ``HubertModel``: ``backbone()`` is what the fine-tuning recipes load."""

    def __init__(self, config: HubertConfig, num_clusters: int = 100, proj_dim: int = 64):
        super().__init__(config)
        if config.mask_time_prob <= 0:
            raise ValueError("the backbone config needs mask_time_prob > 0 (it owns the learned mask embedding)")
        self.hubert = HubertModel(config)
        self.final_proj = nn.Linear(config.hidden_size, proj_dim)
        self.label_embeddings = nn.Parameter(torch.randn(num_clusters, proj_dim) * 0.1)
        self.num_clusters = num_clusters
        self.post_init()

    def backbone(self) -> HubertModel:
        return self.hubert

    def forward(self, input_values, attention_mask=None, mask_time_indices=None, labels=None, **kwargs):
        hidden = self.hubert(input_values, attention_mask=attention_mask, mask_time_indices=mask_time_indices)[0]
        if mask_time_indices is None:
            return MaskedPredictionOutput(logits=hidden)
        proj = nn.functional.normalize(self.final_proj(hidden[mask_time_indices]), dim=-1)
        logits = proj @ nn.functional.normalize(self.label_embeddings, dim=-1).T / 0.1
        loss = targets = None
        if labels is not None:
            targets = labels[mask_time_indices].long()
            loss = nn.functional.cross_entropy(logits, targets)
        return MaskedPredictionOutput(loss=loss, logits=logits, targets=targets)


class MaskedPredictionCollator:
    """Batch {"audio": float32 16 kHz, "targets": int16 per frame} clips for ``HubertForMaskedPrediction``.

    Clips longer than ``max_frames`` frames are cropped at a random frame boundary (audio and targets together);
    the batch is normalised and padded by the feature extractor; mask spans follow HuBERT. Examples carrying a
    ``mask_seed`` get the same crops and masks every call (for a validation loss comparable between steps).
    """

    def __init__(self, feature_extractor, config: HubertConfig, *, max_frames: int = 149, mask_prob: float = 0.8,
                 mask_length: int = 10):  # fmt: skip
        self.fe, self.config = feature_extractor, config
        self.max_frames, self.mask_prob, self.mask_length = max_frames, mask_prob, mask_length

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        saved, seed = None, examples[0].get("mask_seed")  # a validation set asks for fixed crops and masks
        if seed is not None:
            saved = np.random.get_state()
            np.random.seed(seed)
        try:
            return self._collate(examples)
        finally:
            if saved is not None:
                np.random.set_state(saved)

    def _collate(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        audios, targets = [], []
        for ex in examples:
            audio, tgt = np.asarray(ex["audio"], dtype=np.float32), np.asarray(ex["targets"])
            if len(tgt) > self.max_frames:
                start = int(np.random.randint(0, len(tgt) - self.max_frames + 1))
                tgt = tgt[start : start + self.max_frames]
                audio = audio[start * HOP : start * HOP + (self.max_frames - 1) * HOP + WINDOW]
            audios.append(audio)
            targets.append(tgt)
        batch = self.fe(audios, sampling_rate=SAMPLING_RATE, padding=True, return_attention_mask=True,
                        return_tensors="pt")  # fmt: skip
        frames = frame_count(batch["input_values"].shape[1], self.config)
        labels = torch.full((len(examples), frames), -100, dtype=torch.long)
        frame_mask = torch.zeros((len(examples), frames), dtype=torch.long)
        for i, tgt in enumerate(targets):
            n = min(len(tgt), frames)
            labels[i, :n] = torch.from_numpy(tgt[:n].astype(np.int64))
            frame_mask[i, :n] = 1
        mask = _compute_mask_indices((len(examples), frames), mask_prob=self.mask_prob, mask_length=self.mask_length,
                                     attention_mask=frame_mask, min_masks=2)  # fmt: skip
        mask = torch.from_numpy(mask) & frame_mask.bool()
        return {"input_values": batch["input_values"], "attention_mask": batch["attention_mask"],
                "mask_time_indices": mask, "labels": labels}  # fmt: skip


@torch.no_grad()
def masked_prediction_scores(model: HubertForMaskedPrediction, dataset, collator: MaskedPredictionCollator,
                             batch_size: int = 16) -> dict[str, float]:  # fmt: skip
    """Mean cross-entropy and accuracy of the cluster predicted at masked frames, over ``dataset``."""
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for start in range(0, len(dataset), batch_size):
        batch = collator([dataset[i] for i in range(start, min(start + batch_size, len(dataset)))])
        out = model(**batch)
        total_loss += float(out.loss) * len(out.targets)
        correct += int((out.logits.argmax(-1) == out.targets).sum())
        count += len(out.targets)
    model.train(was_training)
    return {"loss": total_loss / max(count, 1), "accuracy": correct / max(count, 1), "masked_frames": count}
