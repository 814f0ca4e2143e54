"""How a built dataset folder stores its protocols: every clip once, every protocol a union of blocks.

Clips are written in blocks of identical (corpus, ``random`` split, ``speaker`` split, split within the corpus,
k-fold fold), one Parquet file
(or a few, past 500 MB) per block under ``data/``. The dataset card's ``configs`` give each protocol's splits as lists
of block files, so ``load_dataset(DIR, "loco_savee")`` reads just those files; the audio is stored once, not once per
protocol (fifteen copies of the corpora would be some 15 GB).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from hf_ser.data.emobox import EmoBoxFolds, emobox_folds, emobox_names, emobox_split
from hf_ser.data.protocols import (
    SPLITS,
    ProtocolError,
    protocol_names,
    random_split,
    speaker_disjoint_split,
    speaker_folds,
    split_of_block,
)
from hf_ser.labels import CORPORA

__all__ = [
    "Assignment",
    "assign_protocols",
    "check_protocol_name",
    "load_eight_emotions",
    "protocol_files",
    "write_blocks",
]

MAX_SHARD_BYTES = 500 * 1024**2
# Row groups of at most 16 MB (datasets aims at 100 MB): what a build holds at once while writing, so its memory does
# not depend on the corpus's size; a small block is one row group either way.
MAX_ROW_GROUP_BYTES = 16 * 1024**2
# And at most this many rows (datasets' writer batch): 16 MB of short clips is thousands of rows, whose metadata and
# per-row objects made the writing's peak grow with the corpus (+85 MB at 45,000 clips of 0.1 s against 4,500).
MAX_ROW_GROUP_ROWS = 1000


@dataclass
class Assignment:
    """Per clip: its split under ``random`` and ``speaker``, its fold; per corpus: the rule of its own protocol."""

    corpus: list[str]
    random: list[str]
    speaker: list[str]
    own: list[str]  # split in the clip's corpus's own protocol
    fold: list[int]
    k: int
    corpus_rule: dict[str, str]  # corpus -> "speaker" (speaker-disjoint) or "random" (stratified)
    no_folds: str | None = None  # why there are no k-fold configs (k == 0)
    given: list[str] | None = None  # the split the data itself gave each clip (a user's corpus with splits)
    no_speakers: str | None = None  # why there are no speaker configs (the data names no speakers)
    emobox: EmoBoxFolds | None = None  # EmoBox's fold roles (--emobox-folds)

    def block(self, i: int) -> tuple:
        """The clip's block key: (corpus, random, speaker, own, fold), then the given split where the data has one
        and the EmoBox role where the build asked for EmoBox's folds."""
        key = (self.corpus[i], self.random[i], self.speaker[i], self.own[i], self.fold[i])
        key += (self.given[i],) if self.given is not None else ()
        return key + ((self.emobox.roles[i],) if self.emobox is not None else ())

    @cached_property
    def single_corpus(self) -> bool:
        """The build holds one corpus (its EmoBox configs are named ``emobox_fold<k>``, not ``<corpus>_...``)."""
        return len(set(self.corpus)) == 1

    def parts(self, key: tuple) -> tuple[tuple, str | None, str | None]:
        """(the five fields, the given split, the EmoBox role) of a block key; None for what the build has not."""
        rest = list(key[5:])
        given = rest.pop(0) if self.given is not None else None
        return key[:5], given, rest.pop(0) if self.emobox is not None else None

    def split_of(self, protocol: str, key: tuple) -> str | None:
        base, given, role = self.parts(key)
        if "emobox_fold" in protocol:
            return emobox_split(protocol, base[0], base[1], role or "", single=self.single_corpus)
        return split_of_block(protocol, *base, given or "", k=self.k)

    def indices(self, protocol: str) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {s: [] for s in SPLITS}
        for i in range(len(self.corpus)):
            split = self.split_of(protocol, self.block(i))
            if split is not None:
                out[split].append(i)
        return out


def _split_labels(idx: dict[str, list[int]], n: int) -> list[str]:
    out = [""] * n
    for split, rows in idx.items():
        for i in rows:
            out[i] = split
    return out


