"""LayerDrop that keeps every layer's hidden state, so it trains with the weighted layer sum under transformers 5.

transformers 5 records hidden states with forward hooks on the encoder layers. The encoders' LayerDrop skips a layer
by not calling it, so a skipped layer records nothing, and a model with ``use_weighted_layer_sum`` (the SUPERB heads:
``superb/hubert-large-superb-er``, the paper's base) stacks fewer hidden states than it has layer weights:
``RuntimeError: The size of tensor a (23) must match the size of tensor b (25)`` on the first step that drops a layer
(92% of steps for 24 layers at ``layerdrop`` 0.1). transformers 4 appended the unchanged hidden state for a skipped
layer, which is what LayerDrop means: for that step the layer is the identity.

:func:`record_dropped_layers` moves the decision into the layers. The encoder no longer skips any; each layer, in
training, is the identity with probability p (the draw the encoders make, one ``torch.rand([])`` per droppable
layer), and since it is still *called*, its hooks record its input as its output. What stays as it was:

- evaluation (no layer is dropped in eval mode: outputs are bit-identical),
- the saved config (``layerdrop`` stays what the checkpoint says) and the state dict (no module is added),
- the layers transformers never drops: WavLM's first layer (it computes the relative position bias the others
  reuse), and every layer under DeepSpeed ZeRO-3 or FSDP-managed modules (all ranks must run in step).

Reproduction upstream (transformers 5.x)::

    cfg = HubertConfig(num_hidden_layers=4, layerdrop=0.5, use_weighted_layer_sum=True, ...)
    HubertForSequenceClassification(cfg).train()(torch.randn(2, 16000))  # RuntimeError on most calls

``tests/test_architectures.py::test_upstream_layerdrop_with_weighted_layer_sum`` holds the runnable version.
"""

from __future__ import annotations

import inspect
import logging

import torch
from torch import nn

__all__ = ["layerdrop_probability", "record_dropped_layers"]

logger = logging.getLogger(__name__)

_DROPPABLE: dict[type, type] = {}


class _ConfigWithoutLayerDrop:
    """The encoder's view of the model config: everything as the config says, except ``layerdrop`` 0 (the layers
    drop themselves). Attribute reads go to the live config, so later changes to it (attention kernel) are seen."""

    def __init__(self, config):
        object.__setattr__(self, "_config", config)

    def __getattr__(self, name):
        if name == "_config":  # during copy/unpickle, before __init__ ran
            raise AttributeError(name)
        if name == "layerdrop":
            return 0.0
        return getattr(self._config, name)

    def __setattr__(self, name, value):
        setattr(self._config, name, value)


def _synced(module: nn.Module) -> bool:
    """transformers runs every layer when all ranks must stay in step (DeepSpeed ZeRO-3, FSDP-managed modules)."""
    from transformers.integrations.deepspeed import is_deepspeed_zero3_enabled

    if is_deepspeed_zero3_enabled():
        return True
    try:
        from transformers.distributed.fsdp import is_fsdp_managed_module
    except ImportError:  # older layouts of transformers 5
        return False
    return is_fsdp_managed_module(module)


def _droppable(cls: type) -> type:
    """A subclass of an encoder-layer class that is the identity with probability ``hf_ser_layerdrop`` in training.

    Same name and module as ``cls``: transformers matches layer classes by name (FSDP wrapping, ``_no_split_modules``)
    and its hooks by ``isinstance``; the state dict is the parent's."""
    if cls in _DROPPABLE:
        return _DROPPABLE[cls]
    signature = inspect.signature(cls.forward)
    passes_position_bias = "position_bias" in signature.parameters  # WavLM layers return (hidden, position_bias)

    def forward(self, hidden_states, *args, **kwargs):
        p = self.hf_ser_layerdrop
        if self.training and p > 0.0 and torch.rand([]) < p and not _synced(self):
            if passes_position_bias:
                bound = signature.bind_partial(self, hidden_states, *args, **kwargs).arguments
                return hidden_states, bound.get("position_bias")
            return hidden_states
        return cls.forward(self, hidden_states, *args, **kwargs)

    sub = type(cls.__name__, (cls,), {"forward": forward, "hf_ser_layerdrop_in_layer": True})
    sub.__qualname__, sub.__module__ = cls.__qualname__, cls.__module__
    _DROPPABLE[cls] = sub
    return sub


def layerdrop_probability(config) -> float:
    """The checkpoint's LayerDrop: ``layerdrop`` (wav2vec2 family) or ``encoder_layerdrop`` (Whisper)."""
    return float(getattr(config, "encoder_layerdrop", None) or getattr(config, "layerdrop", 0.0) or 0.0)


def _encoder(model: nn.Module):
    """The module whose ``layers`` LayerDrop skips: ``<backbone>.encoder`` (wav2vec2 family) or ``encoder`` (Whisper)."""
    for name, module in model.named_modules():
        layers = getattr(module, "layers", None)
        if isinstance(layers, nn.ModuleList) and len(layers) and name.rsplit(".", 1)[-1] == "encoder":
            return module
    return None


def record_dropped_layers(model: nn.Module) -> int:
    """Make ``model``'s LayerDrop drop layers by making them the identity (see the module docstring); returns how
    many layers can be dropped (0 when the config has no LayerDrop or the model no encoder layers). Idempotent."""
    p = layerdrop_probability(model.config)
    encoder = _encoder(model)
    if p <= 0.0 or encoder is None:
        return 0
    if isinstance(getattr(encoder, "layerdrop", None), float):  # Whisper reads its own attribute
        encoder.layerdrop = 0.0
    elif not isinstance(encoder.config, _ConfigWithoutLayerDrop):  # wav2vec2 family reads self.config.layerdrop
        encoder.config = _ConfigWithoutLayerDrop(encoder.config)
    droppable = 0
    for layer in encoder.layers:
        # WavLM's first layer computes the relative position bias every later layer reuses: never dropped upstream.
        keep = getattr(getattr(layer, "attention", None), "rel_attn_embed", None) is not None
        if not getattr(type(layer), "hf_ser_layerdrop_in_layer", False):
            layer.__class__ = _droppable(type(layer))
        layer.hf_ser_layerdrop = 0.0 if keep else p
        droppable += not keep
    logger.info(
        "LayerDrop %.2f over %d of %d encoder layers: a dropped layer passes its input on and records it as its "
        "hidden state (hf_ser.modeling.layerdrop), so the weighted layer sum always sees every layer",
        p,
        droppable,
        len(encoder.layers),
    )
    return droppable
