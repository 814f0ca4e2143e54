"""A pretrained classification head fitted to another label set: rows whose label means the same emotion are kept,
the rest start fresh, and the report says which.

``ehcalabres/wav2vec2-lg-xlsr-en-speech-emotion-recognition`` says ``fearful`` and ``surprised``; fine-tuned onto the
eight emotions, its ``fearful`` row becomes ``fear``'s and nothing it learnt is thrown away. ``superb``'s 4-label head
gives ``neutral``, ``happy``, ``angry`` and ``sad`` their rows; calm, disgust, fear and surprise are new. A head whose
config never named its classes (``LABEL_0`` ...) is re-initialised unless ``--label_map`` names them: its rows mean
nothing that could be matched. Matching goes through the label layer (:func:`hf_ser.labels.label_set`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from hf_ser.labels import is_generic_label, label_set

__all__ = ["HeadFit", "checkpoint_head", "fit_head"]

logger = logging.getLogger(__name__)

HEAD_KEYS = ("classifier.weight", "classifier.bias")


@dataclass(frozen=True)
class HeadFit:
    """What became of a pretrained head: ``kept`` (old name, new name) rows, ``new`` rows, ``dropped`` old rows."""

    kept: tuple[tuple[str, str], ...]
    new: tuple[str, ...]
    dropped: tuple[str, ...]
    reason: str = ""  # why nothing was kept, where nothing was

    def summary(self) -> str:
        if not self.kept:
            return f"head re-initialised for {len(self.new)} labels ({self.reason or 'no label in common'})"
        kept = ", ".join(a if a == b else f"{a} -> {b}" for a, b in self.kept)
        parts = [f"kept {len(self.kept)} trained head rows ({kept})"]
        if self.new:
            parts.append(f"new rows for {', '.join(self.new)}")
        if self.dropped:
            parts.append(f"old rows dropped: {', '.join(self.dropped)}")
        return "; ".join(parts)


def checkpoint_head(name_or_path: str, *, local_files_only: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The saved ``classifier`` weight and bias of a checkpoint, read from its weight file(s) without loading the
    model (what ``from_pretrained`` throws away when the head's shape changes). None when there is none."""
    from transformers.utils import (
        SAFE_WEIGHTS_INDEX_NAME,
        SAFE_WEIGHTS_NAME,
        WEIGHTS_INDEX_NAME,
        WEIGHTS_NAME,
        cached_file,
    )

    def find(filename):
        local = Path(name_or_path).expanduser()
        if local.is_dir():
            return str(local / filename) if (local / filename).is_file() else None
        return cached_file(name_or_path, filename, local_files_only=local_files_only,
                           _raise_exceptions_for_missing_entries=False, _raise_exceptions_for_connection_errors=False)  # fmt: skip

    def read(path: str, keys) -> dict[str, torch.Tensor]:
        if path.endswith(".safetensors"):
            from safetensors import safe_open

            with safe_open(path, framework="pt") as fh:
                return {k: fh.get_tensor(k) for k in keys if k in fh.keys()}  # noqa: SIM118 - safe_open has no __contains__
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        return {k: state[k].clone() for k in keys if k in state}

    found: dict[str, torch.Tensor] = {}
    for single, index in ((SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME), (WEIGHTS_NAME, WEIGHTS_INDEX_NAME)):
        if path := find(single):
            found = read(path, HEAD_KEYS)
        elif index_path := find(index):
            weight_map = json.loads(Path(index_path).read_text())["weight_map"]
            for file in {weight_map[k] for k in HEAD_KEYS if k in weight_map}:
                if shard := find(file):
                    found.update(read(shard, HEAD_KEYS))
        if found:
            break
    if "classifier.weight" not in found:
        return None
    return found["classifier.weight"], found.get("classifier.bias")


def fit_head(
    head: torch.nn.Linear,
    old_labels: Sequence[str],
    new_labels: Sequence[str],
    old_head: tuple[torch.Tensor, torch.Tensor | None] | None,
    *,
    label_map: Mapping[str, str] | None = None,
    init_std: float = 0.02,
) -> HeadFit:
    """Set ``head`` (already sized for ``new_labels``) from ``old_head`` (over ``old_labels``): each new label whose
    meaning one old label shares gets that row; every other row is drawn fresh (normal, ``init_std``; bias 0), also
    where ``head`` holds the old weights because the shapes agree (a LABEL_n head of the same size)."""
    new = list(new_labels)
    rows, reason = _matching_rows(old_labels, new, old_head, head.in_features, label_map)
    with torch.no_grad():
        weight = torch.empty_like(head.weight).normal_(mean=0.0, std=init_std)
        bias = torch.zeros_like(head.bias) if head.bias is not None else None
        for i, j in rows.items():
            old_w, old_b = old_head
            weight[i] = old_w[j].to(weight.dtype)
            if bias is not None and old_b is not None:
                bias[i] = old_b[j].to(bias.dtype)
        head.weight.copy_(weight)
        if bias is not None:
            head.bias.copy_(bias)
    used = set(rows.values())
    return HeadFit(
        kept=tuple((old_labels[j], new[i]) for i, j in sorted(rows.items())),
        new=tuple(new[i] for i in range(len(new)) if i not in rows),
        dropped=tuple(old_labels[j] for j in range(len(old_labels)) if j not in used),
        reason=reason,
    )


def _matching_rows(old_labels, new, old_head, width: int, label_map) -> tuple[dict[int, int], str]:
    """{new row: old row} for each new label exactly one old label shares the meaning of; else ({}, why not)."""
    if old_head is None or not old_labels:
        return {}, "the checkpoint has no trained head"
    old_w, old_b = old_head
    if tuple(old_w.shape) != (len(old_labels), width):
        return {}, f"its saved head is {tuple(old_w.shape)}, not {len(old_labels)} labels x {width}"
    old_set, new_set = label_set(old_labels, label_map), label_set(new, label_map)
    if old_set.generic:
        return {}, "its labels are generic LABEL_n names; --label_map can name them"
    by_meaning = old_set.index()
    rows = {}
    for i, meaning in enumerate(new_set.canonical):
        candidates = by_meaning.get(meaning, [])
        if len(candidates) == 1 and not is_generic_label(meaning):
            rows[i] = candidates[0]
    return rows, "" if rows else "no label in common"