def assign_protocols(rows: list[dict], *, test_size: float, validation_size: float, seed: int, k: int,
                     stratify_by_label: bool = False, require_speakers: bool = True,
                     emobox: bool = False) -> Assignment:  # fmt: skip
    """Every protocol's split of every clip. Rows without a speaker (``speaker`` None: data that names none) get no
    speaker protocols; rows with a ``given`` split (a user's data) get the ``default`` config too.
    ``stratify_by_label`` makes the speaker rules stratify by label as well (a user's corpus); without
    ``require_speakers``, too few speakers leave the speaker protocols out (with the reason) instead of failing."""
    corpus = [r["corpus"] for r in rows]
    labels = [r["emotion"] for r in rows] if stratify_by_label else None
    rnd = random_split([f"{r['emotion']}|{r['corpus']}" for r in rows], test_size=test_size,
                       validation_size=validation_size, seed=seed)  # fmt: skip
    random_labels = _split_labels(rnd, len(rows))
    given = [r.get("given") or "" for r in rows] if any(r.get("given") for r in rows) else None
    speakers = [r["speaker"] for r in rows]
    groups = [f"{r['corpus']}|{r['gender']}" for r in rows]
    no_speakers = None
    if any(s is None for s in speakers):
        missing = sum(s is None for s in speakers)
        no_speakers = f"{missing} of {len(rows)} clips name no speaker (no speaker column)"
    else:
        try:
            spk = speaker_disjoint_split(speakers, groups, test_size=test_size, validation_size=validation_size,
                                         seed=seed, labels=labels)  # fmt: skip
        except ProtocolError as err:
            if require_speakers:  # the eight-emotion dataset: its speaker protocols are the point
                raise
            no_speakers = str(err)
    if no_speakers:
        speaker, folds, k, no_folds = [""] * len(rows), [0] * len(rows), 0, no_speakers
    else:
        speaker = _split_labels(spk, len(rows))
        try:
            folds = speaker_folds(speakers, groups, k, seed=seed, labels=labels)
        except ProtocolError as err:  # too few speakers for k folds: the other protocols are still written
            folds, k, no_folds = [0] * len(rows), 0, str(err)
        else:
            no_folds = None
    own, rule = list(random_labels), {}
    for c in sorted(set(corpus)):
        idx = [i for i in range(len(rows)) if corpus[i] == c]
        rule[c] = "random"
        if not no_speakers and len({rows[i]["speaker"] for i in idx}) >= len(SPLITS):
            try:
                within = speaker_disjoint_split([rows[i]["speaker"] for i in idx], [rows[i]["gender"] for i in idx],
                                                test_size=test_size, validation_size=validation_size, seed=seed,
                                                labels=[labels[i] for i in idx] if labels else None)  # fmt: skip
            except ProtocolError:
                continue
            for split, members in within.items():
                for j in members:
                    own[idx[j]] = split
            rule[c] = "speaker"
    if given is not None and "validation" not in given:
        # train and test only (most Hub datasets, EmoBox's folds): validation is the data's train clips that the
        # speaker protocol (else the random one) validates on, so it shares no speaker with training
        base = speaker if not no_speakers else random_labels
        given = ["validation" if g == "train" and b == "validation" else g for g, b in zip(given, base, strict=True)]
    boxes = emobox_folds(rows, seed=seed) if emobox else None
    return Assignment(corpus, random_labels, speaker, own, folds, k, rule, no_folds, given, no_speakers, boxes)


