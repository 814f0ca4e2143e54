"""Checkpoints, shared by training, scoring and inference: loading a backbone or a classifier (Hub id, folder,
tiny in-code HuBERT) with one-line errors, the fine-tuning methods, and what differs per architecture."""

from hf_ser._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "hf_ser.modeling.loading": (
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
        ),  # fmt: skip
        "hf_ser.modeling.architectures": ("ArchitectureError",),
    },
)
