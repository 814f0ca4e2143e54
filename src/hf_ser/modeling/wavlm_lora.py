"""WavLM attention that LoRA can adapt: its projections are called as modules, not read as weights.

transformers 5's ``WavLMAttention`` hands ``self.q_proj.weight``, ``k_proj.weight``, ``v_proj.weight`` and
``out_proj.weight`` straight to ``torch.nn.functional.multi_head_attention_forward``. PEFT adapts a linear by
wrapping the *module* (its ``forward`` adds ``B @ A``), and reading ``.weight`` returns the frozen base weight, so
LoRA on WavLM's q/k/v (and on ``out_proj`` with all-linear) trains nothing: the adapters get no gradient and the run
is silently the classifier-only method (``peft``'s ``target_parameters`` documents the same limit: a directly read
parameter is not adapted). :func:`route_attention_through_projections` gives each WavLM attention the same
computation with the projections called as modules: eval outputs equal the original to float rounding
(``tests/test_architectures.py``), and after ``merge_and_unload`` the saved model is an ordinary WavLM checkpoint.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["route_attention_through_projections"]

_ROUTED: dict[type, type] = {}


def _routed(cls: type) -> type:
    if cls in _ROUTED:
        return _ROUTED[cls]

    def torch_multi_head_self_attention(self, hidden_states, attention_mask, gated_position_bias):
        """``F.multi_head_attention_forward`` (separate q/k/v weights, float bias mask, key padding mask, averaged
        weights), step for step, with q/k/v/out projections through their modules."""
        bsz, tgt_len, embed_dim = hidden_states.shape
        heads, head_dim = self.num_heads, self.head_dim

        def split(x: torch.Tensor) -> torch.Tensor:  # (B, T, E) -> (B*H, T, hd), torch's (T, B*H, hd) order
            return x.transpose(0, 1).reshape(tgt_len, bsz * heads, head_dim).transpose(0, 1)

        q, k, v = (
            split(self.q_proj(hidden_states)),
            split(self.k_proj(hidden_states)),
            split(self.v_proj(hidden_states)),
        )
        bias = gated_position_bias
        if attention_mask is not None:
            pad = (
                attention_mask.ne(1)
                .view(bsz, 1, 1, tgt_len)
                .expand(-1, heads, -1, -1)
                .reshape(bsz * heads, 1, tgt_len)
            )
            bias = bias.masked_fill(pad, float("-inf"))
        weights = torch.baddbmm(bias, q * (1.0 / head_dim) ** 0.5, k.transpose(-2, -1)).softmax(dim=-1)
        if self.training and self.dropout > 0.0:
            weights = F.dropout(weights, p=self.dropout)
        out = torch.bmm(weights, v).transpose(0, 1).reshape(tgt_len, bsz, embed_dim).transpose(0, 1)
        averaged = weights.view(bsz, heads, tgt_len, tgt_len).mean(dim=1)
        return self.out_proj(out), averaged[:, None].broadcast_to((bsz, heads, tgt_len, tgt_len))

    sub = type(cls.__name__, (cls,), {"torch_multi_head_self_attention": torch_multi_head_self_attention})
    sub.__qualname__, sub.__module__ = cls.__qualname__, cls.__module__
    _ROUTED[cls] = sub
    return sub


def route_attention_through_projections(model: nn.Module) -> int:
    """Swap every WavLM attention of ``model`` for the routed one (same name, parameters and state dict); returns how
    many were swapped (0 for other architectures). Call before ``get_peft_model``."""
    from transformers.models.wavlm.modeling_wavlm import WavLMAttention

    count = 0
    for module in model.modules():
        if isinstance(module, WavLMAttention) and type(module) is WavLMAttention:
            module.__class__ = _routed(WavLMAttention)
            count += 1
    return count
