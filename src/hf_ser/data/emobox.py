"""EmoBox's fold rules, per corpus, as ``emobox_fold<k>`` configs (``--emobox-folds``): so a result on a build is
comparable with the EmoBox benchmark's.

EmoBox (``EmoBox/utils/preprocess_utils.py``, ``write_folds``) decides per corpus, from its speakers and labels:
- fewer than 4 speakers, or speakers whose per-emotion counts differ (most corpora): one fold, a stratified 25% of
  each emotion as test, speakers shared between train and test;
- 4-6 speakers with equal counts: leave one speaker out, one fold per speaker;
- more than 6 with equal counts: ``speakers // 4`` folds, speakers shuffled and dealt round-robin.
Its own folds where it defines them: IEMOCAP leaves one session out (5 folds), MSP-Podcast is Train / Development /
Test1, MELD train / dev / test; EmoDB's are the lists ``lists/cv_k_fold1-5`` of EmoBox's download, which the TU
Berlin release does not hold.

What cannot be the same: EmoBox samples in the order ``os.walk`` gives and shuffles without a seed, so its clips per
fold differ from run to run; here the order is sorted and the seed is the build's, so the folds are reproducible
and follow the same rule. EmoBox trains without a validation split; here the train clips that the build's random
split puts in validation validate (test is exactly the rule's test).

Each clip gets a role: ``""`` (in no fold config), ``"t"`` (train in every fold), ``"v"`` (validation in every fold),
``"f<j>"`` (test in fold j, train in the others; ``f0``: train in every fold).
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

__all__ = ["EmoBoxFolds", "emobox_folds", "emobox_names", "emobox_split"]

_NAME = re.compile(r"^(?:(?P<corpus>[a-z0-9_]+)_)?emobox_fold(?P<k>\d+)$")
NO_FOLDS = {
    "emodb": "EmoBox's EmoDB folds are the lists lists/cv_k_fold1-5 of its own download, not in the TU Berlin "
    "release; give EmoBox's fold folders with --dataset or --manifest to score on them",
}


@dataclass
class EmoBoxFolds:
    roles: list[str]  # per clip
    k: dict[str, int]  # corpus -> number of folds
    rule: dict[str, str] = field(default_factory=dict)  # corpus -> the rule that made them, for the card
    none: dict[str, str] = field(default_factory=dict)  # corpus -> why it has no EmoBox folds


def _extra(row: dict, name: str) -> str | None:
    return dict(row.get("extra") or ()).get(name)


def emobox_folds(rows: list[dict], *, seed: int) -> EmoBoxFolds:
    """The EmoBox role of every clip, corpus by corpus."""
    roles = [""] * len(rows)
    out = EmoBoxFolds(roles, {})
    by_corpus: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_corpus[r["corpus"]].append(i)
    for corpus, idx in sorted(by_corpus.items()):
        if corpus in NO_FOLDS:
            out.none[corpus] = NO_FOLDS[corpus]
            continue
        if corpus in ("msp_podcast", "meld"):
            official = {"train": "t", "validation": "v", "test1" if corpus == "msp_podcast" else "test": "f1"}
            for i in idx:
                roles[i] = official.get(_extra(rows[i], "official_split") or "", "")
            out.k[corpus] = 1
            out.rule[corpus] = ("the official split: Train, Development (validation), Test1" if corpus == "msp_podcast"
                                else "the official split: train, dev (validation), test")  # fmt: skip
            continue
        if corpus == "iemocap":
            sessions = sorted({int(_extra(rows[i], "session") or 0) for i in idx})
            for i in idx:
                roles[i] = f"f{sessions.index(int(_extra(rows[i], 'session') or 0)) + 1}"
            out.k[corpus], out.rule[corpus] = len(sessions), "leave one session out"
            continue
        _generic(rows, idx, roles, out, corpus, seed)
    return out


def _generic(rows: list[dict], idx: list[int], roles: list[str], out: EmoBoxFolds, corpus: str, seed: int) -> None:
    speakers: dict[str, list[int]] = defaultdict(list)
    for i in idx:
        if rows[i]["speaker"] is not None:
            speakers[rows[i]["speaker"]].append(i)
    emotions = sorted({rows[i]["emotion"] for i in idx})
    counts = {s: Counter(rows[i]["emotion"] for i in members) for s, members in speakers.items()}
    balanced = len({tuple(c[e] for e in emotions) for c in counts.values()}) == 1
    balanced = balanced and sum(len(m) for m in speakers.values()) == len(idx)  # every clip names its speaker
    names = sorted(speakers)
    if len(names) < 4 or not balanced:
        rng = random.Random(seed)
        for e in emotions:
            members = [i for i in idx if rows[i]["emotion"] == e]
            test = set(rng.sample(members, int(len(members) * 0.25)))
            for i in members:
                roles[i] = "f1" if i in test else "f0"
        out.k[corpus] = 1
        why = "fewer than 4 speakers" if len(names) < 4 else "speakers' per-emotion counts differ"
        out.rule[corpus] = f"one fold, 25% of each emotion as test, speakers shared ({why})"
        return
    if len(names) <= 6:
        for j, s in enumerate(names, start=1):
            for i in speakers[s]:
                roles[i] = f"f{j}"
        out.k[corpus], out.rule[corpus] = len(names), "leave one speaker out"
        return
    k = len(names) // 4
    random.Random(seed).shuffle(names)
    for j, s in enumerate(names):
        for i in speakers[s]:
            roles[i] = f"f{j % k + 1}"
    out.k[corpus], out.rule[corpus] = k, f"{k} speaker folds (speakers shuffled, dealt round-robin)"


def emobox_names(k: dict[str, int], *, single: bool) -> list[str]:
    """``emobox_fold<j>`` for a build of one corpus (``single``), ``<corpus>_emobox_fold<j>`` for each corpus of a
    mix."""
    if single:
        return [f"emobox_fold{j}" for n in k.values() for j in range(1, n + 1)]
    return [f"{c}_emobox_fold{j}" for c, n in sorted(k.items()) for j in range(1, n + 1)]


def emobox_split(protocol: str, corpus: str, random_split: str, role: str, *, single: bool) -> str | None:
    """The split of a clip (its corpus, random split and EmoBox role) in an EmoBox fold config; None when the config
    leaves it out. ``single``: the build holds one corpus (its configs are named ``emobox_fold<j>``)."""
    m = _NAME.match(protocol)
    if m is None or not role:
        return None
    if (m["corpus"] or None) != (None if single else corpus):
        return None
    if role == "t":
        return "train"
    if role == "v":
        return "validation"
    if int(role[1:]) == int(m["k"]):
        return "test"
    return "validation" if random_split == "validation" else "train"
