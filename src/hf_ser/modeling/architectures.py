"""What differs between the audio-classifier architectures hf-ser trains and serves, in one place.

The wav2vec2 family (HuBERT, wav2vec2, WavLM) takes raw samples (``input_values``) of any length, padded per batch;
Whisper's encoder classifier takes log-mel ``input_features`` that its feature extractor always pads (and cuts) to a
fixed 30 s window. Their backbones sit under different attributes, they freeze through different methods, their
feed-forward linears have different names, their heads pool differently, and not every class has an SDPA kernel.
Everything else in hf-ser asks this module instead of assuming wav2vec2-style inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from torch import nn

__all__ = [
    "ATTN_IMPLEMENTATIONS",
    "ArchitectureError",
    "audio_classifier_class",
    "backbone",
    "feature_inputs",
    "fixed_input_samples",
    "freeze_backbone",
    "freeze_feature_encoder",
    "lora_target_modules",
    "max_input_seconds",
    "pools_over_attention_mask",
    "resolve_attn_implementation",
    "spec_augment_min_samples",
]

logger = logging.getLogger(__name__)

ATTN_IMPLEMENTATIONS = ("auto", "sdpa", "eager")
_ATTENTION = ("q_proj", "k_proj", "v_proj")
# every other linear of an encoder layer: attention output, feed-forward (wav2vec2 family / Whisper names)
_OUT_AND_FEED_FORWARD = ("out_proj", "intermediate_dense", "output_dense", "fc1", "fc2")


class ArchitectureError(ValueError):
    """An option the model's architecture cannot honour; the message names the flag and the class."""


def audio_classifier_class(config):
    """The ``AutoModelForAudioClassification`` class for ``config`` (a headless backbone's config gives the head
    class it would be fine-tuned as); None for a model type with no audio-classification head."""
    from transformers import AutoModelForAudioClassification

    try:
        return AutoModelForAudioClassification._model_mapping[type(config)]
    except (KeyError, ValueError):
        return None


def resolve_attn_implementation(model_class, requested: str | None, flag: str = "--attn_implementation") -> str | None:
    """``auto`` (or None): SDPA where the class has it, eager otherwise; ``sdpa``/``eager`` as asked, refused in one
    line where the class cannot (WavLM has no SDPA kernel in transformers 5)."""
    if requested not in (None, *ATTN_IMPLEMENTATIONS):
        raise ArchitectureError(f"{flag} {requested}: one of {', '.join(ATTN_IMPLEMENTATIONS)}")
    if model_class is None:
        return None if requested in (None, "auto") else requested
    has_sdpa = bool(getattr(model_class, "_supports_sdpa", False))
    if requested in (None, "auto"):
        return "sdpa" if has_sdpa else "eager"
    if requested == "sdpa" and not has_sdpa:
        raise ArchitectureError(
            f"{flag} sdpa: {model_class.__name__} has no SDPA attention in this transformers; pass {flag} eager "
            "(or auto, the default, which picks SDPA only where it exists)"
        )
    return requested


def fixed_input_samples(feature_extractor) -> int | None:
    """Samples every clip is padded or cut to by the feature extractor itself (Whisper: 30 s = 480,000), or None
    for extractors that take any length and pad per batch (wav2vec2 family)."""
    n = getattr(feature_extractor, "n_samples", None)
    return int(n) if n and hasattr(feature_extractor, "nb_max_frames") else None


def max_input_seconds(feature_extractor) -> float | None:
    """The longest clip the model sees whole (Whisper: 30 s; later samples would be cut), or None for no limit."""
    n = fixed_input_samples(feature_extractor)
    return n / feature_extractor.sampling_rate if n else None


def feature_inputs(feature_extractor, clips: Sequence[np.ndarray], *, max_length: int | None = None):
    """The feature extractor's tensors for ``clips`` (float32 mono at its rate), padded by its own rules.

    One clip goes in exactly as ``pipeline()`` sends it (no padding argument). Several clips are padded to the
    longest (or to ``max_length`` samples, cut beyond it) for the wav2vec2 family; a fixed-window extractor
    (Whisper) always pads each clip to its window, so it is never given a padding argument at all."""
    rate = feature_extractor.sampling_rate
    batch = list(clips) if len(clips) > 1 else clips[0]
    if fixed_input_samples(feature_extractor):
        return feature_extractor(batch, sampling_rate=rate, return_tensors="pt")
    kwargs = {"padding": "longest"} if len(clips) > 1 else {}
    if max_length is not None:
        kwargs = {"padding": "max_length", "max_length": max_length, "truncation": True}
    return feature_extractor(batch, sampling_rate=rate, return_tensors="pt", **kwargs)


