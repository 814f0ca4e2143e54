"""A checkpoint's health check (``hf-ser inspect MODEL``): what it expects and whether it can be trusted.

What a user of someone else's SER checkpoint needs to know before believing its output: the architecture and its
main input, the sampling rate and normalisation its feature extractor applies, its labels and what each means
(generic ``LABEL_n`` names, duplicates, names the alias table does not know), whether the classification head's
weights are in the checkpoint or would be drawn at random (transformers' own loading report), and what it says about
a short probe clip: near-uniform probabilities are the mark of an untrained or broken head. Exit status 0 healthy,
1 with warnings, 2 unusable. The label checks also run, as one-line warnings, wherever a model is loaded to predict.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from hf_ser.labels import label_set, model_labels

__all__ = ["Finding", "Inspection", "inspect_checkpoint", "label_findings", "warn_about_labels"]

logger = logging.getLogger(__name__)

OK, WARNING, ERROR = "ok", "warning", "error"
# a probe clip's distribution this close to uniform (max probability within this share of 1/K above it) is a flag
NEAR_UNIFORM = 0.1


@dataclass(frozen=True)
class Finding:
    level: str  # ok, warning, error
    check: str
    message: str


@dataclass
class Inspection:
    model: str
    architecture: str | None = None
    main_input: str | None = None
    sampling_rate: int | None = None
    normalises: bool | None = None
    attention_mask: bool | None = None
    labels: list[str] = field(default_factory=list)
    meanings: list[str] = field(default_factory=list)
    probe: dict | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> int:
        levels = {f.level for f in self.findings}
        return 2 if ERROR in levels else 1 if WARNING in levels else 0

    def to_dict(self) -> dict:
        out = asdict(self)
        out["status"] = self.status
        return out

    def report(self) -> str:
        """What ``hf-ser inspect`` prints: the facts, then one line per finding."""
        lines = [f"model         {self.model}"]
        if self.architecture:
            lines += [f"architecture  {self.architecture} (main input: {self.main_input})",
                      f"audio         {self.sampling_rate} Hz mono; feature extractor normalises: "
                      f"{'yes' if self.normalises else 'no'}; attention mask: {'yes' if self.attention_mask else 'no'}"]  # fmt: skip
        if self.labels:
            pairs = [n if n == m else f"{n} ({m})" for n, m in zip(self.labels, self.meanings, strict=True)]
            lines.append(f"labels        {len(self.labels)}: {', '.join(pairs)}")
        if self.probe:
            top = max(self.probe["probabilities"], key=self.probe["probabilities"].get)
            lines.append(f"probe clip    {self.probe['seconds']:g} s: top {top} "
                         f"{self.probe['probabilities'][top]:.3f}; entropy {self.probe['normalised_entropy']:.3f} "
                         "of the maximum")  # fmt: skip
        for f in self.findings:
            lines.append(f"{f.level:<13} {f.check}: {f.message}")
        verdict = {0: "healthy", 1: "usable, with warnings", 2: "unusable"}[self.status]
        lines.append(f"status        {self.status} ({verdict})")
        return "\n".join(lines)


def label_findings(labels: Sequence[str], label_map: Mapping[str, str] | None = None) -> list[Finding]:
    """The label checks: generic names, two names of one meaning, names the alias table does not know."""
    ls = label_set(labels, label_map)
    out = []
    if ls.generic:
        out.append(Finding(WARNING, "labels", f"generic names ({ls.names[0]} ... {ls.names[-1]}): the config never "
                           "named its classes, so its outputs cannot be read as emotions; --label_map LABEL_0=... "
                           "names them"))  # fmt: skip
    elif ls.unknown:
        out.append(Finding(WARNING, "labels", f"not in the alias table, kept as they are: {', '.join(ls.unknown)}"))
    for meaning, names in ls.duplicates.items():
        if meaning not in ls.unknown:
            out.append(Finding(WARNING, "labels", f"{' and '.join(names)} both mean {meaning}"))
    if not out:
        out.append(Finding(OK, "labels", f"{len(ls.names)} distinct, known labels"))
    return out


def warn_about_labels(config, what: str) -> None:
    """The label checks as one-line log warnings (prediction, the app)."""
    for f in label_findings(model_labels(config)):
        if f.level != OK:
            logger.warning("%s: %s", what, f.message)


def _probe_clip(rate: int, seconds: float = 1.0) -> np.ndarray:
    """A voiced-speech-like probe: a gliding harmonic tone with a syllable envelope and a little noise (seeded)."""
    t = np.arange(int(rate * seconds)) / rate
    f0 = 140 + 40 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 3 * t)) * np.minimum(1, 8 * t) * np.minimum(1, 8 * (seconds - t))
    noise = np.random.default_rng(0).normal(scale=0.01, size=t.size)
    return (0.3 * envelope * voice / 3 + noise).astype(np.float32)


def inspect_checkpoint(name_or_path: str, *, label_map: Mapping[str, str] | None = None, probe: bool = True
                       ) -> Inspection:  # fmt: skip
    """Every check on one checkpoint (Hub id or folder); never raises for a broken checkpoint: it is a finding."""
    from transformers import AutoConfig, AutoFeatureExtractor

    from hf_ser.modeling.architectures import audio_classifier_class
    from hf_ser.modeling.loading import (
        ModelLoadError,
        initialised_weights,
        is_headless,
        load_pretrained,
        load_with_report,
    )

    result = Inspection(model=name_or_path)
    try:
        config, fe = load_pretrained(name_or_path, "MODEL", AutoConfig.from_pretrained,
                                     AutoFeatureExtractor.from_pretrained)  # fmt: skip
    except ModelLoadError as err:
        result.findings.append(Finding(ERROR, "load", str(err)))
        return result
    archs = getattr(config, "architectures", None) or []
    result.architecture = archs[0] if archs else type(config).__name__.removesuffix("Config")
    result.main_input = (getattr(fe, "model_input_names", None) or ["input_values"])[0]
    result.sampling_rate = int(getattr(fe, "sampling_rate", 0) or 0) or None
    result.normalises = bool(getattr(fe, "do_normalize", False))
    result.attention_mask = bool(getattr(fe, "return_attention_mask", False))
    if result.sampling_rate != 16_000:
        result.findings.append(Finding(WARNING, "audio", f"expects {result.sampling_rate} Hz; hf-ser resamples to it, "
                                       "but most SER corpora are 16 kHz speech"))  # fmt: skip
    if audio_classifier_class(config) is None:
        result.findings.append(Finding(ERROR, "architecture", f"transformers has no audio-classification head for "
                                       f"{result.architecture}"))  # fmt: skip
        return result
    if is_headless(config):
        result.findings.append(Finding(ERROR, "head", f"a {result.architecture} backbone without a classification "
                                       "head: it cannot predict; fine-tune it with recipes/train.py"))  # fmt: skip
        return result
    result.labels = model_labels(config)
    result.meanings = list(label_set(result.labels, label_map).canonical)
    result.findings += label_findings(result.labels, label_map)
    try:
        model, report = load_with_report(name_or_path, "MODEL")
    except ModelLoadError as err:
        result.findings.append(Finding(ERROR, "weights", str(err)))
        return result
    fresh = sorted(set().union(*initialised_weights(report)))
    head_fresh = [k for k in fresh if k.split(".")[0] in ("classifier", "projector")]
    if head_fresh:
        result.findings.append(Finding(ERROR, "head", f"the checkpoint lacks the head's weights ({', '.join(head_fresh)})"
                                       ": transformers would initialise them at random, so its predictions mean "
                                       "nothing"))  # fmt: skip
    elif fresh:
        result.findings.append(Finding(ERROR, "weights", f"{len(fresh)} weights missing or of another shape "
                                       f"({', '.join(fresh[:3])}{', ...' if len(fresh) > 3 else ''})"))  # fmt: skip
    else:
        result.findings.append(Finding(OK, "head", "the classification head's weights are in the checkpoint"))
    if probe and not fresh:
        result.probe = _run_probe(model, fe, result)
    return result


def _run_probe(model, fe, result: Inspection) -> dict:
    import torch

    from hf_ser.inference.forward import forward_arrays

    clip = _probe_clip(result.sampling_rate or 16_000)
    model.eval()
    with torch.no_grad():
        logits = forward_arrays(model, fe, [clip], equal_length=True, device="cpu")[0].astype(np.float64)
    if not np.isfinite(logits).all():
        result.findings.append(Finding(ERROR, "probe", "NaN or infinite logits on the probe clip"))
        return {"seconds": 1.0, "probabilities": {}, "normalised_entropy": float("nan")}
    p = np.exp(logits - logits.max())
    p /= p.sum()
    k = len(p)
    entropy = float(-(p * np.log(np.clip(p, 1e-12, None))).sum() / math.log(k)) if k > 1 else 0.0
    if k > 1 and p.max() - 1 / k < NEAR_UNIFORM / k:
        result.findings.append(Finding(WARNING, "probe", f"near-uniform probabilities on the probe clip (top "
                                       f"{p.max():.3f} of {k} labels, uniform is {1 / k:.3f}): an untrained or "
                                       "broken head gives this"))  # fmt: skip
    labels = result.labels or [str(i) for i in range(k)]
    return {"seconds": 1.0, "probabilities": {n: round(float(v), 6) for n, v in zip(labels, p, strict=True)},
            "normalised_entropy": round(entropy, 6)}  # fmt: skip
