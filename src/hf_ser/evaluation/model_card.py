"""Model card of a run (README.md), rendered from the repository's model_card.md with huggingface_hub.ModelCard."""

from __future__ import annotations

from pathlib import Path

import yaml

from hf_ser.evaluation.reporting import confusion_markdown
from hf_ser.labels import CORPUS_LICENSES, EMOTIONS
from hf_ser.modeling.loading import TINY_HUBERT

__all__ = ["DEFAULT_TEMPLATE", "render_model_card"]

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[3] / "model_card.md"
METHOD_LONG = {
    "none": "full fine-tuning",
    "qkv": "LoRA on the attention q/k/v projections (head trained)",
    "classifier": "classifier-only training (backbone frozen)",
    "all-linear": "LoRA on every encoder linear layer (head trained)",
}
# results key -> (Hub metric id, its args, display name): standard ids where one exists (UAR is macro recall);
# EER has none, and is the id of hf-ser's evaluate module
_METRICS = {
    "accuracy": ("accuracy", None, "Accuracy"),
    "f1_macro": ("f1", {"average": "macro"}, "F1 (macro)"),
    "uar": ("recall", {"average": "macro"}, "UAR (macro recall)"),
    "eer": ("eer", {"average": "macro"}, "EER (mean one-vs-rest)"),
}
METHOD_TAGS = {"none": "full-fine-tuning", "qkv": "lora", "all-linear": "lora", "classifier": "classifier-only"}


def _dataset_meta(results: dict) -> tuple[str | None, str, list | None]:
    """(Hub dataset id or None, the model-index ``dataset.type``, the languages) of a run's data: a Hub id as
    given; a local folder is named, not pathed, and its card's ``language`` is taken."""
    from huggingface_hub import DatasetCard

    from hf_ser.hub import looks_like_hub_id

    dataset = str(results["dataset"])
    hub_id = dataset if looks_like_hub_id(dataset) and dataset.count("/") == 1 else None
    prepared = Path(str((results.get("data") or {}).get("prepared") or dataset))
    language = None
    if (prepared / "README.md").is_file():
        language = DatasetCard.load(prepared / "README.md").data.to_dict().get("language")
    return hub_id, hub_id or Path(dataset).name, language


def _padding_sensitive(output_dir: str) -> bool:
    """True when zero padding in a batch changes the other clips' logits: a group-norm conv encoder (hubert-base,
    wav2vec2-base) normalises over the whole padded input, attention mask or not, and a model given no mask
    attends to the padding."""
    import json

    folder = Path(output_dir)
    config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
    fe = folder / "preprocessor_config.json"
    no_mask = fe.is_file() and not json.loads(fe.read_text()).get("return_attention_mask", False)
    return config.get("feat_extract_norm") == "group" or no_mask


def render_model_card(results: dict, *, template: str | None = None):
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    from hf_ser.modeling.adapters import base_origin

    path = Path(template) if template else DEFAULT_TEMPLATE
    if not path.is_file():
        raise FileNotFoundError(f"model card template not found: {path} (pass --model_card_template)")
    test, val = results["test"], results["validation"]
    name = Path(results["output_dir"]).name
    dataset_id, dataset_type, language = _dataset_meta(results)
    eval_results = [
        EvalResult(
            task_type="audio-classification",
            task_name="Speech emotion recognition",
            dataset_type=dataset_type,
            dataset_name=Path(results["dataset"]).name,
            dataset_config=results["protocol"],
            dataset_split="test",
            metric_type=metric,
            metric_args=args,
            metric_name=label,
            metric_value=round(float(test[key]), 4),
        )
        for key, (metric, args, label) in _METRICS.items()
    ]
    base = results["model"]
    origin = base_origin(base) if base != TINY_HUBERT else None
    card_data = ModelCardData(
        model_name=name,
        eval_results=eval_results,
        library_name="transformers",
        pipeline_tag="audio-classification",
        license="other",
        language=language,
        datasets=[dataset_id] if dataset_id else None,
        tags=[
            "audio-classification",
            "speech-emotion-recognition",
            "hf-ser",
            METHOD_TAGS.get(results["method"], results["method"]),
        ],  # fmt: skip
        base_model=origin.hub_id if origin else None,
    )
    training_cfg = results["config"]["training"]
    per_corpus = ", ".join(f"{k} {100 * v:.1f}%" for k, v in (test.get("per_corpus_accuracy") or {}).items())
    intervals = test.get("intervals") or {}

    def fmt(iv):
        return f"[{iv[0]:.4f}, {iv[1]:.4f}]" if iv and None not in iv else "n/a"

    ci = {k: {"clips": fmt((intervals.get("clips") or {}).get(k)), "speakers": fmt((intervals.get("speakers") or {}).get(k))}
          for k in ("accuracy", "f1_macro", "uar", "eer")}  # fmt: skip
    labels = list(results.get("labels") or EMOTIONS)
    return ModelCard.from_template(
        card_data,
        template_path=str(path),
        model_name=name,
        emotions=labels,
        paper_comparable=labels == list(EMOTIONS) and results["protocol"] == "random",
        base_model=base,
        padding_sensitive=_padding_sensitive(results["output_dir"]),
        method_long=METHOD_LONG.get(results["method"], results["method"]),
        protocol=results["protocol"],
        dataset=results["dataset"],
        load_path=results["output_dir"],
        test=test,
        ci=ci,
        validation=val,
        per_corpus=per_corpus,
        confusion_table=confusion_markdown(test["confusion_matrix_percent"], labels),
        params=results["params"],
        train_steps=results["train_steps"],
        epochs=results["epochs"],
        train_runtime_s=results["train_runtime_s"],
        world_size=results["world_size"],
        metric_for_best_model=training_cfg.get("metric_for_best_model"),
        command=results.get("command") or "",
        config_yaml=yaml.safe_dump(
            {"model": results["config"]["model"], "data": results["config"]["data"]}, sort_keys=False
        ).strip(),
        versions=results["versions"],
        licences=[CORPUS_LICENSES[c] for c in CORPUS_LICENSES],
    )
