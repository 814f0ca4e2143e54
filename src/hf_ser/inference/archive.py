"""Predicting a whole archive: the file list sharded over processes (``accelerate launch -m hf_ser.cli predict``),
each process's rows in its own part file, merged in input order by the main process; ``--resume`` skips the files
already done.

While a run with ``--output OUT`` works, its rows go to ``OUT.parts/part-<rank>.jsonl``: one line per finished file
(every row of that file, and its position in the input list), appended and flushed as each file ends. A crash, a
kill or Ctrl-C leaves those lines, each whole (a torn last line is ignored when read), and no ``OUT``: nothing that
looks complete when it is not. When every process is done, the main process writes ``OUT`` (CSV, JSONL or Parquet,
by its suffix or ``--format``) atomically, in input order, and removes the parts. ``--resume`` reads the parts of
an unfinished run and the rows of a finished ``OUT``, and skips every file they hold; without it, parts left by an
unfinished run stop the command with a message rather than being overwritten.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FORMATS", "ArchiveError", "PartWriter", "Shard", "done_rows", "merge_parts", "output_format", "parts_dir"]

FORMATS = ("csv", "jsonl", "parquet")


class ArchiveError(RuntimeError):
    """A run that cannot go on as asked (unfinished parts without --resume, ...); the message says what to do."""


@dataclass(frozen=True)
class Shard:
    """This process's share of the input: every ``world``-th file from ``rank``."""

    rank: int = 0
    world: int = 1

    @classmethod
    def from_accelerate(cls) -> Shard:
        """The shard of this process under ``accelerate launch`` (one process otherwise)."""
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return cls()
        import torch
        from accelerate import PartialState

        # without CUDA the processes meet over gloo (accelerate's multi-GPU launcher on a CPU machine)
        state = PartialState(cpu=not torch.cuda.is_available())
        return cls(state.process_index, state.num_processes)

    def indices(self, n: int) -> list[int]:
        return list(range(self.rank, n, self.world))

    @property
    def main(self) -> bool:
        return self.rank == 0

    def wait(self) -> None:
        if self.world > 1:
            from accelerate import PartialState

            PartialState().wait_for_everyone()


def output_format(path: str | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    suffix = Path(path).suffix.lower() if path else ""
    return {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}.get(suffix, "csv")


def parts_dir(output: str | os.PathLike) -> Path:
    out = Path(output)
    return out.with_name(f"{out.name}.parts")


class PartWriter:
    """Appends one JSON line per finished file to this process's part file, flushed and synced to disk."""

    def __init__(self, output: str | os.PathLike, shard: Shard):
        folder = parts_dir(output)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"part-{shard.rank:05d}.jsonl"
        self.fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - held open for the run, closed by close()

    def write(self, index: int, file: str, rows: list[dict]) -> None:
        self.fh.write(json.dumps({"index": index, "file": file, "rows": rows}) + "\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


def _read_parts(folder: Path) -> Iterable[dict]:
    for part in sorted(folder.glob("part-*.jsonl")):
        with open(part, encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                except ValueError:  # the torn last line of a killed process: that file is done again
                    continue
                if isinstance(record, dict) and {"index", "file", "rows"} <= set(record):
                    yield record


def _read_output(path: Path, fmt: str) -> list[dict]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        if fmt == "jsonl":
            return [json.loads(line) for line in fh if line.strip()]
        import csv

        rows = [{k: (None if v == "" else v) for k, v in row.items()} for row in csv.DictReader(fh)]
    numeric = {"start", "end", "score"}
    return [{k: (float(v) if v is not None and (k in numeric or k.startswith("p_")) else v) for k, v in row.items()}
            for row in rows]  # fmt: skip


def done_rows(output: str | os.PathLike, fmt: str, resume: bool) -> dict[str, list[dict]]:
    """file -> its rows, for the files a run may skip: with ``resume``, those in an unfinished run's parts and in a
    finished output. Without it, an unfinished run's parts are an error (they would be lost)."""
    out, folder = Path(output), parts_dir(output)
    has_parts = folder.is_dir() and any(folder.glob("part-*.jsonl"))
    if not resume:
        if has_parts:
            raise ArchiveError(f"--output {output}: an unfinished run left its rows in {folder}; pass --resume to "
                               "continue it (files done there are skipped), or remove that folder to start over")  # fmt: skip
        return {}
    done: dict[str, list[dict]] = {}
    if out.is_file():
        for row in _read_output(out, fmt):
            done.setdefault(str(row["file"]), []).append(row)
    if has_parts:
        for record in _read_parts(folder):
            done[str(record["file"])] = record["rows"]
    return done


def merge_parts(output: str | os.PathLike, fmt: str, files: list[str], columns: list[str],
                earlier: dict[str, list[dict]]) -> list[dict]:  # fmt: skip
    """Write ``output`` from the parts and the ``earlier`` rows (a resumed run's), in the order of ``files``,
    atomically; remove the parts; return the rows written. Rows of files no longer in the input are dropped."""
    from hf_ser.outputs import atomic_file

    folder = parts_dir(output)
    by_file = dict(earlier)
    if folder.is_dir():
        for record in _read_parts(folder):
            by_file[str(record["file"])] = record["rows"]
    rows = [row for f in files for row in by_file.get(f, [])]
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows], schema=_schema(columns))
        with atomic_file(output, "wb") as fh:
            pq.write_table(table, fh)
    else:
        from hf_ser.inference.rows import write_rows

        with atomic_file(output, newline="", encoding="utf-8", errors="surrogateescape") as fh:
            write_rows(fmt, fh, columns, rows)
    for part in folder.glob("part-*.jsonl"):  # only what a run wrote: never a folder of someone else's files
        part.unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()
    return rows


def _schema(columns: list[str]):
    import pyarrow as pa

    numeric = {"start", "end", "score"} | {c for c in columns if c.startswith("p_")}
    return pa.schema([(c, pa.float64() if c in numeric else pa.string()) for c in columns])