def backbone(model: nn.Module) -> nn.Module:
    """The pretrained encoder under the head: ``model.hubert`` / ``.wav2vec2`` / ``.wavlm``, Whisper's ``.encoder``."""
    base = getattr(model, getattr(model, "base_model_prefix", ""), None)
    if isinstance(base, nn.Module):
        return base
    encoder = getattr(model, "encoder", None)
    if isinstance(encoder, nn.Module):
        return encoder
    raise ArchitectureError(
        f"{type(model).__name__}: no backbone found under {model.base_model_prefix!r} or 'encoder'"
    )


def pools_over_attention_mask(model: nn.Module) -> bool:
    """True when the head averages over the real frames given by the attention mask (wav2vec2 family); Whisper's
    head averages over every frame of its window, mask or not."""
    return hasattr(model, "_get_feature_vector_attention_mask")


def freeze_feature_encoder(model: nn.Module, flag: str = "--freeze_feature_encoder") -> str:
    """Freeze the convolutional front end (no gradients into it, and no autograd graph through it); returns what was
    frozen. wav2vec2 family: the model's own ``freeze_feature_encoder``; Whisper: its conv stem (conv1, conv2)."""
    if hasattr(model, "freeze_feature_encoder"):
        model.freeze_feature_encoder()
        return "the convolutional feature encoder"
    encoder = getattr(model, "encoder", None)
    stem = [getattr(encoder, n) for n in ("conv1", "conv2") if isinstance(getattr(encoder, n, None), nn.Module)]
    if not stem:
        raise ArchitectureError(f"{flag}: {type(model).__name__} has no convolutional front end to freeze")
    for module in stem:
        module.requires_grad_(False)
    return "the convolutional stem (conv1, conv2)"


def freeze_backbone(model: nn.Module) -> None:
    """Freeze everything below the head, through the method the class has (Whisper: ``freeze_encoder``).

    wav2vec2 family: ``freeze_base_model()`` alone leaves the conv encoder marking its input as requiring grad in
    train mode, so autograd would still record (and back-propagate through) the whole frozen backbone; freezing the
    feature encoder too stops that."""
    if hasattr(model, "freeze_encoder"):
        model.freeze_encoder()
        return
    backbone(model).requires_grad_(False)
    if hasattr(model, "freeze_feature_encoder"):
        model.freeze_feature_encoder()


def lora_target_modules(model: nn.Module, method: str) -> list[str]:
    """Module names LoRA adapts: ``qkv`` the attention projections, ``all-linear`` every linear of an encoder layer
    (attention output and feed-forward, under this architecture's names)."""
    names = {n.rsplit(".", 1)[-1] for n, m in backbone(model).named_modules() if isinstance(m, nn.Linear)}
    wanted = _ATTENTION if method == "qkv" else _ATTENTION + _OUT_AND_FEED_FORWARD
    found = [n for n in wanted if n in names]
    if not set(_ATTENTION) <= set(found):
        raise ArchitectureError(
            f"--peft {method}: {type(model).__name__} has no {'/'.join(_ATTENTION)} projections to adapt"
        )
    return found


def spec_augment_min_samples(config) -> int:
    """The shortest padded batch (samples) a train-mode forward accepts: with SpecAugment on (``mask_time_prob`` > 0,
    as every HuBERT/wav2vec2/WavLM checkpoint ships), transformers refuses a batch of fewer frames than
    ``mask_time_length`` (10 frames, about 0.22 s at 16 kHz), so a length-grouped batch of short clips would stop a
    run. 0 when no minimum applies (SpecAugment off, or Whisper's fixed window)."""
    if not getattr(config, "apply_spec_augment", False) or not getattr(config, "mask_time_prob", 0.0) > 0:
        return 0
    kernels, strides = getattr(config, "conv_kernel", None), getattr(config, "conv_stride", None)
    if not kernels or not strides:
        return 0
    receptive, hop = 1, 1  # of one output frame of the conv encoder, and the samples between frames
    for k, s in zip(kernels, strides, strict=True):
        receptive += (k - 1) * hop
        hop *= s
    return receptive + int(config.mask_time_length) * hop  # mask_time_length + 1 frames
