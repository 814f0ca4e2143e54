"""Batched forward passes of an audio classifier whose result for a clip never depends on its batch.

Every place hf-ser turns audio into emotion scores goes through :func:`forward_arrays`: validation during training,
the final test scoring in ``results.json``, ``recipes/eval.py score``, ``hf-ser predict`` and the web demo. So a
clip gets the same probabilities wherever it is scored, and as ``pipeline("audio-classification")`` gives it alone.

Why batching can change a clip's score: a feature encoder with group norm (``feat_extract_norm="group"``: hubert-base,
wav2vec2-base, the demo's tiny HuBERT) normalises each conv channel over the whole padded time axis, and a model whose
feature extractor returns no attention mask attends to the padding. For such *padding-sensitive* models hf-ser only
batches clips of exactly the same length (no padding at all); other models (layer-norm encoders with an attention
mask, such as hubert-large) are batched with padding, which changes nothing but float rounding. Whisper's feature
extractor pads every clip to its own 30 s window whatever the batch, so its clips batch freely.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from contextlib import nullcontext

import numpy as np
import torch

from hf_ser.modeling.architectures import feature_inputs, fixed_input_samples

__all__ = [
    "forward_arrays",
    "length_sorted_batches",
    "model_inputs",
    "padding_sensitive",
]

logger = logging.getLogger(__name__)


def padding_sensitive(config, feature_extractor) -> bool:
    """True when padding a clip in a batch would change its logits (group-norm encoder, or no attention mask); never
    for a fixed-window extractor (Whisper), which pads each clip the same way alone or in a batch."""
    if fixed_input_samples(feature_extractor):
        return False
    group_norm = getattr(config, "feat_extract_norm", "layer") == "group"
    no_mask = not getattr(feature_extractor, "return_attention_mask", False)
    return group_norm or no_mask


def length_sorted_batches(
    lengths: Sequence[int],
    *,
    batch_size: int | None,
    equal_length: bool = False,
    max_batch_samples: int | None = None,
    order: Sequence[int] | None = None,
) -> list[list[int]]:
    """Index batches in order of length, packed greedily: at most ``batch_size`` clips and ``max_batch_samples``
    padded samples (clips x longest); with ``equal_length`` only clips of exactly the same length share a batch.
    ``order`` (ascending by length) sets how equal lengths are ordered; by default by index."""
    if order is None:
        order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = lengths[i]  # sorted ascending: the newcomer is the longest
        full = batch_size is not None and len(current) >= batch_size
        over = max_batch_samples is not None and (len(current) + 1) * longest > max_batch_samples
        split = equal_length and current and lengths[current[0]] != lengths[i]
        if current and (full or over or split):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def model_inputs(feature_extractor, arrays: Sequence[np.ndarray], *, equal_length: bool):
    """Yield (indices, feature-extractor outputs as tensors) for ``arrays``, never padding when ``equal_length``.

    The one place arrays become model inputs (torch forward, pooled features, ONNX Runtime): a single clip goes
    through the feature extractor exactly as pipeline() sends it (no padding argument); padding follows the
    extractor's own rules (:func:`hf_ser.modeling.architectures.feature_inputs`)."""
    if equal_length:
        by_len: dict[int, list[int]] = defaultdict(list)
        for i, a in enumerate(arrays):
            by_len[len(a)].append(i)
        groups = list(by_len.values())
    else:
        groups = [list(range(len(arrays)))] if len(arrays) else []
    for group in groups:
        yield group, feature_inputs(feature_extractor, [np.asarray(arrays[i], dtype=np.float32) for i in group])


@torch.inference_mode()
def forward_arrays(
    model,
    feature_extractor,
    arrays: Sequence[np.ndarray],
    *,
    equal_length: bool | None = None,
    device: torch.device | str | None = None,
    autocast_dtype: torch.dtype | None = None,
) -> np.ndarray:
    """Logits (N x C, float32, in the model's label order) of 16 kHz mono float arrays.

    ``equal_length`` (default: :func:`padding_sensitive`) forwards clips of different lengths separately, so no
    clip is ever padded. ``autocast_dtype`` runs the forward under autocast (e.g. bf16 on a GPU).
    """
    if not len(arrays):
        return np.zeros((0, model.config.num_labels), dtype=np.float32)
    if equal_length is None:
        equal_length = padding_sensitive(model.config, feature_extractor)
    param = next(model.parameters())
    device = torch.device(device) if device is not None else param.device
    weights = param.dtype  # a model cast to bf16 takes bf16 inputs
    out = np.zeros((len(arrays), model.config.num_labels), dtype=np.float32)
    was_training = model.training
    model.eval()
    try:
        for group, inputs in model_inputs(feature_extractor, arrays, equal_length=equal_length):
            inputs = {k: v.to(device, weights) if v.is_floating_point() else v.to(device) for k, v in inputs.items()}
            ctx = torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype is not None else nullcontext()
            with ctx:
                logits = model(**inputs).logits
            out[group] = logits.float().cpu().numpy()
    finally:
        model.train(was_training)
    return out
