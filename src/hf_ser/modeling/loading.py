"""Load a backbone (Hub id, local folder or the tiny in-code HuBERT) and apply a fine-tuning method."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModelForAudioClassification,
    HubertConfig,
    HubertForSequenceClassification,
    Wav2Vec2FeatureExtractor,
)

from hf_ser.hub import hub_offline, looks_like_hub_id
from hf_ser.labels import EMOTIONS, model_labels
from hf_ser.modeling.architectures import (
    audio_classifier_class,
    freeze_backbone,
    lora_target_modules,
    resolve_attn_implementation,
)
from hf_ser.modeling.architectures import freeze_feature_encoder as freeze_front_end
from hf_ser.modeling.heads import HeadFit, checkpoint_head, fit_head
from hf_ser.modeling.layerdrop import record_dropped_layers
from hf_ser.modeling.wavlm_lora import route_attention_through_projections

__all__ = [
    "LORA_METHODS",
    "TINY_HUBERT",
    "ModelLoadError",
    "apply_method",
    "count_parameters",
    "export_model",
    "load_backbone",
    "load_classifier",
    "load_pretrained",
    "tiny_hubert_config",
]

logger = logging.getLogger(__name__)

TINY_HUBERT = "hf-ser/tiny-hubert"
# the LoRA presets; which modules each adapts depends on the architecture (hf_ser.modeling.architectures.lora_target_modules)
LORA_METHODS = ("qkv", "all-linear")
HEAD_MODULES = ["projector", "classifier"]


class ModelLoadError(RuntimeError):
    """A backbone that cannot be loaded; the message says what to do."""


def tiny_hubert_config(hidden_size: int = 96, num_layers: int = 3, *, labels: Sequence[str] = EMOTIONS,
                       **overrides) -> HubertConfig:  # fmt: skip
    """A HuBERT of the real architecture at demo size (post-LN, group-norm conv encoder as hubert-base), with a head
    over ``labels``."""
    kwargs = dict(
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        intermediate_size=2 * hidden_size,
        conv_dim=(64,) * 7,
        feat_extract_norm="group",
        do_stable_layer_norm=False,
        num_conv_pos_embeddings=32,
        num_conv_pos_embedding_groups=4,
        classifier_proj_size=64,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        feat_proj_dropout=0.0,
        final_dropout=0.0,
        layerdrop=0.0,
        mask_time_prob=0.05,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={x: i for i, x in enumerate(labels)},
    )
    kwargs.update(overrides)
    return HubertConfig(**kwargs)


def _tiny_feature_extractor() -> Wav2Vec2FeatureExtractor:
    return Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )


def load_pretrained(name_or_path: str, flag: str, *loaders):
    """``loader(name_or_path, **kwargs)`` for each loader (from_pretrained functions), with one-line errors.

    A local folder loads as it is. A Hub id is looked up once: when the Hub cannot be reached (or HF_HUB_OFFLINE is
    set) the loaders run with ``local_files_only=True`` straight away, so a model in the local Hub cache still loads
    and a missing one fails at once instead of after half a minute of retries.
    """
    local = Path(name_or_path).expanduser()
    if local.exists() and not local.is_dir():
        raise ModelLoadError(f"{flag} {name_or_path}: a file, not a checkpoint folder (config.json + weights)")
    if not local.is_dir() and not looks_like_hub_id(name_or_path):
        raise ModelLoadError(f"{flag} {name_or_path!r}: no such folder, and not a Hub id")
    offline = not local.is_dir() and hub_offline()
    kwargs = {"local_files_only": True} if offline else {}
    try:
        return tuple(load(str(local) if local.is_dir() else name_or_path, **kwargs) for load in loaders)
    except Exception as err:  # noqa: BLE001 - corrupt weights raise SafetensorError/RuntimeError/UnpicklingError too
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if local.is_dir():
            if not isinstance(err, (OSError, ValueError)):  # the files are there but do not load: damaged weights
                raise ModelLoadError(
                    f"{flag} {name_or_path}: its weights cannot be read ({type(err).__name__}: {reason[:160]}); the "
                    "file is damaged or incomplete: copy or download it again"
                ) from err
            raise ModelLoadError(f"{flag} {name_or_path}: not a transformers checkpoint ({reason})") from err
        if not isinstance(err, (OSError, ValueError)):
            raise
        if offline:
            raise ModelLoadError(
                f"{flag} {name_or_path}: no such folder here, and the Hugging Face Hub is unreachable from this "
                f"machine (nor is it in the local Hub cache). On a connected machine run "
                f"`hf download {name_or_path} --local-dir DIR`, then pass {flag} DIR."
            ) from err
        raise ModelLoadError(
            f"{flag} {name_or_path}: no such folder here, and the Hub has no model of that id that you can read "
            f"({reason}). Check the id (and `hf auth login` for a private one), or run `hf download {name_or_path} "
            f"--local-dir DIR` and pass {flag} DIR."
        ) from err


def is_headless(config) -> bool:
    """A backbone checkpoint (``HubertModel``): its config names no classification architecture."""
    archs = getattr(config, "architectures", None) or []
    return bool(archs) and not any(a.endswith(("ForSequenceClassification", "ForAudioClassification")) for a in archs)


def initialised_weights(report: dict) -> tuple[list[str], list[str]]:
    """(missing, of another shape): the weights from_pretrained's loading report says it drew at random."""
    missing = sorted(report.get("missing_keys") or [])
    mismatched = sorted(str(k[0] if isinstance(k, tuple) else k) for k in report.get("mismatched_keys") or [])
    return missing, mismatched


