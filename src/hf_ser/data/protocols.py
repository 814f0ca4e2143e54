"""Evaluation protocols as split rules: pure functions of the metadata and a seed.

Every protocol assigns each clip to ``train``, ``validation`` or ``test`` (or leaves it out):

- ``random``: stratified by emotion x corpus (the paper's protocol; the same speakers in train and test);
- ``speaker``: no speaker in two splits, each corpus x gender spread over the splits by its files;
- ``<corpus>`` (``ravdess``, ``crema_d``, ``tess``, ``savee``): that corpus alone, split by speaker within it (by
  the ``speaker`` rule, groups = gender) where it has at least three speakers, else stratified at random by emotion
  (TESS: two speakers cannot fill three speaker-disjoint splits);
- ``loco_<corpus>``: leave one corpus out: test = every clip of that corpus, train and validation = the other corpora
  (their ``speaker`` train speakers train; their ``speaker`` validation and test speakers validate: the held-out corpus
  is the test, so those speakers are free to pick the model with, speaker-disjoint from training);
- ``speaker_fold<k>`` (k = 0..K-1): speaker k-fold cross-validation: speakers are dealt to K folds within each
  corpus x gender group (largest first, to the fold with the fewest files of that group), so every speaker is in
  exactly one test fold and folds are balanced by corpus and gender; fold k tests, fold k+1 validates, the rest train;
- ``default`` (a user's data with splits of its own): those splits, as the data gives them.

A user's own corpus gets the same rules; there the speaker rules are also stratified by label (``labels=``): each
speaker goes to the split (or fold) whose label counts it brings closest to that split's share of every label, as
scikit-learn's StratifiedGroupKFold does, since a user's speakers need not all record every emotion as actors do.

The dataset stores each clip once: the clips are written in blocks of identical (corpus, random split, speaker split,
own-corpus split, fold), and every protocol's split is a union of blocks (:func:`split_of_block`, hf_ser.data.layout).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from hf_ser.labels import CORPORA

__all__ = [
    "RESERVED_CONFIG_NAMES",
    "SPLITS",
    "ProtocolError",
    "corpus_configs",
    "protocol_names",
    "random_split",
    "speaker_disjoint_split",
    "speaker_folds",
    "split_of_block",
]

SPLITS = ("train", "validation", "test")


class ProtocolError(ValueError):
    """A protocol the corpora cannot fill (too few speakers); the message says which and why."""


def _largest_remainder(sizes: dict[str, int], share: float) -> dict[str, int]:
    """Integer quotas per stratum summing to round(total * share), each within floor/ceil of its exact share."""
    exact = {k: n * share for k, n in sizes.items()}
    quota = {k: int(np.floor(v)) for k, v in exact.items()}
    missing = round(sum(sizes.values()) * share) - sum(quota.values())
    for k in sorted(exact, key=lambda k: (quota[k] - exact[k], k))[: max(0, missing)]:
        quota[k] += 1
    return quota


def random_split(
    strata: Sequence[str], *, test_size: float, validation_size: float, seed: int
) -> dict[str, list[int]]:
    """Stratified split: every stratum (emotion x corpus) gives test and validation its share of files (rounded by
    largest remainder, so the split sizes are exact overall and small corpora still reach every split)."""
    rng = np.random.default_rng(seed)
    by_stratum: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(strata):
        by_stratum[s].append(i)
    sizes = {s: len(v) for s, v in by_stratum.items()}
    n_test = _largest_remainder(sizes, test_size)
    n_val = _largest_remainder({s: sizes[s] - n_test[s] for s in sizes}, validation_size / (1 - test_size))
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for s in sorted(by_stratum):
        idx = rng.permutation(by_stratum[s])
        out["test"].extend(idx[: n_test[s]].tolist())
        out["validation"].extend(idx[n_test[s] : n_test[s] + n_val[s]].tolist())
        out["train"].extend(idx[n_test[s] + n_val[s] :].tolist())
    _check_non_empty(out, "random")
    return {k: sorted(v) for k, v in out.items()}


def _label_counts(speakers: Sequence[str], labels: Sequence | None) -> dict[str, Counter] | None:
    if labels is None:
        return None
    out: dict[str, Counter] = defaultdict(Counter)
    for spk, lab in zip(speakers, labels, strict=True):
        out[spk][lab] += 1
    return out


def _stratified_cost(got: Counter, adds: Counter, target: dict) -> float:
    """How much further from its target label counts a bin gets by taking a speaker's clips (negative: closer)."""
    return sum((got[lab] + n - target[lab]) ** 2 - (got[lab] - target[lab]) ** 2 for lab, n in adds.items())


