"""Frozen-backbone features for classifier-only training: one backbone pass per clip, cached on disk.

A transformers audio classifier (HuBERT, wav2vec2, WavLM ``ForSequenceClassification``; Whisper's
``ForAudioClassification``) computes ``classifier(mean_t(projector(h_t)))`` with ``h`` the last hidden state (or a
softmax-weighted sum of every layer's when ``use_weighted_layer_sum``). The projector is linear, so that equals ``classifier(projector(mean_t(h_t)))``: the
time-pooled hidden states are all the head ever needs, and with the backbone frozen they never change. They are
computed once (eval mode, no dropout or SpecAugment, bf16 on a GPU), pooled over the clip's real frames, and stored
under a key made of the backbone's weights, the split's content and the view spec, so a changed model or dataset is
never served stale features.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from hf_ser.audio import SAMPLING_RATE, AugmentConfig, build_augmentation, random_crop
from hf_ser.data.transforms import clip_lengths, clip_samples
from hf_ser.inference.forward import length_sorted_batches, model_inputs, padding_sensitive
from hf_ser.modeling.architectures import backbone, pools_over_attention_mask

__all__ = ["FeatureSpec", "cached_features", "default_cache_dir", "model_fingerprint", "pooled_hidden_states"]

logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$HF_SER_CACHE`` or ``~/.cache/hf_ser``; features go to its ``features/`` folder."""
    from hf_ser.outputs import cache_root

    return cache_root() / "features"


@dataclass(frozen=True)
class FeatureSpec:
    """What a cached view is. View 0 is the whole clip, unaugmented (what evaluation sees); views 1..K-1 are random
    crops to ``max_duration`` with the run's augmentation, drawn once with ``seed``."""

    views: int = 1
    max_duration: float = 6.0
    augment: tuple = ()  # AugmentConfig fields as (name, value) pairs
    seed: int = 42
    all_layers: bool = False
    compute_dtype: str = "float32"


def model_fingerprint(model) -> str:
    """SHA-256 of the backbone's config and every weight and buffer (name, shape, dtype, bytes)."""
    base = backbone(model)
    h = hashlib.sha256(json.dumps(model.config.to_diff_dict(), sort_keys=True, default=str).encode())
    for name, t in sorted(base.state_dict().items()):
        t = t.detach().contiguous().cpu()
        h.update(f"{name}|{tuple(t.shape)}|{t.dtype}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


@torch.inference_mode()
def pooled_hidden_states(
    model, feature_extractor, arrays, *, all_layers: bool, device, autocast_dtype=None
) -> np.ndarray:
    """(N, H) time-pooled last hidden states, or (N, L+1, H) for every layer, exactly as the model's head pools them
    (over the real frames of each clip; Whisper over every frame of its window); padding-sensitive models see no
    padding."""
    base = backbone(model)
    main = model.main_input_name
    masked_pooling = pools_over_attention_mask(model)
    equal_length = padding_sensitive(model.config, feature_extractor)
    out = None
    model.eval()
    for idx, inputs in model_inputs(feature_extractor, arrays, equal_length=equal_length):
        inputs = {k: v.to(device) for k, v in inputs.items()}
        ctx = torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype is not None else nullcontext()
        with ctx:
            outputs = base(inputs[main], attention_mask=inputs.get("attention_mask"), output_hidden_states=all_layers)
        hidden = torch.stack(outputs.hidden_states, dim=1) if all_layers else outputs.last_hidden_state.unsqueeze(1)
        hidden = hidden.float()  # (B, L, T, H)
        mask = inputs.get("attention_mask") if masked_pooling else None
        if mask is None:
            pooled = hidden.mean(dim=2)
        else:
            frames = model._get_feature_vector_attention_mask(hidden.shape[2], mask).to(hidden.dtype)  # (B, T)
            pooled = (hidden * frames[:, None, :, None]).sum(dim=2) / frames.sum(dim=1).view(-1, 1, 1)
        pooled = pooled.cpu().numpy()
        if out is None:
            out = np.zeros((len(arrays), *pooled.shape[1:]), dtype=np.float32)
        out[idx] = pooled
    return out if all_layers else out[:, 0]


def _view_arrays(raw_split, idx: list[int], view: int, spec: FeatureSpec, augment) -> list[np.ndarray]:
    rows = raw_split.select(idx)
    arrays = [clip_samples(r["audio"]) for r in rows]
    if view == 0:
        return arrays
    out = []
    for i, a in zip(idx, arrays, strict=True):
        rng = np.random.default_rng([spec.seed, view, i])
        x = random_crop(a, int(spec.max_duration * SAMPLING_RATE), rng)
        if augment is not None:
            np.random.seed(int(rng.integers(0, 2**31 - 1)))  # audiomentations draws from numpy's global RNG
            x = augment(samples=x, sample_rate=SAMPLING_RATE)
        out.append(x.astype(np.float32, copy=False))
    return out


def cached_features(
    model,
    feature_extractor,
    raw_split,
    spec: FeatureSpec,
    *,
    device,
    batch_size: int = 16,
    cache_dir: str | Path | None = None,
    name: str = "split",
    model_key: str | None = None,
) -> np.ndarray:
    """(views, N, H) or (views, N, L+1, H) float32 features of ``raw_split``, computed on the first call and read
    from the cache after. The key covers the backbone weights, the split's content fingerprint and the spec."""
    model_key = model_key or model_fingerprint(model)
    key = hashlib.sha256(
        json.dumps(
            {"model": model_key, "data": raw_split._fingerprint, "rows": len(raw_split), "spec": asdict(spec)},
            sort_keys=True,
            default=str,
        ).encode()  # fmt: skip
    ).hexdigest()[:24]
    folder = Path(cache_dir) if cache_dir else default_cache_dir()
    path = folder / f"{name}-{key}.npy"
    if path.is_file():
        logger.info("features of %s from the cache: %s", name, path)
        return np.load(path, mmap_mode="r")
    autocast_dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(spec.compute_dtype)
    augment = build_augmentation(AugmentConfig(**dict(spec.augment))) if spec.views > 1 else None
    lengths = clip_lengths(raw_split) or [0] * len(raw_split)
    batches = length_sorted_batches(lengths, batch_size=batch_size, equal_length=False)
    out = None
    bar = tqdm(total=spec.views * len(raw_split), desc=f"Backbone features ({name})", unit="clip")
    for view in range(spec.views):
        for idx in batches:
            arrays = _view_arrays(raw_split, idx, view, spec, augment)
            feats = pooled_hidden_states(model, feature_extractor, arrays, all_layers=spec.all_layers, device=device,
                                         autocast_dtype=autocast_dtype)  # fmt: skip
            if out is None:
                out = np.zeros((spec.views, len(raw_split), *feats.shape[1:]), dtype=np.float32)
            out[view, idx] = feats
            bar.update(len(idx))
    bar.close()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".partial-{os.getpid()}.npy")
    np.save(tmp, out)
    os.replace(tmp, path)  # readers never see a half-written file
    logger.info("features of %s cached in %s (%.1f MiB)", name, path, out.nbytes / 2**20)
    return out