def load_with_report(name_or_path: str, flag: str = "--model"):
    """(model, loading report) of an audio classifier, with :func:`load_pretrained`'s one-line errors."""

    def with_report(path, **kwargs):
        return AutoModelForAudioClassification.from_pretrained(path, output_loading_info=True, **kwargs)

    ((model, report),) = load_pretrained(name_or_path, flag, with_report)
    return model, report


def load_classifier(name_or_path: str, flag: str = "--model"):
    """(model, feature_extractor) of a trained audio classifier, for prediction, scoring and export.

    Refused in one line (ModelLoadError), before any audio is read: an architecture with no audio-classification
    head, a backbone (``HubertModel``), and any checkpoint whose loading report says weights were missing or of
    another shape, which transformers would fill with random values (a head saved without its weights is served
    as a random classifier otherwise)."""
    config, fe = load_pretrained(name_or_path, flag, AutoConfig.from_pretrained, AutoFeatureExtractor.from_pretrained)
    if audio_classifier_class(config) is None or is_headless(config):
        archs = getattr(config, "architectures", None) or []
        what = archs[0] if archs else type(config).__name__.removesuffix("Config")
        raise ModelLoadError(
            f"{flag} {name_or_path}: a {what} checkpoint, not an audio-classification model (no classification "
            "head); fine-tune one with recipes/train.py"
        )
    model, report = load_with_report(name_or_path, flag)
    missing, mismatched = initialised_weights(report)
    if missing or mismatched:
        names = ", ".join((missing + mismatched)[:4]) + (", ..." if len(missing) + len(mismatched) > 4 else "")
        raise ModelLoadError(
            f"{flag} {name_or_path}: the checkpoint's weights do not cover the model its config describes "
            f"({len(missing)} missing, {len(mismatched)} of another shape: {names}); transformers would fill them "
            "with random values. Re-save the model, or fine-tune it with recipes/train.py"
        )
    return model, fe


def load_backbone(name_or_path: str, *, labels: Sequence[str] = EMOTIONS, label_map: Mapping[str, str] | None = None,
                  tiny_hidden_size: int = 96, tiny_num_layers: int = 3, seed: int = 42,
                  attn_implementation: str | None = "auto"):  # fmt: skip
    """(model, feature_extractor) with a head over ``labels`` (the dataset's label set) and that ``id2label``.

    A checkpoint that already has a classification head keeps every row whose label means one of ``labels``
    (:mod:`hf_ser.modeling.heads`: ``fearful`` -> ``fear``, superb's ``neu`` -> ``neutral``; ``label_map`` adds
    explicit merges and names ``LABEL_n`` heads); the other rows start fresh, the same on every run with ``seed``.
    ``attn_implementation`` ``auto`` takes SDPA where the architecture has it and eager attention elsewhere (WavLM).
    """
    labels = [str(x) for x in labels]
    if len(set(labels)) != len(labels) or not labels:
        raise ModelLoadError(f"labels {labels}: a head needs distinct label names")
    if name_or_path == TINY_HUBERT:
        torch.manual_seed(seed)
        cfg = tiny_hubert_config(hidden_size=tiny_hidden_size, num_layers=tiny_num_layers, labels=labels)
        cfg._attn_implementation = resolve_attn_implementation(HubertForSequenceClassification, attn_implementation)
        return HubertForSequenceClassification(cfg), _tiny_feature_extractor()
    config, feature_extractor = load_pretrained(
        name_or_path, "--model_name_or_path", AutoConfig.from_pretrained, AutoFeatureExtractor.from_pretrained
    )
    head_class = audio_classifier_class(config)
    if head_class is None:
        raise ModelLoadError(
            f"--model_name_or_path {name_or_path}: a {type(config).__name__.removesuffix('Config')} checkpoint, and "
            "transformers has no audio-classification head for that architecture"
        )
    offline = not Path(name_or_path).expanduser().is_dir() and hub_offline()
    kwargs = {"local_files_only": True} if offline else {}
    kwargs["attn_implementation"] = resolve_attn_implementation(head_class, attn_implementation)
    old_labels = model_labels(config)
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {x: i for i, x in enumerate(labels)}
    torch.manual_seed(seed)  # a newly initialised head is the same on every run with this seed
    model, report = AutoModelForAudioClassification.from_pretrained(
        name_or_path, config=config, ignore_mismatched_sizes=True, output_loading_info=True, **kwargs
    )
    _fit_head(model, report, old_labels, labels, name_or_path, label_map, local_files_only=offline)
    if getattr(feature_extractor, "return_attention_mask", True) is False:
        logger.info(
            "feature extractor of %s returns no attention mask; padding is then zeros (as trained)", name_or_path
        )
    return model, feature_extractor