def write_blocks(
    assignment: Assignment,
    folder: Path,
    fingerprint: str,
    features,
    row_bytes: Sequence[int],
    table_of: Callable[[list[int]], object],
) -> dict[tuple, list[str]]:
    """One Parquet file (or more, past MAX_SHARD_BYTES) per non-empty block; returns block -> relative paths.

    Files are written a row group (at most MAX_ROW_GROUP_BYTES) at a time: ``table_of(indices)`` gives the
    Arrow table of those clips, ``row_bytes`` each clip's size, so no more than one row group is ever in memory.
    The writer options are the ones ``Dataset.to_parquet`` uses (schema with the features, content-defined
    chunking, page index, audio bytes uncompressed), the row groups smaller."""
    import pyarrow.parquet as pq
    from datasets import config
    from datasets.arrow_writer import get_parquet_column_options

    members: dict[tuple, list[int]] = defaultdict(list)
    for i in range(len(assignment.corpus)):
        members[assignment.block(i)].append(i)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    schema = features.arrow_schema
    cdc = config.DEFAULT_CDC_OPTIONS
    group_bytes = MAX_ROW_GROUP_BYTES
    files: dict[tuple, list[str]] = {}
    for key in sorted(members, key=lambda b: (CORPORA.index(b[0]) if b[0] in CORPORA else 99, *b)):
        rows = members[key]
        n = max(1, math.ceil(sum(row_bytes[i] for i in rows) / MAX_SHARD_BYTES))
        (corpus, rnd, spk, own, fold), given, role = assignment.parts(key)
        stem = f"{corpus}-r_{rnd}-s_{spk or 'none'}-c_{own}-f{fold}" + (
            f"-g_{given or 'none'}" if given is not None else ""
        )
        stem += f"-e_{role or 'none'}" if role is not None else ""
        names = []
        for shard in _contiguous_shards(rows, n):
            name = f"data/{stem}-{fingerprint}-{len(names):05d}-of-{n:05d}.parquet"
            shard_bytes = max(1, sum(row_bytes[i] for i in shard))
            per_group = max(1, min(MAX_ROW_GROUP_ROWS, len(shard) * group_bytes // shard_bytes))
            writer = pq.ParquetWriter(str(folder / name), schema=schema, use_content_defined_chunking=cdc,
                                      write_page_index=True, **get_parquet_column_options(features, schema))  # fmt: skip
            try:
                for lo in range(0, len(shard), per_group):
                    writer.write_table(table_of(shard[lo : lo + per_group]))
                writer.add_key_value_metadata({"content_defined_chunking": json.dumps(cdc)})
            finally:
                writer.close()
            names.append(name)
        files[key] = names
    return files


def _contiguous_shards(rows: list[int], n: int) -> list[list[int]]:
    """``n`` contiguous pieces, the first ``len % n`` one longer (as ``Dataset.shard(contiguous=True)`` cuts)."""
    div, mod = divmod(len(rows), n)
    out, start = [], 0
    for i in range(n):
        end = start + div + (1 if i < mod else 0)
        out.append(rows[start:end])
        start = end
    return out


def protocol_files(assignment: Assignment, files: dict[tuple, list[str]], corpora) -> tuple[dict, dict]:
    """({protocol: {split: [files]}}, {protocol: why it was left out}) for every protocol these corpora allow."""
    configs, left_out = {}, {}
    if assignment.no_speakers:
        left_out["speaker"] = assignment.no_speakers
    if assignment.no_folds:
        left_out["speaker_fold*"] = assignment.no_folds
    names_ = protocol_names(corpora, assignment.k, given=assignment.given is not None,
                            speakers=not assignment.no_speakers)  # fmt: skip
    if assignment.emobox is not None:
        single = assignment.single_corpus
        names_ += emobox_names(assignment.emobox.k, single=single)
        for c, why in assignment.emobox.none.items():
            left_out["emobox_fold*" if single else f"{c}_emobox_fold*"] = why
    for protocol in names_:
        by_split: dict[str, list[str]] = {s: [] for s in SPLITS}
        for key, names in files.items():
            split = assignment.split_of(protocol, key)
            if split is not None:
                by_split[split].extend(names)
        empty = [s for s in SPLITS if not by_split[s]]
        if empty:
            left_out[protocol] = f"no clip for split(s) {', '.join(empty)}"
            continue
        configs[protocol] = {s: sorted(v) for s, v in by_split.items()}
    return configs, left_out


def load_eight_emotions(path: str, protocol: str = "random"):
    """``load_dataset`` of a built folder (or Hub id) for one protocol.

    A local folder's Parquet files are passed explicitly (the ones its card lists for the protocol, or a
    ``<protocol>/<split>-*.parquet`` folder made by hand), so what is read is exactly the files on disk now.
    """
    from datasets import load_dataset
    from huggingface_hub import DatasetCard

    local = Path(path).expanduser()
    if not local.is_dir():
        return load_dataset(path, protocol)
    card = local / "README.md"
    configs = {}
    if card.is_file():
        for c in DatasetCard.load(card).data.to_dict().get("configs") or []:
            configs[c["config_name"]] = {d["split"]: d["path"] for d in c.get("data_files", [])}
    if protocol in configs:
        data_files = {
            s: [str(local / f) for f in (v if isinstance(v, list) else [v])] for s, v in configs[protocol].items()
        }
        missing = [f for fs in data_files.values() for f in fs if "*" not in f and not Path(f).is_file()]
        if missing:
            raise ValueError(f"{path}: the card lists {len(missing)} file(s) that are not there, e.g. {missing[0]}")
        return load_dataset("parquet", data_files=data_files)
    folder = local / protocol
    if folder.is_dir():
        data_files = {s: sorted(str(f) for f in folder.glob(f"{s}-*.parquet")) for s in SPLITS}
        return load_dataset("parquet", data_files={s: f for s, f in data_files.items() if f})
    available = sorted(configs) or sorted(p.name for p in local.iterdir() if p.is_dir() and not p.name.startswith("."))
    raise ValueError(f"{path} has no {protocol!r} config (it has: {', '.join(available)})")


_CONFIG_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")


def check_protocol_name(name: str, k_max: int = 100) -> None:
    """Raise ProtocolError for a name no build could write (before anything loads): a user's corpus may bring corpus
    names of its own, so any lower-case identifier passes here and the dataset's configs decide."""
    if name in ("auto", "default", "random", "speaker") or name in CORPORA:
        return
    if name.startswith("speaker_fold") and name.removeprefix("speaker_fold").isdigit():
        return
    if _CONFIG_NAME.fullmatch(name) and not name.startswith("speaker_fold"):
        return
    raise ProtocolError(
        f"--protocol {name}: one of auto, default, random, speaker, {', '.join(CORPORA)} (or a corpus of yours), "
        "loco_<corpus>, speaker_fold<k>"
    )