def speaker_disjoint_split(
    speakers: Sequence[str],
    groups: Sequence[str],
    *,
    test_size: float,
    validation_size: float,
    seed: int,
    labels: Sequence | None = None,
) -> dict[str, list[int]]:
    """No speaker in two splits. Within each group (corpus x gender) speakers go, largest first, to the split
    furthest below its share of that group's files, so each corpus and gender is spread as evenly as its speaker
    count allows (TESS's two speakers: one in train, one in test). With ``labels`` (a user's corpus), to the split
    whose share of every label of the group the speaker's clips bring it closest to (stratified by label). A split
    left with no speaker at all takes the smallest speaker of the split with the most."""
    rng = np.random.default_rng(seed)
    share = {"train": 1 - test_size - validation_size, "validation": validation_size, "test": test_size}
    preference = {"test": 0, "validation": 1, "train": 2}  # ties go to the smaller splits
    files_of: dict[str, Counter] = defaultdict(Counter)
    for spk, grp in zip(speakers, groups, strict=True):
        files_of[grp][spk] += 1
    by_label = _label_counts(speakers, labels)
    n_speakers = sum(len(c) for c in files_of.values())
    if n_speakers < len(SPLITS):
        raise ProtocolError(
            f"the speaker protocol needs at least {len(SPLITS)} speakers; the corpora have {n_speakers}"
        )
    split_of: dict[str, str] = {}
    size_of: dict[str, int] = {}
    for grp in sorted(files_of):
        counts = files_of[grp]
        order = [str(s) for s in rng.permutation(sorted(counts))]
        order.sort(key=lambda s: -counts[s])  # stable: equal counts keep the shuffled order
        total = sum(counts.values())
        got = dict.fromkeys(share, 0)
        if by_label is not None:
            in_group = sum((by_label[s] for s in counts), Counter())
            want = {s: {lab: share[s] * n for lab, n in in_group.items()} for s in share}
            got_labels = {s: Counter() for s in share}
        for spk in order:
            if by_label is None:
                # rounded: 1 - 0.2 - 0.1 is 0.7000000000000001, and float noise must not break ties
                target = max(share, key=lambda s: (round(share[s] * total - got[s], 6), -preference[s]))
            else:
                target = min(share, key=lambda s: (round(_stratified_cost(got_labels[s], by_label[spk], want[s]), 6),
                                                   preference[s]))  # fmt: skip
                got_labels[target].update(by_label[spk])
            split_of[spk] = target
            size_of[spk] = counts[spk]
            got[target] += counts[spk]
    for split in ("test", "validation"):
        if split not in split_of.values():
            donors = Counter(split_of.values())
            donor = max(donors, key=lambda s: (donors[s], -preference[s]))
            smallest = min((s for s in split_of if split_of[s] == donor), key=lambda s: (size_of[s], s))
            split_of[smallest] = split
    out: dict[str, list[int]] = {s: [] for s in SPLITS}
    for i, spk in enumerate(speakers):
        out[split_of[spk]].append(i)
    _check_non_empty(out, "speaker")
    return out


def _check_non_empty(out: dict[str, list[int]], protocol: str) -> None:
    empty = [s for s in SPLITS if not out[s]]
    if empty:
        raise ProtocolError(f"the {protocol} protocol leaves split(s) {empty} empty: the corpora are too small")


