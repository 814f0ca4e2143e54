"""Self-supervised pretraining of the demo backbone: targets, masking, the objective, the recipe, and that no demo
speaker's voice is in the pretraining speech."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
import torch
from conftest import TINY, load_script
from transformers import HubertModel

from hf_ser.demo.synth import FEMALE_VARIANTS, MALE_VARIANTS, DemoConfig, _VoicePool
from hf_ser.demo.unlabelled import SENTENCES, UnlabelledConfig, check_disjoint_voices, synthesize_unlabelled_speech
from hf_ser.labels import EMOTIONS
from hf_ser.modeling.loading import _tiny_feature_extractor, tiny_hubert_config
from hf_ser.training.pretraining.masked_prediction import (
    HOP,
    Codebook,
    HubertForMaskedPrediction,
    MaskedPredictionCollator,
    fit_codebook,
    frame_count,
    masked_prediction_scores,
    mfcc_frames,
)

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
CONFIG = tiny_hubert_config(hidden_size=32, num_layers=2)


@pytest.mark.parametrize("samples", [400, 401, 719, 720, 16_000, 16_399, 48_000])
def test_mfcc_frames_line_up_with_the_conv_encoders_frames(samples):
    model = HubertModel(CONFIG)
    expected = int(model._get_feat_extract_output_lengths(torch.tensor(samples)))
    with torch.no_grad():
        produced = model.feature_extractor(torch.zeros(1, samples)).shape[-1]
    audio = np.random.default_rng(0).normal(size=samples).astype(np.float32)
    assert frame_count(samples, CONFIG) == expected == produced
    assert mfcc_frames(audio, CONFIG).shape == (expected, 39)
    assert frame_count(399, CONFIG) == 0 and mfcc_frames(audio[:399], CONFIG).shape == (0, 39)


def test_codebook_targets_are_the_nearest_centre_and_separate_distinct_sounds():
    rng = np.random.default_rng(0)
    sr = 16_000
    t = np.arange(sr) / sr
    tones = [(np.sin(2 * np.pi * f * t) * 0.5 + rng.normal(0, 0.02, sr)).astype(np.float32) for f in (200, 2500)]
    noise = rng.normal(0, 0.3, sr).astype(np.float32)
    feats = [mfcc_frames(a, CONFIG) for a in (*tones, noise)]
    book = fit_codebook(feats, num_clusters=3, seed=0)
    labels = [book.assign(f) for f in feats]
    # each sound is (almost) one cluster, and the three sounds get three different clusters
    majority = [np.bincount(lab).argmax() for lab in labels]
    assert len(set(majority)) == 3
    assert all((lab == m).mean() > 0.95 for lab, m in zip(labels, majority, strict=True))
    x = (feats[2] - book.mean) / book.std
    brute = np.linalg.norm(x[:, None] - book.centres[None], axis=-1).argmin(1)
    np.testing.assert_array_equal(labels[2], brute)
    with pytest.raises(ValueError, match="cannot make 500 clusters"):
        fit_codebook(feats, num_clusters=500)


def test_masks_are_hubert_spans_inside_each_clip_and_crops_keep_audio_and_targets_aligned():
    rng = np.random.default_rng(0)
    lengths = [48_000, 20_000, 9_000]
    examples = [{"audio": rng.normal(size=n).astype(np.float32),
                 "targets": np.arange(frame_count(n, CONFIG)).astype(np.int16) % 100} for n in lengths]  # fmt: skip
    collator = MaskedPredictionCollator(_tiny_feature_extractor(), CONFIG, max_frames=100, mask_length=10)
    batch = collator(examples)
    mask, labels = batch["mask_time_indices"], batch["labels"]
    assert batch["input_values"].shape[1] == 99 * HOP + 400  # cropped to exactly max_frames frames
    assert mask.shape == labels.shape == (3, 100)
    assert not (mask & (labels == -100)).any()  # never a padded frame
    for row, valid in zip(mask, (labels != -100).sum(1), strict=True):
        share = row[:valid].float().mean()
        assert 0.3 <= share <= 0.9, share  # mask_prob 0.8 of starts x 10-frame spans, overlapping
        runs = np.diff(np.flatnonzero(np.diff(np.r_[0, row.numpy().astype(int), 0])))[::2]
        assert (runs >= 10).all() or valid < 10  # spans, not scattered frames
    # a crop keeps consecutive targets: the cropped clip's targets are one slice of the original's
    first = labels[0].numpy()
    assert (np.diff(first) % 100 == 1).all()
    # fixed seed: the same masks and crops every call (validation); otherwise they vary
    fixed = [{**ex, "mask_seed": 7} for ex in examples]
    a, b = collator(fixed), collator(fixed)
    assert torch.equal(a["mask_time_indices"], b["mask_time_indices"]) and torch.equal(a["labels"], b["labels"])
    assert not torch.equal(collator(examples)["mask_time_indices"], collator(examples)["mask_time_indices"])


def test_a_few_steps_lower_the_masked_prediction_loss():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    sr = 16_000
    # two "phones" alternating at random: predictable from context, so masked prediction can be learnt
    clips = []
    for _ in range(12):
        segs = [np.sin(2 * np.pi * rng.choice([300, 1800]) * np.arange(1600) / sr) for _ in range(12)]
        clips.append((np.concatenate(segs) * 0.5).astype(np.float32))
    feats = [mfcc_frames(a, CONFIG) for a in clips]
    book = fit_codebook(feats, num_clusters=8, seed=0)
    data = [{"audio": a, "targets": book.assign(f), "mask_seed": 3} for a, f in zip(clips, feats, strict=True)]
    model = HubertForMaskedPrediction(CONFIG, num_clusters=8, proj_dim=16)
    collator = MaskedPredictionCollator(_tiny_feature_extractor(), CONFIG, max_frames=60)
    before = masked_prediction_scores(model, data, collator, batch_size=6)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    model.train()
    for _ in range(25):
        loss = model(**collator([{k: v for k, v in d.items() if k != "mask_seed"} for d in data])).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = masked_prediction_scores(model, data, collator, batch_size=6)
    assert after["loss"] < before["loss"] - 0.3, (before, after)
    assert after["masked_frames"] == before["masked_frames"] > 0  # the same fixed masks scored both times


def test_pretraining_voices_are_never_a_demo_speakers_voice(tmp_path):
    """Every demo speaker (all corpora, every split, any seed) draws an m1-m7/f1-f5 variant; pretraining never does."""
    demo_voices = set()
    for seed in range(5):
        pool = _VoicePool(DemoConfig(out="x").voices, np.random.default_rng(seed))
        for gender, n in (("male", 56), ("female", 40)):
            demo_voices |= {pool.take(gender)[0] for _ in range(n)}  # every voice the demo can give a speaker
    assert {v.split("+")[1] for v in demo_voices} == set(MALE_VARIANTS + FEMALE_VARIANTS)
    with pytest.raises(ValueError, match="m3 voice the demo corpora"):
        check_disjoint_voices(("adam", "m3"))
    with pytest.raises(ValueError, match="voice the demo corpora"):
        synthesize_unlabelled_speech(UnlabelledConfig(out=str(tmp_path / "x"), num_clips=2, variants=("f2",)))
    # no emotion word, and none of the demo corpora's texts
    words = {w.strip(".,'").lower() for s in SENTENCES for w in s.split()}
    assert not words & ({e.lower() for e in EMOTIONS} | {"anger", "angry", "fearful", "sadness", "disgusted"})
    from hf_ser.data.corpora.crema_d import SENTENCES as CREMA_SENTENCES
    from hf_ser.demo.synth import SAVEE_SENTENCES

    assert not set(SENTENCES) & (set(CREMA_SENTENCES.values()) | set(SAVEE_SENTENCES))


@needs_espeak
def test_the_synthesised_speech_lists_its_voices_and_none_is_a_demo_voice(tmp_path):
    summary = synthesize_unlabelled_speech(UnlabelledConfig(out=str(tmp_path / "speech"), num_clips=30, seed=1))
    assert summary["clips"] == 30 and summary["hours"] > 0
    with open(tmp_path / "speech" / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 30 and all((tmp_path / "speech" / r["file"]).is_file() for r in rows)
    assert not {r["voice"].split("+")[1] for r in rows} & set(MALE_VARIANTS + FEMALE_VARIANTS)
    with pytest.raises(FileExistsError, match="pass --overwrite"):
        synthesize_unlabelled_speech(UnlabelledConfig(out=str(tmp_path / "speech"), num_clips=2))


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make install installs it)")
    out = tmp_path_factory.mktemp("unlabelled") / "speech"
    synthesize_unlabelled_speech(UnlabelledConfig(out=str(out), num_clips=40, seed=0))
    return out


PRETRAIN_TINY = ["--tiny_hidden_size", "32", "--tiny_num_layers", "2", "--num_clusters", "20", "--proj_dim", "16",
                 "--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "8", "--learning_rate", "2e-3",
                 "--logging_steps", "2", "--max_duration", "2.0", "--dataloader_num_workers", "0",
                 "--validation_fraction", "0.2"]  # fmt: skip


@pytest.fixture(scope="module")
def backbone(speech, tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrained") / "backbone"
    rc = load_script("recipes/pretrain.py").main(
        ["--audio_dir", str(speech), "--output_dir", str(out), "--num_train_epochs", "4", *PRETRAIN_TINY]
    )
    assert rc == 0
    return out


def test_the_recipe_writes_a_from_pretrained_backbone_that_learnt(backbone):
    import json

    report = json.loads((backbone / "pretraining.json").read_text())
    v = report["validation_masked_prediction"]
    assert v["after"]["loss"] < v["before"]["loss"]
    assert report["corpus"]["clips"] == 40 and report["corpus"]["voices"] == 40
    assert report["train_steps"] == 16  # 32 train clips / 8 x 4 epochs
    assert not list(backbone.glob("checkpoint-*/model.safetensors")) or (backbone / "model.safetensors").is_file()
    model = HubertModel.from_pretrained(str(backbone))
    assert model.config.hidden_size == 32 and (backbone / "preprocessor_config.json").is_file()
    assert Codebook.load(backbone / "codebook.npz").centres.shape == (20, 39)


@pytest.mark.parametrize("method", ["none", "qkv", "all-linear", "classifier"])
def test_the_pretrained_backbone_fine_tunes_with_every_method(backbone, demo_dataset, tmp_path, method):
    import json

    from safetensors.torch import load_file

    out = tmp_path / method
    extra = [a for a in TINY if a not in ("hf-ser/tiny-hubert", "--model_name_or_path")]
    rc = load_script("recipes/train.py").main(
        ["--dataset", str(demo_dataset), "--protocol", "speaker", "--output_dir", str(out), *extra,
         "--model_name_or_path", str(backbone), "--peft", method, "--num_train_epochs", "1",
         "--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false"]
    )  # fmt: skip
    assert rc == 0
    results = json.loads((out / "results.json").read_text())
    assert results["model"] == str(backbone) and results["method"] == method
    pretrained, tuned = load_file(backbone / "model.safetensors"), load_file(out / "model.safetensors")
    key = "encoder.layers.0.feed_forward.intermediate_dense.weight"
    # the fine-tuned model starts from the pretrained weights: frozen ones are identical, trained ones close
    same = torch.equal(pretrained[key], tuned[f"hubert.{key}"])
    assert same == (method in ("qkv", "classifier"))
    assert torch.allclose(pretrained[key], tuned[f"hubert.{key}"], atol=0.05)


def test_pretraining_resumes_and_refuses_bad_input(speech, tmp_path, capsys):
    import json

    main = load_script("recipes/pretrain.py").main
    out = tmp_path / "bb"
    args = ["--audio_dir", str(speech), "--output_dir", str(out), *PRETRAIN_TINY, "--save_strategy", "steps",
            "--save_steps", "4", "--eval_strategy", "no"]  # fmt: skip
    assert main([*args, "--max_steps", "4"]) == 0
    assert main([*args, "--max_steps", "8"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main([*args, "--max_steps", "8", "--resume_from_checkpoint", "last"]) == 0
    report = json.loads((out / "pretraining.json").read_text())
    assert report["resumed_from"].endswith("checkpoint-4") and report["train_steps"] == 8
    (tmp_path / "empty").mkdir()
    for bad, message in (
        (["--audio_dir", str(tmp_path / "none")], "--audio_dir .*none: no such folder"),
        (["--audio_dir", str(tmp_path / "empty")], "--audio_dir .*empty: no audio files"),
        (["--audio_dir", str(speech), "--mask_prob", "0"], "--mask_prob 0.0: must be in"),
        (["--audio_dir", str(speech), "--num_clustres", "5"], "unknown flag"),
    ):
        assert main([*bad, "--output_dir", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert __import__("re").search(message, err), err
        assert "Traceback" not in err
