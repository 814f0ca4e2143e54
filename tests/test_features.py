"""Classifier-only on cached features: the cached path equals the full model, the cache is keyed by weights and data,
and the exported folder is an ordinary checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import NO_EVAL, load_script, train_run

from hf_ser.labels import EMOTIONS
from hf_ser.modeling.loading import TINY_HUBERT, apply_method, load_backbone
from hf_ser.training.features import FeatureSpec, cached_features, model_fingerprint, pooled_hidden_states


def _model(weighted: bool, seed=0):
    model, fe = load_backbone(TINY_HUBERT, tiny_hidden_size=32, tiny_num_layers=2, seed=seed)
    model.config.use_weighted_layer_sum = weighted
    if weighted:
        model.layer_weights = torch.nn.Parameter(torch.randn(model.config.num_hidden_layers + 1))
    return apply_method(model, "classifier").eval(), fe


@pytest.mark.parametrize("weighted", [False, True])
def test_head_on_pooled_features_equals_the_full_model(weighted):
    from hf_ser.inference.forward import forward_arrays
    from hf_ser.training.cached_head import CachedHead

    model, fe = _model(weighted)
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=n).astype(np.float32) * 0.1 for n in (9000, 9000, 12000, 16000)]
    feats = pooled_hidden_states(model, fe, arrays, all_layers=weighted, device=torch.device("cpu"))
    head = CachedHead(model).eval()
    with torch.no_grad():
        cached = head(torch.from_numpy(feats)).logits.numpy()
    np.testing.assert_allclose(cached, forward_arrays(model, fe, arrays), atol=1e-5)


def test_cache_is_keyed_by_weights_and_data_and_reused(demo_dataset, tmp_path, monkeypatch):
    import hf_ser.training.features as features
    from hf_ser.data.layout import load_eight_emotions

    split = load_eight_emotions(str(demo_dataset), "speaker")["validation"]
    model, fe = _model(False)
    spec = FeatureSpec(views=1)
    cpu = torch.device("cpu")
    first = cached_features(model, fe, split, spec, device=cpu, cache_dir=tmp_path)
    assert first.shape == (1, len(split), 32) and len(list(tmp_path.glob("*.npy"))) == 1

    def no_backbone(*a, **k):
        raise AssertionError("the backbone ran although the features were cached")

    monkeypatch.setattr(features, "pooled_hidden_states", no_backbone)
    np.testing.assert_array_equal(cached_features(model, fe, split, spec, device=cpu, cache_dir=tmp_path), first)
    monkeypatch.undo()
    # other weights, other rows, another spec: each a new entry, never the old features
    other, _ = _model(False, seed=1)
    assert model_fingerprint(other) != model_fingerprint(model)
    cached_features(other, fe, split, spec, device=cpu, cache_dir=tmp_path)
    cached_features(model, fe, split.select(range(5)), spec, device=cpu, cache_dir=tmp_path)
    cached_features(
        model,
        fe,
        split,
        FeatureSpec(views=2, max_duration=1.0, augment=(("noise_p", 1.0),)),
        device=cpu,
        cache_dir=tmp_path,
    )
    assert len(list(tmp_path.glob("*.npy"))) == 4


def test_cached_classifier_run_exports_a_checkpoint_whose_pipeline_matches(demo_dataset, tmp_path, monkeypatch):
    from transformers import AutoModelForAudioClassification, pipeline

    from hf_ser.data.layout import load_eight_emotions
    from hf_ser.data.transforms import clip_samples
    from hf_ser.training.cached_head import CachedHead

    monkeypatch.setenv("HF_SER_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert train_run(demo_dataset, out, "--peft", "classifier", "--num_train_epochs", "3", "--learning_rate", "1e-2",
                     *NO_EVAL) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    assert results["feature_extraction_s"] > 0 and list((tmp_path / "cache" / "features").glob("train-*.npy"))
    # only the head changed: the exported backbone is the untrained tiny backbone of the same seed
    fresh, _ = load_backbone(TINY_HUBERT, tiny_hidden_size=32, tiny_num_layers=2, seed=42)
    saved = AutoModelForAudioClassification.from_pretrained(out)
    same = {k for k, v in fresh.state_dict().items() if torch.equal(v, saved.state_dict()[k])}
    assert {k for k in fresh.state_dict() if k.startswith("hubert.")} <= same
    assert not {"classifier.weight", "projector.weight"} & same
    # pipeline() on the exported folder gives what the cached head gives on the cached features
    test = load_eight_emotions(str(demo_dataset), "speaker")["test"].select(range(6))
    arrays = [clip_samples(r["audio"]) for r in test]
    feats = pooled_hidden_states(saved.eval(), _fe(out), arrays, all_layers=False, device=torch.device("cpu"))
    with torch.no_grad():
        cached = torch.softmax(CachedHead(saved).eval()(torch.from_numpy(feats)).logits, -1).numpy()
    clf = pipeline("audio-classification", model=str(out))
    for a, p in zip(arrays, cached, strict=True):
        got = {d["label"]: d["score"] for d in clf(a, top_k=8)}
        np.testing.assert_allclose([got[e] for e in EMOTIONS], p, atol=1e-4)


def _fe(path):
    from transformers import AutoFeatureExtractor

    return AutoFeatureExtractor.from_pretrained(path)


def test_augmentation_with_one_cached_view_is_refused(tmp_path, capsys):
    code = load_script("recipes/train.py").main(
        ["--dataset", str(tmp_path), "--output_dir", str(tmp_path / "o"), "--peft", "classifier", "--noise_p", "0.3"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--feature_views K" in err and "--cache_features false" in err
