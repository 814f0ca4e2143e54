"""Build a dataset folder from any mix of inputs: scan -> decode/check/resample (parallel) -> de-duplicate -> labels ->
protocols -> Parquet blocks + card.

Inputs are the four corpora's folders (``corpora``, read by their scanners) and a user's own data (``sources``:
manifests, audiofolders, save_to_disk or Parquet folders, Hub ids, read by :mod:`hf_ser.data.sources`). The four
corpora alone, with no ``--labels``, are the paper's eight-emotion dataset (its card and columns); any other mix
gets the card of :mod:`hf_ser.data.own_card`, its labels as the data names them (:mod:`hf_ser.data.label_plan`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from hf_ser.audio import SAMPLING_RATE
from hf_ser.data.corpora import MORE_CORPORA, SCANNERS, CorpusError, ScanResult
from hf_ser.data.dataset_card import licence_file
from hf_ser.data.decode_cache import DecodeCache, cache_folder
from hf_ser.data.decoding import decode_into
from hf_ser.data.label_plan import LabelPlanError, plan_labels
from hf_ser.data.layout import assign_protocols, load_eight_emotions, protocol_files, write_blocks
from hf_ser.data.protocols import RESERVED_CONFIG_NAMES, SPLITS, ProtocolError, random_split, speaker_disjoint_split
from hf_ser.data.records import rows_from
from hf_ser.data.sources import SourceError, SourceOptions, SourceScan, read_source
from hf_ser.data.staging import BuildError, check_no_overlap, prepare_output, swap_in
from hf_ser.labels import CORPORA, EMOTIONS, merged_labels

__all__ = [
    "PROTOCOLS",
    "BuildConfig",
    "BuildError",
    "BuildReport",
    "build_dataset",
    "build_eight_emotions",
    "build_fingerprint",
    "dataset_features",
    "load_eight_emotions",
    "random_split",
    "speaker_disjoint_split",
]

logger = logging.getLogger(__name__)

PROTOCOLS = ("random", "speaker")  # the two every build with speakers has; see hf_ser.data.protocols for the rest
_CORPUS_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")


@dataclass
class BuildConfig:
    corpora: dict[str, str] = field(default_factory=dict)  # the four corpora: name -> folder
    output_dir: str = ""
    seed: int = 42
    test_size: float = 0.2
    validation_size: float = 0.1
    num_proc: int = 1
    overwrite: bool = False
    folds: int = 5  # speaker k-fold configs speaker_fold0..k-1
    label_map: dict[str, str] = field(default_factory=dict)  # explicit merges (hf_ser.labels: no_calm, a=b, a file)
    sources: dict[str, str] = field(default_factory=dict)  # a user's corpora: name -> manifest, folder or Hub id
    more_corpora: dict[str, str] = field(default_factory=dict)  # corpora of MORE_CORPORA: name -> folder
    source_options: SourceOptions = field(default_factory=SourceOptions)
    labels: list[str] | None = None  # keep only these classes (after label_map); None: every label
    emobox_folds: bool = False  # also EmoBox's fold configs (hf_ser.data.emobox)

    @property
    def preset(self) -> bool:
        """The paper's eight-emotion dataset: the four corpora alone, every label."""
        return not self.sources and not self.more_corpora and not self.labels

    @property
    def label_names(self) -> list[str]:
        """The eight-emotion dataset's labels: the eight emotions, after ``label_map``'s merges (other builds take
        theirs from the data: ``BuildReport.label_names``)."""
        return merged_labels(EMOTIONS, self.label_map)[0]

    def validate(self) -> None:
        unknown = set(self.corpora) - set(CORPORA)
        if unknown:
            raise BuildError(f"unknown corpus {sorted(unknown)}; expected some of {list(CORPORA)}")
        unknown = set(self.more_corpora) - set(MORE_CORPORA)
        if unknown:
            raise BuildError(f"unknown corpus {sorted(unknown)}; expected some of {list(MORE_CORPORA)}")
        if not self.corpora and not self.sources and not self.more_corpora:
            raise BuildError("no corpus given: pass at least one of --ravdess, --crema-d, --tess, --savee "
                             "(or --corpus NAME=DIR, --manifest NAME=FILE_OR_DIR)")  # fmt: skip
        for name in self.sources:
            _check_corpus_name(name, f"--manifest {name}=...")
        both = set(self.sources) & (set(self.corpora) | set(self.more_corpora))
        if both:
            raise BuildError(f"--manifest {sorted(both)[0]}=...: a corpus of that name is already an input")
        if not (0 < self.test_size < 1 and 0 < self.validation_size < 1 and self.test_size + self.validation_size < 1):
            raise BuildError(
                f"--test-size {self.test_size} and --validation-size {self.validation_size} must each be in (0, 1) "
                "and sum to less than 1"
            )
        if self.num_proc < 1:
            raise BuildError(f"--num-proc must be >= 1, got {self.num_proc}")
        if self.folds < 2:
            raise BuildError(f"--folds must be >= 2, got {self.folds}")


