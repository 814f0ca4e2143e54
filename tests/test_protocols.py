"""Every protocol's invariants on the demo dataset (speakers, corpora, folds), through the plain load_dataset."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from hf_ser.data.protocols import speaker_folds


@pytest.fixture(scope="module")
def configs(demo_dataset):
    from huggingface_hub import DatasetCard

    data = DatasetCard.load(demo_dataset / "README.md").data.to_dict()
    return [c["config_name"] for c in data["configs"]]


def _load(demo_dataset, name):
    from datasets import load_dataset

    dd = load_dataset(str(demo_dataset), name)
    names = dd["train"].features["corpus"].names
    return {s: {"speaker": d["speaker"], "corpus": [names[c] for c in d["corpus"]], "file": d["file"]}
            for s, d in dd.items()}  # fmt: skip


def _keys(split):
    return set(zip(split["corpus"], split["file"], strict=True))


def test_the_build_writes_every_protocol(configs):
    assert {"random", "speaker", "ravdess", "crema_d", "tess", "savee", "loco_ravdess", "loco_crema_d", "loco_tess",
            "loco_savee", *[f"speaker_fold{k}" for k in range(5)]} <= set(configs)  # fmt: skip


@pytest.mark.parametrize("corpus", ["ravdess", "crema_d", "tess", "savee"])
def test_per_corpus_and_leave_one_corpus_out(demo_dataset, corpus):
    every = _load(demo_dataset, "random")
    all_of_corpus = {k for s in every.values() for k in _keys(s) if k[0] == corpus}
    one = _load(demo_dataset, corpus)
    assert all(set(s["corpus"]) == {corpus} for s in one.values())
    assert set().union(*(_keys(s) for s in one.values())) == all_of_corpus
    if corpus in ("ravdess", "crema_d"):  # enough speakers: speaker-disjoint
        spk = {name: set(s["speaker"]) for name, s in one.items()}
        assert not (spk["train"] & spk["test"] or spk["train"] & spk["validation"] or spk["validation"] & spk["test"])
    loco = _load(demo_dataset, f"loco_{corpus}")
    assert _keys(loco["test"]) == all_of_corpus
    assert corpus not in set(loco["train"]["corpus"]) | set(loco["validation"]["corpus"])
    assert not set(loco["train"]["speaker"]) & set(loco["validation"]["speaker"])


def test_speaker_folds_cover_every_speaker_once_and_balance_corpus_and_gender(demo_dataset):
    every = _load(demo_dataset, "random")
    speakers = {spk for s in every.values() for spk in s["speaker"]}
    test_of = {}
    for k in range(5):
        fold = _load(demo_dataset, f"speaker_fold{k}")
        spk = {name: set(s["speaker"]) for name, s in fold.items()}
        assert not (spk["train"] & spk["test"] or spk["train"] & spk["validation"] or spk["validation"] & spk["test"])
        assert spk["validation"] == set(_load(demo_dataset, f"speaker_fold{(k + 1) % 5}")["test"]["speaker"])
        for s in spk["test"]:
            assert s not in test_of, f"{s} in two test folds"
            test_of[s] = k
        assert sum(len(s["file"]) for s in fold.values()) == sum(len(s["file"]) for s in every.values())
    assert set(test_of) == speakers


def test_fold_assignment_balances_groups():
    rng = np.random.default_rng(0)
    speakers, groups = [], []
    for corpus, n_spk in (("crema_d", 40), ("ravdess", 24), ("savee", 4), ("tess", 2)):
        for s in range(n_spk):
            n = int(rng.integers(20, 60))
            speakers += [f"{corpus}_{s}"] * n
            groups += [f"{corpus}|{'female' if s % 2 else 'male'}"] * n
    folds = speaker_folds(speakers, groups, 5, seed=1)
    assert folds == speaker_folds(speakers, groups, 5, seed=1)
    per_speaker = {}
    for spk, f in zip(speakers, folds, strict=True):
        assert per_speaker.setdefault(spk, f) == f  # a speaker's clips all in one fold
    for grp in set(groups):
        counts = Counter(f for f, g in zip(folds, groups, strict=True) if g == grp)
        n_spk = len({s for s, g in zip(speakers, groups, strict=True) if g == grp})
        if n_spk >= 5:  # every fold gets this corpus x gender, and none more than ~1.6x another
            assert len(counts) == 5 and max(counts.values()) / min(counts.values()) < 1.6, (grp, counts)
    sizes = Counter(folds)
    assert max(sizes.values()) / min(sizes.values()) < 1.2


def test_recipe_protocol_names_are_checked_before_loading(tmp_path, capsys):
    from conftest import load_script

    code = load_script("recipes/train.py").main(["--dataset", str(tmp_path), "--output_dir", str(tmp_path / "o"),
                                                 "--protocol", "speaker_foldx"])  # fmt: skip
    assert code == 2 and "--protocol speaker_foldx: one of auto, default, random, speaker" in capsys.readouterr().err
