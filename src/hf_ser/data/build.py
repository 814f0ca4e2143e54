"""Build the eight-emotion DatasetDict: scan -> decode/check/resample (parallel) -> de-duplicate -> split -> save."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
import threading
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from hf_ser.audio import SAMPLING_RATE, AudioCheckError, decode_file, encode_wav
from hf_ser.data.corpora import SCANNERS, CorpusError, ScanResult, Utterance
from hf_ser.data.layout import assign_protocols, load_eight_emotions, protocol_files, write_blocks
from hf_ser.data.protocols import SPLITS, ProtocolError, random_split, speaker_disjoint_split
from hf_ser.labels import CORPORA, EMOTIONS, merged_labels

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

PROTOCOLS = ("random", "speaker")  # the two every build has; see hf_ser.data.protocols for the rest


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
    folds: int = 5  # speaker k-fold configs speaker_fold0..k-1
    label_map: dict[str, str] = field(default_factory=dict)  # explicit merges (hf_ser.labels: no_calm, a=b, a file)

    @property
    def label_names(self) -> list[str]:
        """The dataset's labels: the eight emotions, after ``label_map``'s merges."""
        return merged_labels(EMOTIONS, self.label_map)[0]

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
        if self.folds < 2:
            raise BuildError(f"--folds must be >= 2, got {self.folds}")


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
    configs: dict = field(default_factory=dict)  # protocol -> split -> block files
    left_out: dict = field(default_factory=dict)  # protocol -> why this build has no such config
    corpus_rule: dict = field(default_factory=dict)  # corpus -> rule of its own protocol
    speakers: dict = field(default_factory=dict)  # protocol -> split -> speakers

    def skipped_by_reason(self) -> Counter:
        return Counter((c, _reason_kind(r)) for c, _, _, r in self.skipped)


def _reason_kind(reason: str) -> str:
    return reason.split(" (")[0].split(":")[0]


def dataset_features(label_names=EMOTIONS):
    from datasets import Audio, ClassLabel, Features, Value

    return Features(
        {
            "audio": Audio(sampling_rate=SAMPLING_RATE),
            "label": ClassLabel(names=list(label_names)),
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
    with _interrupts_at_safe_points() as stopped, ctx.Pool(num_proc, initializer=_quiet_worker) as pool:
        chunk = max(1, min(64, len(paths) // (num_proc * 8)))
        out = []
        for result in tqdm(pool.imap(_decode_worker, paths, chunksize=chunk), **bar):
            out.append(result)
            if stopped:
                raise KeyboardInterrupt(stopped[0])
        return out


@contextmanager
def _interrupts_at_safe_points():
    """Ctrl-C and SIGTERM while the pool runs are noted, then raised between results: an exception raised by a signal
    handler inside multiprocessing's own code can leave one of its locks held, and terminating the pool then hangs."""
    stopped: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in signals}
    for s in signals:
        signal.signal(s, lambda signum, frame: stopped.append(signal.Signals(signum).name))
    try:
        yield stopped
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stopped:
        raise KeyboardInterrupt(stopped[0])


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
                    "folder this script built (README.md, skipped.csv and folders of Parquet files)"
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


def build_fingerprint(rows: list[dict], assignment, features) -> str:
    """12 hex digits that change whenever the dataset's content does (audio, metadata, splits, features).

    They go into every Parquet file name and the card's ``data_files``: datasets keys its Arrow cache of a local
    folder by the folder's *name*, the config and those patterns, so without them two folders of the same name,
    or a folder rebuilt in place, would be served one another's cached data by a plain ``load_dataset(DIR)``.
    """
    h = hashlib.sha256()
    for i, r in enumerate(rows):
        h.update("\x1f".join(str(r[k]) for k in ("corpus", "file", "emotion", "speaker", "gender", "sha1")).encode())
        h.update("\x1f".join(map(str, assignment.block(i))).encode() + b"\x1e")
    h.update(json.dumps([assignment.k, assignment.corpus_rule], sort_keys=True).encode())
    h.update(json.dumps(features.to_dict(), sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def build_eight_emotions(cfg: BuildConfig, *, command: str | None = None) -> BuildReport:
    """Build the dataset folder ``cfg.output_dir`` (Parquet per protocol/split + README.md card + skipped.csv)."""
    import time

    # datasets imports torch and torchcodec lazily, when it first encodes audio. Import them before a partial build
    # exists: Ctrl-C/SIGTERM raised inside a C extension's first import can abort the interpreter (SIGABRT, seen in
    # test_sigterm_during_a_build_cleans_up_like_ctrl_c) instead of cleaning up.
    import torch  # noqa: F401
    import torchcodec.encoders  # noqa: F401
    from datasets import Dataset

    from hf_ser.data.dataset_card import render_dataset_card

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
        to_label = merged_labels(EMOTIONS, cfg.label_map)[1]
        for r in rows:  # merges first, so splits are stratified by the labels the dataset has
            r["emotion"] = to_label[r["emotion"]]
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
            features=dataset_features(cfg.label_names),
        )
        try:
            assignment = assign_protocols(rows, test_size=cfg.test_size, validation_size=cfg.validation_size,
                                          seed=cfg.seed, k=cfg.folds)  # fmt: skip
        except ProtocolError as err:
            raise BuildError(str(err)) from err
        fingerprint = build_fingerprint(rows, assignment, ds.features)
        files = write_blocks(ds, assignment, work, fingerprint)
        configs, left_out = protocol_files(assignment, files, [r["corpus"] for r in rows])
        split_tables: dict[str, dict[str, Counter]] = {}
        speakers: dict[str, dict[str, int]] = {}
        for protocol in configs:
            idx = assignment.indices(protocol)
            split_tables[protocol] = {
                s: Counter((rows[i]["corpus"], rows[i]["emotion"]) for i in idx[s]) for s in SPLITS
            }
            speakers[protocol] = {s: len({rows[i]["speaker"] for i in idx[s]}) for s in SPLITS}
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
            configs=configs,
            left_out=left_out,
            corpus_rule=assignment.corpus_rule,
            speakers=speakers,
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