def _check_corpus_name(name: str, where: str) -> None:
    if not _CORPUS_NAME.fullmatch(name):
        raise BuildError(f"{where}: corpus name {name!r} must be lower-case letters, digits and _")
    if name in RESERVED_CONFIG_NAMES or name.startswith(("loco_", "speaker_fold")):
        raise BuildError(f"{where}: {name!r} is a protocol's name; call the corpus something else")


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
    emobox_rule: dict = field(default_factory=dict)  # corpus -> the EmoBox rule of its emobox_fold configs
    speakers: dict = field(default_factory=dict)  # protocol -> split -> speakers
    label_names: list[str] = field(default_factory=list)  # the dataset's labels, in id order
    label_plan: object = None  # hf_ser.data.label_plan.LabelPlan of a build other than the eight-emotion one
    sources: list = field(default_factory=list)  # the SourceScans of a user's inputs (how each was read)

    def skipped_by_reason(self) -> Counter:
        return Counter((c, _reason_kind(r)) for c, _, _, r in self.skipped)


def _reason_kind(reason: str) -> str:
    return reason.split(" (")[0].split(":")[0]


def dataset_features(label_names=EMOTIONS, corpora=CORPORA, extra: tuple[str, ...] = (), *, own: bool = False):
    """The columns of a build: the eight-emotion dataset's, or (``own``) those plus ``language``, ``raw_label`` and
    ``extra`` string columns of a user's data."""
    from datasets import Audio, ClassLabel, Features, Value

    columns = {
        "audio": Audio(sampling_rate=SAMPLING_RATE),
        "label": ClassLabel(names=list(label_names)),
        "corpus": ClassLabel(names=list(corpora)),
        "speaker": Value("string"),
        "gender": Value("string"),
        "text": Value("string"),
        "intensity": Value("string"),
    }
    if own:
        columns |= {"language": Value("string"), "raw_label": Value("string")}
    columns |= {"file": Value("string"), "duration": Value("float32"), "original_sampling_rate": Value("int32")}
    if own:
        columns |= {name: Value("string") for name in extra}
    return Features(columns)


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


def scan_more_corpora(corpora: dict[str, str]) -> list[ScanResult]:
    """The corpora of MORE_CORPORA, each read by its scanner, as SourceScans (the label layer's path, raw_label
    kept), with the grammar and what the corpus's documentation leaves open as notes for the card."""
    results = []
    for name, folder in corpora.items():
        info, scanner = MORE_CORPORA[name]
        try:
            scan = scanner(folder)
        except CorpusError as err:
            raise BuildError(str(err)) from err
        results.append(SourceScan(corpus=name, root=scan.root, utterances=scan.utterances, skipped=scan.skipped,
                                  ignored_non_audio=scan.ignored_non_audio, kind=f"{info.display} scanner",
                                  label_names=info.label_set,
                                  notes=[f"{info.display}: read as {info.grammar}", *info.notes]))  # fmt: skip
    return results


