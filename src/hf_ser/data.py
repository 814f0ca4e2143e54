"""Build the eight-emotion DatasetDict: scan -> decode/check/resample (parallel) -> de-duplicate -> split -> save."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from hf_ser.audio import SAMPLING_RATE, AudioCheckError, decode_file, encode_wav
from hf_ser.corpora import SCANNERS, CorpusError, ScanResult, Utterance
from hf_ser.labels import CORPORA, EMOTIONS

__all__ = [
    "PROTOCOLS",
    "BuildConfig",
    "BuildError",
    "BuildReport",
    "build_eight_emotions",
    "build_fingerprint",
    "dataset_features",
    "load_eight_emotions",
    "random_split",
    "speaker_disjoint_split",
]

logger = logging.getLogger(__name__)

PROTOCOLS = ("random", "speaker")
SPLITS = ("train", "validation", "test")
MAX_SHARD_BYTES = 500 * 1024**2


class BuildError(RuntimeError):
    """A build that cannot go on; the message is meant for the terminal as it is."""


@dataclass
class BuildConfig:
    corpora: dict[str, str]  # corpus name -> folder
    output_dir: str
    seed: int = 42
    test_size: float = 0.2
    validation_size: float = 0.1
    num_proc: int = 1
    overwrite: bool = False

    def validate(self) -> None:
        unknown = set(self.corpora) - set(CORPORA)
        if unknown:
            raise BuildError(f"unknown corpus {sorted(unknown)}; expected some of {list(CORPORA)}")
        if not self.corpora:
            raise BuildError("no corpus given: pass at least one of --ravdess, --crema-d, --tess, --savee")
        if not (0 < self.test_size < 1 and 0 < self.validation_size < 1 and self.test_size + self.validation_size < 1):
            raise BuildError(
                f"--test-size {self.test_size} and --validation-size {self.validation_size} must each be in (0, 1) "
                "and sum to less than 1"
            )
        if self.num_proc < 1:
            raise BuildError(f"--num-proc must be >= 1, got {self.num_proc}")


@dataclass
class BuildReport:
    output_dir: str
    scanned: dict[str, dict[str, int]]  # corpus -> emotion -> count found by the scanners (Table 2)
    final: dict[str, dict[str, int]]  # corpus -> emotion -> count in the dataset
    skipped: list[tuple[str, str, str, str]] = field(default_factory=list)  # corpus, file, stage, reason
    split_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # protocol -> split -> rows
    total_hours: float = 0.0
    total_seconds: float = 0.0
    fingerprint: str = ""  # in every Parquet file name; see build_fingerprint

    def skipped_by_reason(self) -> Counter:
        return Counter((c, _reason_kind(r)) for c, _, _, r in self.skipped)


def _reason_kind(reason: str) -> str:
    return reason.split(" (")[0].split(":")[0]


def dataset_features():
    from datasets import Audio, ClassLabel, Features, Value

    return Features(
        {
            "audio": Audio(sampling_rate=SAMPLING_RATE),
            "label": ClassLabel(names=list(EMOTIONS)),
            "corpus": ClassLabel(names=list(CORPORA)),
            "speaker": Value("string"),
            "gender": Value("string"),
            "text": Value("string"),
            "intensity": Value("string"),
            "file": Value("string"),
            "duration": Value("float32"),
            "original_sampling_rate": Value("int32"),
        }
    )


def load_eight_emotions(path: str, protocol: str = "random"):
    """``load_dataset`` of a built folder (or Hub id) for one protocol.

    For a local folder the Parquet files are passed explicitly: datasets keys its Arrow cache of a folder's
    README-declared configs by folder name and config only, so a rebuilt folder (or another folder of the same
    name) would otherwise load stale cached data. Explicit data files put their paths and mtimes in the key.
    """
    from datasets import load_dataset

    local = Path(path).expanduser()
    if not local.is_dir():
        return load_dataset(path, protocol)
    folder = local / protocol
    if not folder.is_dir():
        available = sorted(p.name for p in local.iterdir() if p.is_dir() and not p.name.startswith("."))
        raise ValueError(f"{path} has no {protocol!r} config (folders: {available})")
    data_files = {s: sorted(str(f) for f in folder.glob(f"{s}-*.parquet")) for s in SPLITS}
    return load_dataset("parquet", data_files={s: f for s, f in data_files.items() if f})


# ----------------------------------------------------------------------------------------------------------------
# Splits: pure functions of the metadata and a seed.
# ----------------------------------------------------------------------------------------------------------------
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


def speaker_disjoint_split(
    speakers: Sequence[str], groups: Sequence[str], *, test_size: float, validation_size: float, seed: int
) -> dict[str, list[int]]:
    """No speaker in two splits. Within each group (corpus x gender) speakers go, largest first, to the split
    furthest below its share of that group's files, so each corpus and gender is spread as evenly as its speaker
    count allows (TESS's two speakers: one in train, one in test). A split left with no speaker at all takes the
    smallest speaker of the split with the most."""
    rng = np.random.default_rng(seed)
    share = {"train": 1 - test_size - validation_size, "validation": validation_size, "test": test_size}
    preference = {"test": 0, "validation": 1, "train": 2}  # ties go to the smaller splits
    files_of: dict[str, Counter] = defaultdict(Counter)
    for spk, grp in zip(speakers, groups, strict=True):
        files_of[grp][spk] += 1
    n_speakers = sum(len(c) for c in files_of.values())
    if n_speakers < len(SPLITS):
        raise BuildError(f"the speaker protocol needs at least {len(SPLITS)} speakers; the corpora have {n_speakers}")
    split_of: dict[str, str] = {}
    size_of: dict[str, int] = {}
    for grp in sorted(files_of):
        counts = files_of[grp]
        order = [str(s) for s in rng.permutation(sorted(counts))]
        order.sort(key=lambda s: -counts[s])  # stable: equal counts keep the shuffled order
        total = sum(counts.values())
        got = dict.fromkeys(share, 0)
        for spk in order:
            # rounded: 1 - 0.2 - 0.1 is 0.7000000000000001, and float noise must not break ties
            target = max(share, key=lambda s: (round(share[s] * total - got[s], 6), -preference[s]))
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
        raise BuildError(f"the {protocol} protocol leaves split(s) {empty} empty: the corpora are too small")


# ----------------------------------------------------------------------------------------------------------------
# Decoding in parallel
# ----------------------------------------------------------------------------------------------------------------
def _decode_worker(path: str) -> tuple[bool, object]:
    try:
        clip = decode_file(path)
    except AudioCheckError as err:
        return False, str(err)
    return True, (encode_wav(clip.array), clip.sha1, len(clip.array) / SAMPLING_RATE, clip.original_sampling_rate)


def _quiet_worker() -> None:
    # Ctrl-C and SIGTERM are the parent's to handle (it cleans up and terminates the pool); a worker that also
    # raised would print a KeyboardInterrupt or BrokenPipeError traceback per process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _decode_all(utterances: list[Utterance], num_proc: int) -> list[tuple[bool, object]]:
    paths = [u.path for u in utterances]
    bar = dict(total=len(paths), desc="Decoding + resampling to 16 kHz", unit="file")
    if num_proc == 1:
        return [_decode_worker(p) for p in tqdm(paths, **bar)]
    # spawn, not fork: the parent may hold torch/threads, and fork after threads is unsafe.
    ctx = mp.get_context("spawn")
    with ctx.Pool(num_proc, initializer=_quiet_worker) as pool:
        chunk = max(1, min(64, len(paths) // (num_proc * 8)))
        return list(tqdm(pool.imap(_decode_worker, paths, chunksize=chunk), **bar))


def _resolve_identical_audio(rows: list[dict]) -> tuple[list[dict], list[tuple[str, str, str, str]]]:
    """Byte-identical audio: under two labels, every copy is dropped (which label is right is unknowable);
    under one label, the first copy is kept."""
    by_hash: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_hash[r["sha1"]].append(r)
    kept, skipped = [], []
    for r in rows:
        group = by_hash[r["sha1"]]
        if len(group) == 1:
            kept.append(r)
            continue
        labels = sorted({g["emotion"] for g in group})
        others = ", ".join(f"{g['corpus']}/{g['file']} ({g['emotion']})" for g in group if g is not r)
        if len(labels) > 1:
            skipped.append((r["corpus"], r["file"], "dedupe", f"identical audio under two labels (also {others})"))
        elif group[0] is r:
            kept.append(r)
        else:
            skipped.append((r["corpus"], r["file"], "dedupe", f"identical audio to {others}"))
    return kept, skipped


# ----------------------------------------------------------------------------------------------------------------
# The build
# ----------------------------------------------------------------------------------------------------------------
def scan_corpora(corpora: dict[str, str]) -> list[ScanResult]:
    results = []
    for name in CORPORA:
        if name in corpora:
            try:
                results.append(SCANNERS[name](corpora[name]))
            except CorpusError as err:
                raise BuildError(str(err)) from err
    return results


# What a build writes at the top of its folder: --overwrite replaces a folder holding only these.
_BUILD_FILES = {"README.md", "skipped.csv"}


def _check_no_overlap(output_dir: Path, corpora: dict[str, str]) -> None:
    """An output that is, contains or sits inside an input would be read while written, or deleted by --overwrite."""
    for name, folder in corpora.items():
        root = Path(folder).expanduser().resolve()
        flag = "--" + name.replace("_", "-")
        if output_dir == root or root in output_dir.parents or output_dir in root.parents:
            where = "is" if output_dir == root else "is inside" if root in output_dir.parents else "contains"
            raise BuildError(
                f"--output {output_dir} {where} the {flag} folder {root}: write the dataset somewhere else "
                "(nothing was touched)"
            )


def _looks_like_a_build(folder: Path) -> bool:
    for p in folder.iterdir():
        if p.is_dir():
            if any(q.suffix != ".parquet" for q in p.iterdir()):
                return False
        elif p.name not in _BUILD_FILES:
            return False
    return True


def _prepare_output(output_dir: Path, overwrite: bool) -> Path:
    if output_dir.exists():
        if not output_dir.is_dir():
            raise BuildError(f"--output {output_dir} exists and is not a folder")
        if any(output_dir.iterdir()):
            if not overwrite:
                raise BuildError(f"--output {output_dir} exists and is not empty; pass --overwrite to replace it")
            if not _looks_like_a_build(output_dir):
                raise BuildError(
                    f"--output {output_dir} holds files a dataset build did not write; --overwrite only replaces a "
                    "folder this script built (README.md, skipped.csv and protocol folders of Parquet files)"
                )
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename at the end: an interrupted build leaves no half-written dataset.
    return Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))


def _swap_in(work: Path, output_dir: Path) -> None:
    """Put the finished build in place; an old build is moved aside first and deleted only once the new one is in."""
    if not output_dir.exists():
        os.replace(work, output_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.old-", dir=output_dir.parent))
    os.replace(output_dir, old / "build")
    try:
        os.replace(work, output_dir)
    except BaseException:
        os.replace(old / "build", output_dir)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def build_fingerprint(rows: list[dict], splits: dict[str, dict[str, list[int]]], features) -> str:
    """12 hex digits that change whenever the dataset's content does (audio, metadata, splits, features).

    They go into every Parquet file name and the card's ``data_files``: datasets keys its Arrow cache of a local
    folder by the folder's *name*, the config and those patterns, so without them two folders of the same name,
    or a folder rebuilt in place, would be served one another's cached data by a plain ``load_dataset(DIR)``.
    """
    h = hashlib.sha256()
    for r in rows:
        h.update("\x1f".join(str(r[k]) for k in ("corpus", "file", "emotion", "speaker", "gender", "sha1")).encode())
        h.update(b"\x1e")
    h.update(json.dumps(splits, sort_keys=True).encode())
    h.update(json.dumps(features.to_dict(), sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def _write_split(ds, folder: Path, split: str, fingerprint: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # ds.data is the whole underlying table even after select(): scale its size to this split's rows.
    n = max(1, math.ceil(ds.data.nbytes * len(ds) / max(1, ds.data.num_rows) / MAX_SHARD_BYTES))
    for i in range(n):
        ds.shard(num_shards=n, index=i, contiguous=True).to_parquet(
            str(folder / f"{split}-{fingerprint}-{i:05d}-of-{n:05d}.parquet")
        )


def build_eight_emotions(cfg: BuildConfig, *, command: str | None = None) -> BuildReport:
    """Build the dataset folder ``cfg.output_dir`` (Parquet per protocol/split + README.md card + skipped.csv)."""
    import time

    from datasets import Dataset

    from hf_ser.dataset_card import render_dataset_card

    cfg.validate()
    t0 = time.perf_counter()
    output_dir = Path(cfg.output_dir).expanduser().resolve()
    _check_no_overlap(output_dir, cfg.corpora)
    scans = scan_corpora(cfg.corpora)
    work = _prepare_output(output_dir, cfg.overwrite)
    try:
        utterances = [u for s in scans for u in s.utterances]
        skipped: list[tuple[str, str, str, str]] = [
            (k.corpus, k.file, "scan", k.reason) for s in scans for k in s.skipped
        ]
        decoded = _decode_all(utterances, cfg.num_proc)
        rows = []
        for u, (ok, payload) in zip(utterances, decoded, strict=True):
            if not ok:
                skipped.append((u.corpus, u.file, "audio", str(payload)))
                continue
            wav, sha1, duration, orig_sr = payload
            rows.append({**u.__dict__, "wav": wav, "sha1": sha1, "duration": duration, "orig_sr": orig_sr})
        rows, dup_skips = _resolve_identical_audio(rows)
        skipped.extend(dup_skips)
        if not rows:
            raise BuildError("every file was skipped; nothing to build (see the reasons above)")
        ds = Dataset.from_dict(
            {
                "audio": [
                    {"bytes": r["wav"], "path": f"{r['corpus']}/{Path(r['file']).with_suffix('.wav')}"} for r in rows
                ],
                "label": [r["emotion"] for r in rows],
                "corpus": [r["corpus"] for r in rows],
                "speaker": [r["speaker"] for r in rows],
                "gender": [r["gender"] for r in rows],
                "text": [r["text"] for r in rows],
                "intensity": [r["intensity"] for r in rows],
                "file": [r["file"] for r in rows],
                "duration": [r["duration"] for r in rows],
                "original_sampling_rate": [r["orig_sr"] for r in rows],
            },
            features=dataset_features(),
        )
        splits = {
            "random": random_split(
                [f"{r['emotion']}|{r['corpus']}" for r in rows],
                test_size=cfg.test_size,
                validation_size=cfg.validation_size,
                seed=cfg.seed,
            ),
            "speaker": speaker_disjoint_split(
                [r["speaker"] for r in rows],
                [f"{r['corpus']}|{r['gender']}" for r in rows],
                test_size=cfg.test_size,
                validation_size=cfg.validation_size,
                seed=cfg.seed,
            ),
        }
        fingerprint = build_fingerprint(rows, splits, ds.features)
        split_tables: dict[str, dict[str, Counter]] = {}
        for protocol, idx in splits.items():
            split_tables[protocol] = {}
            for split in SPLITS:
                _write_split(ds.select(idx[split]), work / protocol, split, fingerprint)
                split_tables[protocol][split] = Counter((rows[i]["corpus"], rows[i]["emotion"]) for i in idx[split])
        _write_skipped(work / "skipped.csv", skipped)
        scanned = {s.corpus: s.counts() for s in scans}
        final: dict[str, dict[str, int]] = defaultdict(dict)
        for (corpus, emotion), n in Counter((r["corpus"], r["emotion"]) for r in rows).items():
            final[corpus][emotion] = n
        report = BuildReport(
            output_dir=str(output_dir),
            scanned=scanned,
            final=dict(final),
            skipped=skipped,
            split_counts={p: {s: sum(c.values()) for s, c in t.items()} for p, t in split_tables.items()},
            total_hours=sum(r["duration"] for r in rows) / 3600,
            fingerprint=fingerprint,
        )
        card = render_dataset_card(cfg, report, split_tables, ds.features, command=command)
        card.save(str(work / "README.md"))
        work.chmod(0o755)  # mkdtemp makes it owner-only
        _swap_in(work, output_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    report.total_seconds = time.perf_counter() - t0
    return report


def _write_skipped(path: Path, skipped: list[tuple[str, str, str, str]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["corpus", "file", "stage", "reason"])
        w.writerows(sorted(skipped))
