"""Fine-tuning methods change exactly the parameters they should; checkpoints load, re-head and export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import HubertForSequenceClassification, HubertModel, Wav2Vec2FeatureExtractor

from hf_ser.data.transforms import AudioCollator
from hf_ser.labels import EMOTIONS
from hf_ser.modeling.loading import (
    TINY_HUBERT,
    ModelLoadError,
    apply_method,
    count_parameters,
    export_model,
    load_backbone,
    tiny_hubert_config,
)

SMALL = dict(hidden_size=32, num_layers=2)


def _batch(fe, n=4, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=int(rng.integers(6000, 12000))).astype(np.float32) * 0.1 for _ in range(n)]
    return AudioCollator(fe)([{"input_values": a, "labels": i % 8} for i, a in enumerate(arrays)])


def _train_steps(model, batch, steps=3):
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(steps):
        model(**batch).loss.backward()
        opt.step()
        opt.zero_grad()


def _changed(before: dict, model) -> set[str]:
    after = {k: v for k, v in model.state_dict().items()}
    return {k for k in before if k in after and not torch.equal(before[k], after[k])}


def _fresh(method):
    torch.manual_seed(0)
    model, fe = load_backbone(TINY_HUBERT, tiny_hidden_size=32, tiny_num_layers=2)
    return apply_method(model, method, lora_r=4, lora_alpha=8), fe


def test_full_fine_tuning_changes_every_used_parameter():
    model, fe = _fresh("none")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _train_steps(model, _batch(fe))
    unchanged = set(before) - _changed(before, model)
    # masked_spec_embed only receives gradient on steps where SpecAugment masks a frame.
    assert unchanged <= {"hubert.masked_spec_embed"}, unchanged
    assert count_parameters(model)["trainable"] == count_parameters(model)["total"]


def test_classifier_only_changes_the_head_and_runs_no_backward_through_the_backbone():
    model, fe = _fresh("classifier")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = _batch(fe)
    _train_steps(model, batch)
    assert _changed(before, model) == {"projector.weight", "projector.bias", "classifier.weight", "classifier.bias"}
    model.train()
    hidden = model.hubert(batch["input_values"], attention_mask=batch["attention_mask"]).last_hidden_state
    assert not hidden.requires_grad  # no autograd graph through the backbone
    # HF's freeze_base_model() alone freezes the weights but still records the graph (and back-propagates):
    plain, _ = load_backbone(TINY_HUBERT, **{f"tiny_{k}": v for k, v in SMALL.items()})
    plain.freeze_base_model()
    plain.train()
    assert plain.hubert(batch["input_values"], attention_mask=batch["attention_mask"]).last_hidden_state.requires_grad


@pytest.mark.parametrize("method", ["qkv", "all-linear"])
def test_lora_changes_only_adapters_and_head(method):
    model, fe = _fresh(method)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _train_steps(model, _batch(fe))
    changed = _changed(before, model)
    lora = {k for k in changed if ".lora_A." in k or ".lora_B." in k}
    head = {k for k in changed if ".modules_to_save." in k}
    assert changed == lora | head
    targets = {"qkv": {"q_proj", "k_proj", "v_proj"}, "all-linear": {"q_proj", "k_proj", "v_proj", "out_proj",
                                                                      "intermediate_dense", "output_dense"}}[method]  # fmt: skip
    assert {k.split(".lora_")[0].split(".")[-1] for k in lora} == targets
    assert len({k.split(".layers.")[1].split(".")[0] for k in lora if ".layers." in k}) == 2  # every layer
    assert {k.split(".modules_to_save.")[0].split(".")[-1] for k in head} == {"projector", "classifier"}
    base = [k for k in before if k not in changed and "lora_" not in k]
    assert any("q_proj.base_layer.weight" in k for k in base)  # the pretrained q/k/v stay as they were
    params = count_parameters(model)
    assert 0 < params["trainable"] < params["total"] / 4


def test_local_four_label_checkpoint_gets_an_eight_label_head(tmp_path):
    cfg = tiny_hubert_config(
        hidden_size=32,
        num_layers=2,
        num_labels=4,
        id2label={0: "neu", 1: "hap", 2: "ang", 3: "sad"},
        label2id={"neu": 0, "hap": 1, "ang": 2, "sad": 3},
        do_stable_layer_norm=True,
        feat_extract_norm="layer",
    )  # superb-er's (large) shape
    torch.manual_seed(1)
    src = HubertForSequenceClassification(cfg)
    src.save_pretrained(tmp_path / "superb-like")
    Wav2Vec2FeatureExtractor(return_attention_mask=True, do_normalize=True).save_pretrained(tmp_path / "superb-like")
    model, fe = load_backbone(str(tmp_path / "superb-like"))
    assert model.config.num_labels == 8 and [model.config.id2label[i] for i in range(8)] == list(EMOTIONS)
    assert model.classifier.weight.shape == (8, cfg.classifier_proj_size)
    torch.testing.assert_close(model.hubert.encoder.layers[0].attention.q_proj.weight,
                               src.hubert.encoder.layers[0].attention.q_proj.weight)  # fmt: skip
    torch.testing.assert_close(model.projector.weight, src.projector.weight)  # same shape: kept
    assert fe.return_attention_mask


def test_headless_base_checkpoint_loads_with_a_new_head(tmp_path):
    HubertModel(tiny_hubert_config(**SMALL)).save_pretrained(tmp_path / "ll60k-like")
    Wav2Vec2FeatureExtractor().save_pretrained(tmp_path / "ll60k-like")
    model, _ = load_backbone(str(tmp_path / "ll60k-like"))
    assert isinstance(model, HubertForSequenceClassification) and model.config.num_labels == 8


def test_offline_hub_id_and_bad_paths_fail_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="hf download superb/hubert-large-superb-er"):
        load_backbone("superb/hubert-large-superb-er")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="not a transformers checkpoint"):
        load_backbone(str(tmp_path / "empty"))
    with pytest.raises(ModelLoadError, match="no such folder"):
        load_backbone("./no/such/dir/here")
    with pytest.raises(ValueError, match="--peft 'prefix'"):
        apply_method(HubertForSequenceClassification(tiny_hubert_config(**SMALL)), "prefix")


def test_exported_lora_model_is_merged_and_pipeline_loadable(tmp_path):
    from transformers import pipeline

    model, fe = _fresh("qkv")
    batch = _batch(fe)
    _train_steps(model, batch)
    model.eval()
    with torch.no_grad():
        expected = model(**batch).logits
    export_model(model, fe, tmp_path / "run")
    adapter = tmp_path / "run" / "adapter"
    assert (adapter / "adapter_config.json").is_file() and (adapter / "adapter_model.safetensors").is_file()
    assert (tmp_path / "run" / "preprocessor_config.json").is_file() and (
        adapter / "preprocessor_config.json"
    ).is_file()
    assert (
        "neither a Hub id nor a folder here" in (adapter / "README.md").read_text()
    )  # built in code: the card says so
    merged = HubertForSequenceClassification.from_pretrained(tmp_path / "run").eval()
    assert not any("lora" in k for k in merged.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(merged(**batch).logits, expected, atol=1e-4, rtol=1e-4)
    clf = pipeline("audio-classification", model=str(tmp_path / "run"))
    out = clf(np.random.default_rng(0).normal(size=16000).astype(np.float32) * 0.1, top_k=8)
    assert sorted(o["label"] for o in out) == sorted(EMOTIONS)
    assert sum(o["score"] for o in out) == pytest.approx(1.0, abs=1e-4)
