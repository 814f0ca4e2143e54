"""The label layer: the alias table on the spellings in the wild, presets and user maps, and a pretrained head fitted
to another label set (synonym rows kept bit for bit, the rest fresh, LABEL_n re-initialised unless named)."""

from __future__ import annotations

import json
import logging

import pytest
import torch
from tiny_checkpoints import CHECKPOINTS

from hf_ser.labels import (
    CANONICAL_EMOTIONS,
    EMOTIONS,
    LabelMapError,
    canonical_emotion,
    is_generic_label,
    label_set,
    parse_label_map,
)
from hf_ser.modeling.heads import checkpoint_head, fit_head
from hf_ser.modeling.loading import load_backbone

CASES = {c.id: c for c in CHECKPOINTS}

SPELLINGS = {
    "neutral": ["neu", "neutral", "Neutral", "NEUTRALITY", " neu "],
    "happy": ["hap", "happiness", "joy", "Happy", "<|HAPPY|>"],
    "angry": ["ang", "anger", "angry", "ANGRY", "生气/angry"],
    "sad": ["sad", "sadness", "难过/sad"],
    "fear": ["fea", "fearful", "Fear", "恐惧/fearful"],
    "disgust": ["dis", "disgusted", "disgust"],
    "surprise": ["sur", "surprised", "suprised", "ps", "pleasant_surprise", "Pleasant Surprise", "pleasant-surprise"],
    "calm": ["cal", "calm"],
    "contempt": ["con", "contempt"],
    "boredom": ["bor", "boredom"],
    "excited": ["exc", "excited"],
    "frustrated": ["fru", "frustrated"],
    "other": ["oth", "other", "<|OTHER|>"],
    "unknown": ["unk", "<unk>"],
}


@pytest.mark.parametrize("canonical", sorted(SPELLINGS))
def test_every_spelling_in_the_wild_maps_to_its_emotion(canonical):
    assert canonical in CANONICAL_EMOTIONS
    for spelling in SPELLINGS[canonical]:
        assert canonical_emotion(spelling) == canonical, spelling


@pytest.mark.parametrize("name", ["cough", "LABEL_3", "happy/sad", "", "enthusiasm"])
def test_an_unknown_or_ambiguous_name_is_not_guessed(name):
    assert canonical_emotion(name) is None
    ls = label_set(["neu", name] if name else ["neu"])
    if name:
        assert ls.unknown == (name,) and ls.canonical == ("neutral", name)  # kept as itself, reported


def test_generic_labels_are_recognised_and_a_map_names_them():
    assert is_generic_label("LABEL_0") and is_generic_label("label7") and not is_generic_label("labels")
    assert label_set({0: "LABEL_0", 1: "LABEL_1"}).generic
    named = label_set({"1": "LABEL_1", "0": "LABEL_0"}, parse_label_map("LABEL_0=neu,LABEL_1=happiness"))
    assert named.names == ("LABEL_0", "LABEL_1") and named.canonical == ("neutral", "happy") and not named.generic


def test_presets_merge_many_to_one_and_duplicates_are_named():
    ls = label_set(["neu", "hap", "exc", "ang", "sad", "fru"], parse_label_map("iemocap4"))
    assert ls.canonical == ("neutral", "happy", "happy", "angry", "sad", "frustrated")
    assert ls.duplicates == {"happy": ["hap", "exc"]}
    assert ls.mapped == (("exc", "happy"),)
    assert label_set(list(EMOTIONS), parse_label_map("no_calm")).index()["neutral"] == [1, 5]


def test_a_user_map_from_flags_and_files(tmp_path):
    assert parse_label_map("iemocap4, fru=other") == {"excited": "happy", "fru": "other"}
    assert parse_label_map(["calm=neutral", "ps=surprise"]) == {"calm": "neutral", "ps": "surprise"}
    (tmp_path / "m.yaml").write_text("excited: happy\nLABEL_0: neutral\n")
    (tmp_path / "m.json").write_text(json.dumps({"contempt": "other"}))
    assert parse_label_map(f"{tmp_path / 'm.yaml'},{tmp_path / 'm.json'}") == {
        "excited": "happy", "LABEL_0": "neutral", "contempt": "other"}  # fmt: skip
    assert parse_label_map(None) == {} and parse_label_map("") == {}


@pytest.mark.parametrize(
    ("spec", "match"),
    [("iemocap5", r"'iemocap5' is neither a preset \(iemocap4, no_calm\)"), ("a=", r"'a=' is not a name=target"),
     ("=b", "is not a name=target")],
)  # fmt: skip
def test_a_bad_label_map_is_one_clear_error(spec, match):
    with pytest.raises(LabelMapError, match=match):
        parse_label_map(spec)


def test_a_bad_map_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(LabelMapError, match=r"bad.yaml: expected a mapping"):
        parse_label_map(str(bad))


# --- a pretrained head fitted to the target label set -----------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("heads")
    return {cid: CASES[cid].build(root / cid) for cid in
            ("wav2vec2-lg-xlsr-en-speech-emotion-recognition", "hubert-large-superb-er", "hubert-large-ll60k")}  # fmt: skip


def _cos(a, b):
    return torch.nn.functional.cosine_similarity(a.flatten().double(), b.flatten().double(), dim=0).item()


