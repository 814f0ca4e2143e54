"""Load a backbone (Hub id, local folder or the tiny in-code HuBERT) and apply a fine-tuning method."""

from __future__ import annotations

import logging
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

from hf_ser.hub import looks_like_hub_id
from hf_ser.labels import EMOTIONS, ID2LABEL, LABEL2ID

__all__ = [
    "LORA_TARGETS",
    "TINY_HUBERT",
    "ModelLoadError",
    "apply_method",
    "count_parameters",
    "export_model",
    "load_backbone",
    "tiny_hubert_config",
]

logger = logging.getLogger(__name__)

TINY_HUBERT = "hf-ser/tiny-hubert"
LORA_TARGETS = {
    "qkv": ["q_proj", "k_proj", "v_proj"],
    "all-linear": ["q_proj", "k_proj", "v_proj", "out_proj", "intermediate_dense", "output_dense"],
}
HEAD_MODULES = ["projector", "classifier"]


class ModelLoadError(RuntimeError):
    """A backbone that cannot be loaded; the message says what to do."""


def tiny_hubert_config(hidden_size: int = 96, num_layers: int = 3, **overrides) -> HubertConfig:
    """A HuBERT of the real architecture at demo size (post-LN, group-norm conv encoder as hubert-base)."""
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
        num_labels=len(EMOTIONS),
        id2label=dict(ID2LABEL),
        label2id=dict(LABEL2ID),
    )
    kwargs.update(overrides)
    return HubertConfig(**kwargs)


def _tiny_feature_extractor() -> Wav2Vec2FeatureExtractor:
    return Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )


def load_backbone(name_or_path: str, *, tiny_hidden_size: int = 96, tiny_num_layers: int = 3, seed: int = 42):
    """(model, feature_extractor) with an eight-emotion head and ``id2label`` = EMOTIONS.

    A checkpoint whose head has another label set (``superb/hubert-large-superb-er`` has 4) gets a fresh head.
    """
    if name_or_path == TINY_HUBERT:
        torch.manual_seed(seed)
        cfg = tiny_hubert_config(hidden_size=tiny_hidden_size, num_layers=tiny_num_layers)
        return HubertForSequenceClassification(cfg), _tiny_feature_extractor()
    is_local = Path(name_or_path).expanduser().is_dir()
    if not is_local and not looks_like_hub_id(name_or_path):
        raise ModelLoadError(f"--model_name_or_path {name_or_path!r}: no such folder, and not a Hub id")
    try:
        config = AutoConfig.from_pretrained(name_or_path)
        feature_extractor = AutoFeatureExtractor.from_pretrained(name_or_path)
    except (OSError, ValueError) as err:
        if is_local:
            raise ModelLoadError(
                f"--model_name_or_path {name_or_path}: not a transformers checkpoint ({err})"
            ) from err
        raise ModelLoadError(
            f"--model_name_or_path {name_or_path}: not found locally and the Hugging Face Hub is unreachable "
            f"(or the id is wrong). On a connected machine run `hf download {name_or_path} --local-dir DIR`, "
            "then pass --model_name_or_path DIR."
        ) from err
    old = {int(k): v for k, v in (getattr(config, "id2label", None) or {}).items()}
    if old and [old[i] for i in sorted(old)] != list(EMOTIONS):
        logger.warning(
            "%s has a %d-label head (%s); re-initialising it for the eight emotions",
            name_or_path,
            len(old),
            ", ".join(old[i] for i in sorted(old)),
        )
    config.num_labels = len(EMOTIONS)
    config.id2label = dict(ID2LABEL)
    config.label2id = dict(LABEL2ID)
    model = AutoModelForAudioClassification.from_pretrained(name_or_path, config=config, ignore_mismatched_sizes=True)
    if getattr(feature_extractor, "return_attention_mask", True) is False:
        logger.info(
            "feature extractor of %s returns no attention mask; padding is then zeros (as trained)", name_or_path
        )
    return model, feature_extractor


def _freeze_backbone(model) -> None:
    base = getattr(model, model.base_model_prefix)
    for p in base.parameters():
        p.requires_grad = False
    # freeze_base_model() alone leaves the conv encoder marking its input as requiring grad in train mode, so
    # autograd still records (and back-propagates through) the whole backbone. This stops that.
    if hasattr(model, "freeze_feature_encoder"):
        model.freeze_feature_encoder()


def apply_method(model, method: str, *, lora_r: int = 8, lora_alpha: int = 16, lora_dropout: float = 0.05,
                 freeze_feature_encoder: bool = False):  # fmt: skip
    """Return the model to train for ``method`` (a PeftModel for the LoRA methods)."""
    if method == "none":
        if freeze_feature_encoder:
            model.freeze_feature_encoder()
        return model
    if method == "classifier":
        _freeze_backbone(model)
        return model
    if method in LORA_TARGETS:
        from peft import LoraConfig, get_peft_model

        # The conv encoder holds no LoRA weights: nothing below the first attention layer needs gradients.
        model.freeze_feature_encoder()
        lora = LoraConfig(
            r=lora_r,
            lora_alpha=lora_alpha,
            lora_dropout=lora_dropout,
            target_modules=LORA_TARGETS[method],
            modules_to_save=HEAD_MODULES,
        )
        return get_peft_model(model, lora)
    raise ValueError(f"--peft {method!r}: expected one of none, qkv, classifier, all-linear")


def count_parameters(model) -> dict[str, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": int(trainable), "total": int(total)}


def export_model(model, feature_extractor, output_dir: str | Path) -> Path | None:
    """Save a pipeline-loadable model to ``output_dir`` (LoRA merged) and, for PEFT, the adapter in ``adapter/``."""
    from peft import PeftModel

    out = Path(output_dir)
    adapter_dir = None
    if isinstance(model, PeftModel):
        adapter_dir = out / "adapter"
        model.save_pretrained(str(adapter_dir))
        model = model.merge_and_unload()
    model.save_pretrained(str(out))
    feature_extractor.save_pretrained(str(out))
    return adapter_dir
