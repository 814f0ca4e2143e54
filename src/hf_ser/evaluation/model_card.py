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
_METRICS = {"accuracy": "Accuracy", "f1_macro": "F1 (macro)", "uar": "UAR", "eer": "EER"}


def render_model_card(results: dict, *, template: str | None = None):
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    from hf_ser.hub import looks_like_hub_id

    path = Path(template) if template else DEFAULT_TEMPLATE
    if not path.is_file():
        raise FileNotFoundError(f"model card template not found: {path} (pass --model_card_template)")
    test, val = results["test"], results["validation"]
    name = Path(results["output_dir"]).name
    dataset_name = Path(results["dataset"]).name
    eval_results = [
        EvalResult(
            task_type="audio-classification",
            dataset_type=results["dataset"],
            dataset_name=dataset_name,
            dataset_config=results["protocol"],
            dataset_split="test",
            metric_type=key,
            metric_name=label,
            metric_value=round(float(test[key]), 4),
        )
        for key, label in _METRICS.items()
    ]
    base = results["model"]
    card_data = ModelCardData(
        model_name=name,
        eval_results=eval_results,
        library_name="transformers",
        pipeline_tag="audio-classification",
        license="other",
        language=["en"],
        tags=["audio-classification", "speech-emotion-recognition", "hf-ser", results["method"]],
        base_model=base if base != TINY_HUBERT and looks_like_hub_id(base) and base.count("/") == 1 else None,
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