def test_ehcalabres_keeps_every_row_under_its_canonical_name(saved, caplog):
    folder = saved["wav2vec2-lg-xlsr-en-speech-emotion-recognition"]
    old_w, old_b = checkpoint_head(str(folder))
    old = list(CASES["wav2vec2-lg-xlsr-en-speech-emotion-recognition"].labels)
    with caplog.at_level(logging.INFO, logger="hf_ser.modeling.loading"):
        model, _ = load_backbone(str(folder))
    assert [model.config.id2label[i] for i in range(8)] == list(EMOTIONS)
    w = model.classifier.weight.detach()
    for i, emotion in enumerate(EMOTIONS):
        j = old.index({"fear": "fearful", "surprise": "surprised"}.get(emotion, emotion))
        assert _cos(w[i], old_w[j]) == pytest.approx(1.0, abs=1e-12) and torch.equal(w[i], old_w[j])
        assert model.classifier.bias[i].item() == old_b[j].item()
    assert "kept 8 trained head rows" in caplog.text and "fearful -> fear" in caplog.text
    assert "surprised -> surprise" in caplog.text


def test_superb_keeps_its_four_rows_and_starts_four_fresh(saved, caplog):
    folder = saved["hubert-large-superb-er"]
    old_w, _ = checkpoint_head(str(folder))  # 4 x 16: from_pretrained replaces this head (8 x 16)
    with caplog.at_level(logging.INFO, logger="hf_ser.modeling.loading"):
        model, _ = load_backbone(str(folder))
    w = model.classifier.weight.detach()
    for new, old in (("neutral", 0), ("happy", 1), ("angry", 2), ("sad", 3)):
        assert torch.equal(w[EMOTIONS.index(new)], old_w[old])
    fresh = [EMOTIONS.index(e) for e in ("calm", "disgust", "fear", "surprise")]
    assert all(max(abs(_cos(w[i], old_w[j])) for j in range(4)) < 0.9 for i in fresh)
    assert "kept 4 trained head rows (ang -> angry, hap -> happy, neu -> neutral, sad)" in caplog.text
    assert "new rows for calm, disgust, fear, surprise" in caplog.text
    again, _ = load_backbone(str(folder))
    assert torch.equal(again.classifier.weight, model.classifier.weight)  # the fresh rows are seeded


def test_a_target_label_set_of_the_dataset_gets_its_own_head(saved):
    model, _ = load_backbone(str(saved["hubert-large-superb-er"]), labels=["happiness", "sadness", "boredom"])
    assert model.config.id2label == {0: "happiness", 1: "sadness", 2: "boredom"}
    old_w, _ = checkpoint_head(str(saved["hubert-large-superb-er"]))
    assert torch.equal(model.classifier.weight[0], old_w[1]) and torch.equal(model.classifier.weight[1], old_w[3])


def test_generic_labels_are_reinitialised_unless_the_map_names_them(tmp_path, caplog):
    import dataclasses

    generic = dataclasses.replace(CASES["wav2vec2-lg-xlsr-en-speech-emotion-recognition"],
                                  labels=tuple(f"LABEL_{i}" for i in range(8)))  # fmt: skip
    folder = generic.build(tmp_path / "generic")
    old_w, _ = checkpoint_head(str(folder))
    with caplog.at_level(logging.INFO, logger="hf_ser.modeling.loading"):
        model, _ = load_backbone(str(folder))  # same shape: transformers alone would keep these meaningless rows
    assert not any(torch.equal(model.classifier.weight[i], old_w[i]) for i in range(8))
    assert "head re-initialised for 8 labels (its labels are generic LABEL_n names" in caplog.text
    named = ",".join(f"LABEL_{i}={e}" for i, e in enumerate(reversed(EMOTIONS)))
    model, _ = load_backbone(str(folder), label_map=parse_label_map(named))
    assert all(torch.equal(model.classifier.weight[i], old_w[7 - i]) for i in range(8))


def test_a_headless_backbone_gets_a_fresh_seeded_head_and_no_fitting(saved, caplog):
    with caplog.at_level(logging.INFO, logger="hf_ser.modeling.loading"):
        a, _ = load_backbone(str(saved["hubert-large-ll60k"]), seed=3)
    b, _ = load_backbone(str(saved["hubert-large-ll60k"]), seed=3)
    assert checkpoint_head(str(saved["hubert-large-ll60k"])) is None
    assert torch.equal(a.classifier.weight, b.classifier.weight) and "head rows" not in caplog.text


def test_fit_head_refuses_a_saved_head_of_another_width():
    head = torch.nn.Linear(4, 2)
    fit = fit_head(head, ["neu", "hap"], ["neutral", "happy"], (torch.ones(2, 5), None))
    assert not fit.kept and "not 2 labels x 4" in fit.reason


def test_ambiguous_old_rows_are_not_picked_between():
    head = torch.nn.Linear(3, 1)
    old = torch.arange(6.0).reshape(2, 3)
    fit = fit_head(head, ["hap", "exc"], ["happy"], (old, torch.zeros(2)), label_map={"exc": "happy"})
    assert fit.kept == () and fit.new == ("happy",) and fit.dropped == ("hap", "exc")


def test_a_map_merges_only_what_it_names():
    from hf_ser.labels import merged_labels

    assert merged_labels(EMOTIONS, parse_label_map("no_calm"))[0] == [e for e in EMOTIONS if e != "calm"]
    # synonyms the map does not name stay classes of their own
    assert merged_labels(["happy", "joy", "sad"], parse_label_map("sad=sadness")) == (
        ["happy", "joy", "sad"], {"happy": "happy", "joy": "joy", "sad": "sad"})  # fmt: skip
    names, to = merged_labels(["neu", "hap", "exc", "fru", "ang"], parse_label_map("iemocap4,fru=Other Stuff"))
    assert names == ["neu", "hap", "Other Stuff", "ang"] and to["exc"] == "hap"
    assert merged_labels(["LABEL_0", "LABEL_1"], parse_label_map("LABEL_0=neu,LABEL_1=happiness"))[0] == [
        "neutral", "happy"]  # fmt: skip
