"""Scoring a model on a dataset split: batch-independent logits, the SER bundle, per-clip predictions.

The same functions score validation during training, the test split in ``results.json`` and ``recipes/eval.py score``,
so a saved model re-scored at any batch size reproduces the numbers its run reported (see :mod:`hf_ser.inference.forward`).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from hf_ser.data.loading import DataError, describe_splits, load_ser_dataset, select_labels, split_summary
from hf_ser.data.transforms import EvalTransform, clip_lengths
from hf_ser.evaluation.metrics.functional import ser_metrics, softmax
from hf_ser.evaluation.stats import bootstrap_intervals
from hf_ser.inference.forward import forward_arrays, length_sorted_batches, padding_sensitive
from hf_ser.labels import CORPORA, EMOTIONS, align_labels, model_labels
from hf_ser.modeling.architectures import fixed_input_samples

__all__ = [
    "NonFiniteLogitsError",
    "clip_ids",
    "clips_fingerprint",
    "model_labels",
    "predict_split",
    "score_checkpoint",
    "score_logits",
    "split_labels",
    "write_predictions",
]

logger = logging.getLogger(__name__)


class NonFiniteLogitsError(ValueError):
    """A model that produced NaN or infinite logits (a diverged run)."""


def predict_split(
    model,
    feature_extractor,
    raw_split,
    *,
    batch_size: int = 16,
    device=None,
    autocast_dtype: torch.dtype | None = None,
    num_workers: int = 0,
    desc: str = "Scoring",
) -> tuple[np.ndarray, np.ndarray]:
    """(logits N x the model's labels, in its ``id2label`` order; label ids N) of whole clips, in the split's row order.

    Clips are read in length order so batches pad little; a padding-sensitive model never sees padding at all.
    """
    from torch.utils.data import DataLoader

    config = model.config
    equal_length = padding_sensitive(config, feature_extractor)
    lengths = clip_lengths(raw_split)
    window = fixed_input_samples(feature_extractor)
    if window and lengths is not None and (cut := sum(n > window for n in lengths)):
        logger.warning("%d of %d clips are longer than the model's %g s input window: they are scored on their first "
                       "%g s (the feature extractor cuts the rest)", cut, len(lengths), window / feature_extractor.sampling_rate,
                       window / feature_extractor.sampling_rate)  # fmt: skip
    if lengths is None:
        batches = [list(range(i, min(i + batch_size, len(raw_split)))) for i in range(0, len(raw_split), batch_size)]
    else:
        batches = length_sorted_batches(lengths, batch_size=batch_size, equal_length=equal_length)
    view = raw_split.with_transform(EvalTransform())
    loader = DataLoader(view, batch_sampler=batches, collate_fn=lambda rows: rows, num_workers=num_workers)
    logits = np.zeros((len(raw_split), config.num_labels), dtype=np.float32)
    labels = np.zeros(len(raw_split), dtype=np.int64)
    for idx, rows in zip(batches, tqdm(loader, desc=desc, unit="batch", leave=False), strict=True):
        arrays = [r["input_values"] for r in rows]
        logits[idx] = forward_arrays(model, feature_extractor, arrays, equal_length=equal_length, device=device,
                                     autocast_dtype=autocast_dtype)  # fmt: skip
        labels[idx] = [r["labels"] for r in rows]
    return logits, labels


def score_logits(
    logits: np.ndarray,
    labels: np.ndarray,
    corpus: np.ndarray | None = None,
    corpus_names=CORPORA,
    *,
    speakers: Sequence[str] | None = None,
    n_boot: int = 1000,
    label_names: Sequence[str] = EMOTIONS,
) -> dict:
    """The SER bundle of one split plus per-corpus accuracy, the clip count and 95% bootstrap intervals of accuracy,
    macro F1, UAR and EER over clips and (with ``speakers``) over speakers (hf_ser.evaluation.stats)."""
    bad = int((~np.isfinite(logits)).any(axis=1).sum())
    if bad:
        raise NonFiniteLogitsError(f"the model produced NaN or infinite logits for {bad} of {len(logits)} clips")
    result = ser_metrics(logits, labels, label_names=list(label_names))
    result["label_names"] = list(label_names)
    result["num_samples"] = int(len(labels))
    if corpus is not None:
        pred = logits.argmax(axis=1)
        result["per_corpus_accuracy"] = {
            corpus_names[c]: float((pred[corpus == c] == labels[corpus == c]).mean())
            for c in sorted(set(corpus.tolist()))
        }
    if n_boot:
        probs = softmax(logits.astype(np.float64))
        result["intervals"] = {
            "level": 0.95,
            "resamples": n_boot,
            "clips": bootstrap_intervals(probs, labels, n_boot=n_boot),
        }
        if speakers is not None and len(set(speakers)) >= 2:
            result["intervals"]["speakers"] = bootstrap_intervals(probs, labels, groups=list(speakers), n_boot=n_boot)
            result["intervals"]["num_speakers"] = len(set(speakers))
    return result


def corpus_column(raw_split) -> tuple[np.ndarray | None, list[str]]:
    if "corpus" not in raw_split.column_names:
        return None, list(CORPORA)
    names = getattr(raw_split.features["corpus"], "names", None) or list(CORPORA)
    return np.asarray(raw_split["corpus"]), list(names)


def clip_ids(raw_split) -> list[str]:
    """A stable id per clip, the same whoever scores the split and in whatever order: ``corpus/file`` where the
    dataset has them, else a hash of the clip's stored audio bytes; a repeated id gets ``#2``, ``#3`` (in row order).
    What ``compare`` pairs runs by."""
    import hashlib
    from collections import Counter

    if "file" in raw_split.column_names:
        corpus, names = corpus_column(raw_split)
        files = raw_split["file"]
        base = [f"{names[c]}/{f}" for c, f in zip(corpus, files, strict=True)] if corpus is not None else list(files)
    else:
        from datasets import Audio

        view = raw_split.select_columns(["audio"]).cast_column("audio", Audio(decode=False))
        base = []
        for row in view:
            data = row["audio"]["bytes"] or Path(row["audio"]["path"]).read_bytes()
            base.append("sha1:" + hashlib.sha1(data).hexdigest()[:16])
    seen: Counter = Counter()
    out = []
    for b in base:
        seen[b] += 1
        out.append(b if seen[b] == 1 else f"{b}#{seen[b]}")
    return out


def clips_fingerprint(ids: Sequence[str]) -> str:
    """Which clips were scored (not their order): what ``compare`` checks before putting runs side by side."""
    import hashlib

    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]


def score_split(model, feature_extractor, raw_split, *, n_boot: int = 1000, ids: Sequence[str] | None = None,
                **kwargs) -> tuple[dict, np.ndarray]:  # fmt: skip
    """(result dict, logits) of one split scored by a model over the split's own labels (a run's model); the result
    names the clips it covers (``clips_fingerprint`` of ``ids``, :func:`clip_ids` when not given)."""
    names_of_model = model_labels(model.config)
    if names_of_model != split_labels(raw_split):
        raise DataError(f"the model predicts {names_of_model}, the split is labelled {split_labels(raw_split)}")
    logits, labels = predict_split(model, feature_extractor, raw_split, **kwargs)
    corpus, names = corpus_column(raw_split)
    speakers = raw_split["speaker"] if "speaker" in raw_split.column_names else None
    result = score_logits(logits, labels, corpus, names, speakers=speakers, n_boot=n_boot, label_names=names_of_model)
    result["clips_fingerprint"] = clips_fingerprint(ids if ids is not None else clip_ids(raw_split))
    return result, logits


def split_labels(raw_split) -> list[str]:
    return list(raw_split.features["label"].names)


def write_predictions(path: str | Path, raw_split, logits: np.ndarray, *, ids: Sequence[str] | None = None,
                      label_names: Sequence[str] | None = None, labels: Sequence[int] | None = None) -> Path:  # fmt: skip
    """One row per clip: its identity (corpus, speaker, file), label, prediction and a probability per label
    (``p_<label>``; ``label_names`` default to the split's, ``labels`` to its label column).

    What paired significance tests and bootstrap intervals over speakers read, and what a person opens to see
    which clips a model gets wrong.
    """
    from hf_ser.outputs import atomic_file

    probs = softmax(logits.astype(np.float64))
    cols = [c for c in ("corpus", "speaker", "file") if c in raw_split.column_names]
    meta = {c: raw_split[c] for c in cols}
    corpus_names = getattr(raw_split.features.get("corpus"), "names", None)
    names = list(label_names) if label_names is not None else split_labels(raw_split)
    labels = list(labels) if labels is not None else raw_split["label"]
    ids = ids if ids is not None else clip_ids(raw_split)
    out = Path(path)
    with atomic_file(out, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["clip_id", *cols, "label", "prediction", *[f"p_{e}" for e in names]])
        for i in range(len(labels)):
            ident = [corpus_names[meta[c][i]] if c == "corpus" and corpus_names else meta[c][i] for c in cols]
            w.writerow([ids[i], *ident, names[labels[i]], names[int(probs[i].argmax())],
                        *[f"{p:.6f}" for p in probs[i]]])  # fmt: skip
    return out


def _checkpoint_device(device: str | None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def check_score_dir(output_dir: str, model: str, dataset: str, split: str) -> Path:
    """``eval.py score --output_dir`` must not be (or hold, or lie in) the model folder or the dataset, nor a training
    run's folder (its results.json would be replaced): only a new folder, or an earlier score, which is replaced."""
    import json

    from hf_ser.outputs import OutputPathError, guard_output, is_model_folder, overlaps

    out = guard_output(output_dir, "--output_dir", folder=True, reads=[Path(model), Path(dataset)])
    if is_model_folder(out):
        raise OutputPathError(f"--output_dir {output_dir}: a model folder; a score goes into a folder of its own")
    if Path(dataset).is_dir() and overlaps(out, Path(dataset)):
        raise OutputPathError(
            f"--output_dir {output_dir}: overlaps the dataset folder {dataset}; choose another folder"
        )
    results = out / "results.json"
    if results.is_file():
        try:
            method = json.loads(results.read_text()).get("method")
        except (ValueError, OSError, AttributeError):
            method = None
        if method != "checkpoint":
            raise OutputPathError(
                f"--output_dir {output_dir}: holds {'a training run' if method else 'a results.json hf-ser did not write'}"
                " whose results.json this score would replace; choose another folder"
            )
    return out


def score_checkpoint(
    model: str,
    dataset: str,
    protocol: str,
    split: str,
    output_dir: str,
    *,
    batch_size: int = 16,
    device: str | None = None,
    label_map: Mapping[str, str] | None = None,
    source_options=None,
    labels: Sequence[str] | None = None,
) -> dict:
    """Score any saved checkpoint (local folder or Hub id) on one split, in fp32, as the run that made it did;
    writes results.json, confusion_matrix.png and <split>_predictions.csv.

    A model whose labels are not the dataset's is scored on the labels both have (:mod:`hf_ser.evaluation.alignment`,
    ``label_map`` for explicit merges); results.json's ``label_alignment`` says which, with the clips used, and a
    rectangular confusion of every dataset label x every model output is written beside
    (confusion_matrix_all_labels.png)."""
    from hf_ser.evaluation.alignment import aligned_scores, cross_confusion, describe, label_report
    from hf_ser.evaluation.reporting import confusion_markdown, plot_confusion_matrix, versions, write_json
    from hf_ser.inference.health import warn_about_labels
    from hf_ser.modeling.loading import load_classifier
    from hf_ser.outputs import is_hf_ser_png

    check_score_dir(output_dir, model, dataset, split)
    if batch_size < 1:
        raise DataError(f"--batch_size must be >= 1, got {batch_size}")
    # the model first: it fails faster than a dataset load
    net, fe = load_classifier(model, "--model")
    warn_about_labels(net.config, f"--model {model}")
    resolved: list = []
    dd = load_ser_dataset(dataset, protocol, splits=(split,), source_options=source_options, resolved=resolved)
    dd, dropped = select_labels(dd, labels)
    protocol = resolved[1]
    logger.info("%s", describe_splits(dataset, protocol, split_summary(dd), dropped))
    raw = dd[split]
    ds_names, md_names = split_labels(raw), model_labels(net.config)
    alignment = align_labels(ds_names, md_names, label_map)
    if len(alignment.names) < 2:
        what = f"only one label in common ({alignment.names[0]})" if alignment.names else "no label in common"
        raise DataError(
            f"--model {model} predicts {md_names} and --dataset {dataset} is labelled {ds_names}: {what} (after the "
            f"alias table{' and --label_map' if label_map else ''}), and scoring needs two; name the pairs with "
            "--label_map MODEL_LABEL=DATASET_LABEL,..."
        )
    dev = _checkpoint_device(device)
    net.to(dev)
    all_ids = clip_ids(raw)  # once: without a file column they hash every clip's audio
    logits_all, labels_all = predict_split(net, fe, raw, batch_size=batch_size, device=dev, desc=f"Scoring {split}")
    scores, labels, keep = aligned_scores(logits_all, labels_all, alignment)
    used = raw if keep.all() else raw.select(np.flatnonzero(keep).tolist())
    ids = [i for i, k in zip(all_ids, keep, strict=True) if k]
    corpus, corpus_names = corpus_column(used)
    speakers = used["speaker"] if "speaker" in used.column_names else None
    result = score_logits(scores, labels, corpus, corpus_names, speakers=speakers, label_names=alignment.names)
    result["clips_fingerprint"] = clips_fingerprint(ids)
    report = label_report(alignment, ds_names, md_names, labels_all, label_map)
    out = Path(output_dir)
    title = f"{Path(model).name} on {protocol}/{split}"
    if not alignment.is_identity:
        counts, percent = cross_confusion(logits_all, labels_all, len(ds_names))
        result["cross_confusion"] = {"rows": ds_names, "columns": md_names, "counts": counts, "percent": percent,
                                     "markdown": confusion_markdown(percent, ds_names, columns=md_names)}  # fmt: skip
        plot_confusion_matrix(percent, ds_names, out / "confusion_matrix_all_labels.png", columns=md_names,
                              title=f"{title}: all clips, every output")  # fmt: skip
    elif is_hf_ser_png(out / "confusion_matrix_all_labels.png"):
        (out / "confusion_matrix_all_labels.png").unlink()  # an earlier cross-label score's: not this score's
    results = {"model": model, "method": "checkpoint", "dataset": dataset, "protocol": protocol, "split": split,
               "data": {"prepared": str(resolved[0]), "splits": split_summary({split: used}),
                        "left_out_by_labels": dropped},
               "labels": list(alignment.names), "label_alignment": report, split: result, "batch_size": batch_size,
               "device": str(dev), "versions": versions(), "output_dir": str(output_dir)}  # fmt: skip
    write_json(results, out / "results.json")
    write_predictions(out / f"{split}_predictions.csv", used, scores, ids=ids, label_names=alignment.names,
                      labels=labels)  # fmt: skip
    plot_confusion_matrix(result["confusion_matrix_percent"], alignment.names, out / "confusion_matrix.png",
                          title=title)  # fmt: skip
    if not alignment.is_identity:
        logger.info("%s", describe(report))
    return results