def scan_sources(sources: dict[str, str], options: SourceOptions) -> list[ScanResult]:
    """A user's inputs as ScanResults, their speakers prefixed with the corpus (``emodb_03``) as the four's are."""
    results = []
    for name, location in sources.items():
        try:
            scan = read_source(location, options, corpus=name)
        except SourceError as err:
            raise BuildError(str(err)) from err
        for u in scan.utterances:
            if u.corpus != name:
                _check_corpus_name(u.corpus, f"{location}: the corpus column")
        scan.utterances = [
            replace(u, speaker=None if u.speaker is None else f"{u.corpus}_{u.speaker}") for u in scan.utterances
        ]
        results.append(scan)
    return results


def build_fingerprint(rows: list[dict], assignment, features) -> str:
    """12 hex digits that change whenever the dataset's content does (audio, metadata, splits, features).

    They go into every Parquet file name and the card's ``data_files``: datasets keys its Arrow cache of a local
    folder by the folder's *name*, the config and those patterns, so without them two folders of the same name,
    or a folder rebuilt in place, would be served one another's cached data by a plain ``load_dataset(DIR)``.
    """
    h = hashlib.sha256()
    for i, r in enumerate(rows):
        h.update("\x1f".join(str(r[k]) for k in ("corpus", "file", "emotion", "speaker", "gender")).encode())
        h.update(b"\x1f" + r["sha1"].hex().encode())  # the hex digest, as the fingerprint has always hashed it
        h.update("\x1f".join(map(str, assignment.block(i))).encode() + b"\x1e")
    h.update(json.dumps([assignment.k, assignment.corpus_rule], sort_keys=True).encode())
    h.update(json.dumps(features.to_dict(), sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def _relabel(rows: list[dict], scans: list[ScanResult], cfg: BuildConfig, skipped: list) -> tuple[list[dict], object]:
    """Rows under the build's label set (the eight emotions after ``label_map``, or the data's own plan)."""
    if cfg.preset:
        to_label = merged_labels(EMOTIONS, cfg.label_map)[1]
        for r in rows:  # merges first, so splits are stratified by the labels the dataset has
            r["emotion"] = to_label[r["emotion"]]
        return rows, None
    per_corpus: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        per_corpus[r["corpus"]].append(r["emotion"])
    orders = [getattr(s, "label_names", None) for s in scans] if len(scans) == 1 else []
    try:
        plan = plan_labels(per_corpus, orders, label_map=cfg.label_map, keep=cfg.labels)
    except LabelPlanError as err:
        raise BuildError(str(err)) from err
    kept = []
    for r in rows:
        r["raw_label"] = r.get("raw_label") or r["emotion"]
        target = plan.to_label[r["emotion"]]
        if target is None:
            skipped.append((r["corpus"], r["file"], "labels", plan.reason(r["emotion"])))
            continue
        r["emotion"] = target
        kept.append(r)
    return kept, plan


def _features(rows: list[dict], cfg: BuildConfig, plan, corpora: list[str]):
    extra = tuple(dict.fromkeys(k for r in rows for k, _ in r.get("extra") or ()))
    features = (dataset_features(cfg.label_names) if cfg.preset
                else dataset_features(plan.names, corpora, extra, own=True))  # fmt: skip
    return features, extra


def _table_maker(rows: list[dict], cfg: BuildConfig, features, extra: tuple[str, ...], cache: DecodeCache):
    """``table_of(indices)``: the Arrow table of those rows, their audio read back from the decode cache (encoded by
    the features as ``Dataset.from_dict`` encodes them, without a Dataset around each row group)."""
    import pyarrow as pa

    schema = features.arrow_schema

    def table_of(indices: list[int]):
        part = [rows[i] for i in indices]
        data = {
            "audio": [{"bytes": cache.read(r["offset"], r["length"]),
                       "path": f"{r['corpus']}/{Path(r['file']).with_suffix('.wav').as_posix().lstrip('/')}"} for r in part],
            "label": [r["emotion"] for r in part],
            "corpus": [r["corpus"] for r in part],
            "speaker": [r["speaker"] for r in part],
            "gender": [r["gender"] for r in part],
            "text": [r["text"] for r in part],
            "intensity": [r["intensity"] for r in part],
        }  # fmt: skip
        if not cfg.preset:
            data |= {"language": [r.get("language") for r in part], "raw_label": [r.get("raw_label") for r in part]}
        data |= {"file": [r["file"] for r in part], "duration": [r["duration"] for r in part],
                 "original_sampling_rate": [r["orig_sr"] for r in part]}  # fmt: skip
        for name in extra:
            data[name] = [dict(r.get("extra") or ()).get(name) for r in part]
        return pa.Table.from_pydict(features.encode_batch(data), schema=schema)

    return table_of


def _row_bytes(r: dict) -> int:
    """A row's size in the Parquet files: its WAV and a generous allowance for the metadata columns."""
    return r["length"] + 256


def build_dataset(cfg: BuildConfig, *, command: str | None = None) -> BuildReport:
    """Build the dataset folder ``cfg.output_dir`` (Parquet per protocol/split + README.md card + skipped.csv)."""
    import time

    import datasets  # noqa: F401

    # datasets imports torch and torchcodec lazily, when it first encodes audio. Import them before a partial build
    # exists: Ctrl-C/SIGTERM raised inside a C extension's first import can abort the interpreter (SIGABRT, seen in
    # test_sigterm_during_a_build_cleans_up_like_ctrl_c) instead of cleaning up.
    import torch  # noqa: F401
    import torchcodec.encoders  # noqa: F401

    cfg.validate()
    t0 = time.perf_counter()
    output_dir = Path(cfg.output_dir).expanduser().resolve()
    local_sources = {f"--manifest {k}": v for k, v in cfg.sources.items() if Path(v).expanduser().exists()}
    check_no_overlap(output_dir, {**cfg.corpora, **cfg.more_corpora, **local_sources})
    scans = (
        scan_corpora(cfg.corpora) + scan_more_corpora(cfg.more_corpora) + scan_sources(cfg.sources, cfg.source_options)
    )
    work = prepare_output(output_dir, cfg.overwrite)
    cache = None
    try:
        utterances = [u for s in scans for u in s.utterances]
        skipped: list[tuple[str, str, str, str]] = [
            (k.corpus, k.file, "scan", k.reason) for s in scans for k in s.skipped
        ]
        given = [u.given for u in utterances]
        if any(given) and not all(given):
            raise BuildError(f"{sum(g is None for g in given)} of {len(given)} clips have no split while the others "
                             "have one; give every row a split (train, validation, test) or none")  # fmt: skip
        cache = DecodeCache(cache_folder(output_dir))
        if cache.resumed:
            logger.warning("resuming: %d clips decoded by an interrupted build are read back from %s",
                           cache.resumed, cache.folder)  # fmt: skip
        for s in scans:
            s.release()  # `utterances` holds the records from here on, then the rows do
        decoded = decode_into(cache, utterances, cfg.num_proc)  # where each clip's audio is, in columns
        rows = rows_from(utterances, decoded, skipped)  # each record is held once: as an Utterance, then as its row
        del decoded, utterances
        rows, dup_skips = _resolve_identical_audio(rows)
        skipped.extend(dup_skips)
        rows, plan = _relabel(rows, scans, cfg, skipped)
        if not rows:
            raise BuildError("every file was skipped; nothing to build (see the reasons above)")
        corpora = [c for c in CORPORA if c in cfg.corpora] + list(dict.fromkeys(
            r["corpus"] for r in rows if r["corpus"] not in CORPORA))  # fmt: skip
        features, extra = _features(rows, cfg, plan, corpora)
        try:
            assignment = assign_protocols(rows, test_size=cfg.test_size, validation_size=cfg.validation_size,
                                          seed=cfg.seed, k=cfg.folds, stratify_by_label=not cfg.preset,
                                          require_speakers=cfg.preset, emobox=cfg.emobox_folds)  # fmt: skip
        except ProtocolError as err:
            raise BuildError(str(err)) from err
        fingerprint = build_fingerprint(rows, assignment, features)
        files = write_blocks(assignment, work, fingerprint, features, [_row_bytes(r) for r in rows],
                             _table_maker(rows, cfg, features, extra, cache))  # fmt: skip
        configs, left_out = protocol_files(assignment, files, [r["corpus"] for r in rows])
        split_tables: dict[str, dict[str, Counter]] = {}
        speakers: dict[str, dict[str, int]] = {}
        for protocol in configs:
            idx = assignment.indices(protocol)
            split_tables[protocol] = {
                s: Counter((rows[i]["corpus"], rows[i]["emotion"]) for i in idx[s]) for s in SPLITS
            }
            speakers[protocol] = {s: len({rows[i]["speaker"] for i in idx[s] if rows[i]["speaker"]}) for s in SPLITS}
        _write_skipped(work / "skipped.csv", skipped)
        final: dict[str, dict[str, int]] = defaultdict(dict)
        for (corpus, emotion), n in Counter((r["corpus"], r["emotion"]) for r in rows).items():
            final[corpus][emotion] = n
        report = BuildReport(
            output_dir=str(output_dir),
            scanned={s.corpus: s.counts() for s in scans},
            final=dict(final),
            skipped=skipped,
            split_counts={p: {s: sum(c.values()) for s, c in t.items()} for p, t in split_tables.items()},
            configs=configs,
            left_out=left_out,
            corpus_rule=assignment.corpus_rule,
            emobox_rule=assignment.emobox.rule if assignment.emobox is not None else {},
            speakers=speakers,
            total_hours=sum(r["duration"] for r in rows) / 3600,
            fingerprint=fingerprint,
            label_names=cfg.label_names if cfg.preset else plan.names,
            label_plan=plan,
            sources=[s for s in scans if s.corpus in cfg.sources or s.corpus in cfg.more_corpora],
        )
        if cfg.preset:
            from hf_ser.data.dataset_card import render_dataset_card

            card = render_dataset_card(cfg, report, split_tables, features, folder=work, command=command)
        else:
            from hf_ser.data.own_card import render_own_dataset_card

            card = render_own_dataset_card(cfg, report, split_tables, features, folder=work, command=command)
        card.save(str(work / "README.md"))
        (work / "LICENSE.md").write_text(licence_file(list(features["corpus"].names), cfg.more_corpora))
        work.chmod(0o755)  # mkdtemp makes it owner-only
        swap_in(work, output_dir)
    except BaseException as err:
        shutil.rmtree(work, ignore_errors=True)
        if cache is not None:
            _keep_or_drop(cache, err)
        raise
    if cache is not None:
        cache.remove()  # the build is in place: what it decoded is in its Parquet files
    report.total_seconds = time.perf_counter() - t0
    return report


def _keep_or_drop(cache: DecodeCache, err: BaseException) -> None:
    """After a failed or interrupted build: keep what was decoded (and say where), or remove an empty cache."""
    decoded = cache.decoded
    if not decoded:
        cache.remove()
        return
    size = cache.size_bytes()
    cache.close()
    err.add_note(
        f"{decoded} decoded clips ({size / 2**30:.2f} GiB) are kept in {cache.folder}: the same "
        "build into the same --output reads them back instead of decoding again (delete the folder to free "
        "the space)"
    )


def build_eight_emotions(cfg: BuildConfig, *, command: str | None = None) -> BuildReport:
    """The paper's dataset (the four corpora): :func:`build_dataset` of a config without a user's inputs."""
    return build_dataset(cfg, command=command)


def _write_skipped(path: Path, skipped: list[tuple[str, str, str, str]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["corpus", "file", "stage", "reason"])
        w.writerows(sorted(skipped))
