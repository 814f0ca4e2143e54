"""A user's own corpus, prepared once: ``--dataset manifest.csv`` (or an audiofolder, a save_to_disk or Parquet
folder, a Hub id) is built by :func:`hf_ser.data.build.build_dataset` into hf-ser's cache and loaded from there.

The audio is decoded, checked, downmixed and resampled once, not per epoch or per run: the prepared folder is keyed
by the content of the input (its rows, each audio file's size and modification time or the embedded bytes' hash),
the column options and the split parameters, so the same data and options find the same folder, and any change
builds a new one. A lock makes concurrent processes (``accelerate launch``) wait for one build, not race."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from hf_ser.data.sources import SourceOptions, corpus_name_for, read_source

__all__ = ["PREPARE_VERSION", "SplitOptions", "is_hf_ser_build", "prepare_dataset", "prepared_key"]

logger = logging.getLogger(__name__)

PREPARE_VERSION = 1  # bump when a prepared folder's layout or content rules change


@dataclass(frozen=True)
class SplitOptions:
    """The protocol parameters of a prepared corpus (the builder's defaults)."""

    seed: int = 42
    test_size: float = 0.2
    validation_size: float = 0.1
    folds: int = 5


def is_hf_ser_build(path: Path) -> bool:
    """A folder written by hf-ser's builder: its card is tagged ``hf-ser`` and lists configs, or it holds
    ``<protocol>/<split>-*.parquet`` folders made by hand."""
    card = path / "README.md"
    if card.is_file():
        from huggingface_hub import DatasetCard

        try:
            data = DatasetCard.load(card).data.to_dict()
        except Exception:  # noqa: BLE001 - any unreadable card: not one of ours
            data = {}
        if "hf-ser" in (data.get("tags") or []) and data.get("configs"):
            return True
    return any((path / p).is_dir() and any((path / p).glob("train-*.parquet")) for p in ("random", "speaker"))


def _content_signature(scan) -> str:
    h = hashlib.sha256()
    for u in scan.utterances:
        if u.data is not None:
            stat = hashlib.sha1(u.data).hexdigest()
        else:
            st = os.stat(u.path)
            stat = f"{st.st_size}:{st.st_mtime_ns}"
        fields = (u.corpus, u.file, u.emotion, u.raw_label, u.speaker, u.gender, u.given, u.text, u.language,
                  u.intensity, json.dumps(u.extra), stat)  # fmt: skip
        h.update("\x1f".join(map(str, fields)).encode() + b"\x1e")
    for k in scan.skipped:
        h.update(f"{k.file}\x1f{k.reason}\x1e".encode())
    return h.hexdigest()


def prepared_key(location: str, scan, options: SourceOptions, split: SplitOptions) -> str:
    spec = {"version": PREPARE_VERSION, "kind": scan.kind, "location": str(Path(location).expanduser().resolve())
            if Path(location).expanduser().exists() else location, "options": options.as_dict(),
            "split": split.__dict__, "content": _content_signature(scan)}  # fmt: skip
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def prepare_dataset(location: str, options: SourceOptions | None = None, split: SplitOptions | None = None, *,
                    cache_dir: str | Path | None = None, num_proc: int | None = None) -> Path:  # fmt: skip
    """The folder of ``location`` prepared as an hf-ser dataset (built on first use, reused after)."""
    from filelock import FileLock

    from hf_ser.data.build import BuildConfig, build_dataset
    from hf_ser.outputs import cache_root

    options = options or SourceOptions()
    split = split or SplitOptions()
    name = corpus_name_for(location)
    scan = read_source(location, options, corpus=name)  # reads the rows, not the audio: cheap
    root = Path(cache_dir) if cache_dir else cache_root() / "datasets"
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"{name}-{prepared_key(location, scan, options, split)}"
    with FileLock(str(folder) + ".lock"):
        if (folder / "README.md").is_file():
            logger.info("--dataset %s: using the copy prepared in %s", location, folder)
            return folder
        logger.warning("--dataset %s: preparing it once (decode, check, resample to 16 kHz, protocols) into %s",
                       location, folder)  # fmt: skip
        cfg = BuildConfig(output_dir=str(folder), sources={name: location}, source_options=options, seed=split.seed,
                          test_size=split.test_size, validation_size=split.validation_size, folds=split.folds,
                          num_proc=num_proc or min(8, os.cpu_count() or 1))  # fmt: skip
        report = build_dataset(cfg, command=f"--dataset {location} (prepared by hf-ser)")
        if report.skipped:
            logger.warning("--dataset %s: %d clip(s) skipped, each with its reason in %s", location,
                           len(report.skipped), folder / "skipped.csv")  # fmt: skip
    return folder