def speaker_folds(speakers: Sequence[str], groups: Sequence[str], k: int, *, seed: int,
                  labels: Sequence | None = None) -> list[int]:  # fmt: skip
    """Fold (0..k-1) of each clip: speakers dealt within each group (corpus x gender), largest first, to the fold
    holding the fewest files of that group (ties: fewest files overall, then lowest index), so every speaker is in
    one fold and each corpus and gender is spread over the folds as evenly as its speakers allow. With ``labels``, to
    the fold whose 1/k of every label of the group the speaker's clips bring it closest to."""
    if k < 2:
        raise ProtocolError(f"speaker k-fold needs k >= 2, got {k}")
    rng = np.random.default_rng(seed)
    files_of: dict[str, Counter] = defaultdict(Counter)
    for spk, grp in zip(speakers, groups, strict=True):
        files_of[grp][spk] += 1
    n_speakers = len(set(speakers))
    if n_speakers < k:
        raise ProtocolError(f"speaker {k}-fold needs at least {k} speakers; the corpora have {n_speakers}")
    by_label = _label_counts(speakers, labels)
    fold_of: dict[str, int] = {}
    total = [0] * k
    for grp in sorted(files_of):
        counts = files_of[grp]
        order = [str(s) for s in rng.permutation(sorted(counts))]
        order.sort(key=lambda s: -counts[s])
        in_group = [0] * k
        if by_label is not None:
            want = {lab: n / k for lab, n in sum((by_label[s] for s in counts), Counter()).items()}
            got_labels = [Counter() for _ in range(k)]
        for spk in order:
            if by_label is None:
                f = min(range(k), key=lambda j: (in_group[j], total[j], j))
            else:
                f = min(range(k), key=lambda j: (round(_stratified_cost(got_labels[j], by_label[spk], want), 6),
                                                 in_group[j], total[j], j))  # fmt: skip
                got_labels[f].update(by_label[spk])
            fold_of[spk] = f
            in_group[f] += counts[spk]
            total[f] += counts[spk]
    return [fold_of[s] for s in speakers]


# Names a corpus of a user's may not have: its per-corpus config would shadow a protocol.
RESERVED_CONFIG_NAMES = ("default", "random", "speaker")


def corpus_configs(corpora: Sequence[str]) -> list[str]:
    """The corpora that get a config of their own: the four always (the paper's per-corpus results), any other only
    in a build of two or more (a build of one corpus alone would write the same clips twice)."""
    present = [c for c in CORPORA if c in corpora] + sorted({c for c in corpora if c not in CORPORA})
    return present if len(present) >= 2 else [c for c in present if c in CORPORA]


def protocol_names(corpora: Sequence[str], k: int, *, given: bool = False, speakers: bool = True) -> list[str]:
    """The configs a build with these corpora writes (per-corpus and LOCO ones only where they make sense; ``default``
    where the data has splits of its own; the speaker ones only where it names speakers)."""
    present = [c for c in CORPORA if c in corpora] + sorted({c for c in corpora if c not in CORPORA})
    names = (["default"] if given else []) + ["random"] + (["speaker"] if speakers else []) + corpus_configs(corpora)
    if len(present) >= 2:
        names += [f"loco_{c}" for c in present]
    return names + [f"speaker_fold{i}" for i in range(k)]


def split_of_block(protocol: str, corpus: str, random: str, speaker: str, own: str, fold: int, given: str = "", *,
                   k: int) -> str | None:  # fmt: skip
    """The split a block of clips (same corpus, random split, speaker split, split in its corpus's own protocol,
    fold, and the split the data itself gave) belongs to in ``protocol``; None when the protocol leaves it out.
    A block without a speaker split (data that names no speakers) is in no speaker protocol."""
    if protocol == "default":
        return given or None
    if protocol == "random":
        return random
    if protocol == "speaker":
        return speaker or None
    if protocol.startswith("loco_"):
        if corpus == protocol.removeprefix("loco_"):
            return "test"
        base = speaker or random  # without speakers, the others' random split picks train and validation
        return "train" if base == "train" else "validation"
    if protocol.startswith("speaker_fold"):
        if not speaker:
            return None
        test = int(protocol.removeprefix("speaker_fold"))
        if fold == test:
            return "test"
        return "validation" if fold == (test + 1) % k else "train"
    if protocol == corpus:  # a per-corpus config: that corpus alone
        return own
    return None