def _fit_head(model, report, old_labels, labels, name, label_map, *, local_files_only: bool) -> HeadFit | None:
    """Keep the rows of a trained head that ``labels`` share (hf_ser.modeling.heads); logs what became of it."""
    head = getattr(model, "classifier", None)
    missing, mismatched = initialised_weights(report)
    if not isinstance(head, torch.nn.Linear) or any(k.startswith("classifier.") for k in missing):
        return None  # a backbone without a head: transformers initialised it
    if old_labels == list(labels) and not label_map:
        return None  # the same labels in the same order: the trained head as it is
    if any(
        k.startswith("classifier.") for k in mismatched
    ):  # from_pretrained replaced it; its saved rows are read from the weight file
        old_head = checkpoint_head(name, local_files_only=local_files_only)
    else:
        old_head = (head.weight.detach().clone(), None if head.bias is None else head.bias.detach().clone())
    fit = fit_head(head, old_labels, labels, old_head, label_map=label_map,
                   init_std=getattr(model.config, "initializer_range", 0.02))  # fmt: skip
    log = logger.info if fit.kept else logger.warning
    log("%s has a head over %d labels (%s): %s", name, len(old_labels), ", ".join(old_labels), fit.summary())
    return fit


def apply_method(model, method: str, *, lora_r: int = 8, lora_alpha: int = 16, lora_dropout: float = 0.05,
                 freeze_feature_encoder: bool = False):  # fmt: skip
    """Return the model to train for ``method`` (a PeftModel for the LoRA methods).

    Every method trains with LayerDrop made safe for the weighted layer sum (:mod:`hf_ser.modeling.layerdrop`)."""
    if method not in ("none", "classifier", *LORA_METHODS):
        raise ValueError(f"--peft {method!r}: expected one of none, qkv, classifier, all-linear")
    record_dropped_layers(model)
    if method == "none":
        if freeze_feature_encoder:
            logger.info("froze %s", freeze_front_end(model))
        return model
    if method == "classifier":
        freeze_backbone(model)
        return model
    from peft import LoraConfig, get_peft_model

    # The conv front end holds no LoRA weights: nothing below the first attention layer needs gradients.
    freeze_front_end(model)
    route_attention_through_projections(model)  # WavLM reads q/k/v/out weights directly: LoRA would train nothing
    lora = LoraConfig(
        r=lora_r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        target_modules=lora_target_modules(model, method),
        modules_to_save=HEAD_MODULES,
    )
    return get_peft_model(model, lora)


def count_parameters(model) -> dict[str, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": int(trainable), "total": int(total)}


def export_model(model, feature_extractor, output_dir: str | Path, *, base: str | None = None):
    """Save a pipeline-loadable model to ``output_dir`` (LoRA merged) and, for PEFT, the adapter in ``adapter/``
    (loadable from anywhere: :mod:`hf_ser.modeling.adapters`; ``base`` is what the backbone was loaded from);
    returns the model as saved (merged), to score exactly what was written."""
    from peft import PeftModel

    from hf_ser.modeling.adapters import save_adapter

    out = Path(output_dir)
    if isinstance(model, PeftModel):
        base = base or model.peft_config[model.active_adapter].base_model_name_or_path
        save_adapter(model, feature_extractor, out / "adapter", base=None if base in (None, TINY_HUBERT) else base)
        model = model.merge_and_unload()
    model.save_pretrained(str(out))
    feature_extractor.save_pretrained(str(out))
    return model
