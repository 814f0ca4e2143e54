"""The rows `hf-ser predict` writes: their columns, one row from a result, CSV/JSONL writers, and recognising an
earlier output (which a new run may replace)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

__all__ = ["HEADER", "Writer", "columns", "is_predictions_file", "make_row", "write_rows"]

HEADER = ("file", "kind", "start", "end", "status")


def columns(labels, top_k) -> list[str]:
    return [*HEADER, "label", "score", *[f"p_{x}" for x in labels],
            *([f"top_{k}" for k in range(1, top_k + 1)] if top_k > 1 else [])]  # fmt: skip


def make_row(file, kind, start, end, status, probs, labels, top_k) -> dict:
    row = {"file": file, "kind": kind, "start": _round(start), "end": _round(end), "status": status}
    if probs is None:
        row.update({"label": "", "score": None, **{f"p_{x}": None for x in labels}})
    else:
        order = sorted(range(len(labels)), key=lambda i: -probs[i])
        row.update({"label": labels[order[0]], "score": round(float(probs[order[0]]), 6),
                    **{f"p_{x}": round(float(p), 6) for x, p in zip(labels, probs, strict=True)}})  # fmt: skip
        if top_k > 1:
            row.update({f"top_{k + 1}": f"{labels[i]}:{probs[i]:.4f}" for k, i in enumerate(order[:top_k])})
    return row


def _round(x):
    return None if x is None else round(float(x), 3)


class Writer:
    """CSV (with its header) or JSONL rows to an open text file, flushed after each row."""

    def __init__(self, fmt: str, fh, cols: list[str]):
        self.fmt, self.fh, self.columns = fmt, fh, cols
        if fmt == "csv":
            self.csv = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
            self.csv.writeheader()

    def write(self, row: dict) -> None:
        if self.fmt == "csv":
            self.csv.writerow({k: ("" if v is None else v) for k, v in row.items()})
        else:
            self.fh.write(json.dumps({k: row.get(k) for k in self.columns}) + "\n")
        self.fh.flush()


def write_rows(fmt: str, fh, cols: list[str], rows) -> None:
    writer = Writer(fmt, fh, cols)
    for row in rows:
        writer.write(row)


def is_predictions_file(path: Path) -> bool:
    """An earlier `hf-ser predict` output (CSV header, JSONL keys or a Parquet file's columns)."""
    if Path(path).suffix.lower() == ".parquet":
        try:
            import pyarrow.parquet as pq

            return set(HEADER) <= set(pq.read_schema(path).names)
        except Exception:  # noqa: BLE001 - not a Parquet file (or unreadable): not ours
            return False
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    if first.startswith(",".join(HEADER)):
        return True
    try:
        return set(HEADER) <= set(json.loads(first))
    except (ValueError, TypeError):
        return False
