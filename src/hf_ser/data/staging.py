"""Where a build is written: never over its inputs, never over a folder it did not write, and never half-written
(it is built beside the target and swapped in whole)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["BUILD_FILES", "BuildError", "check_no_overlap", "looks_like_a_build", "prepare_output", "swap_in"]


class BuildError(RuntimeError):
    """A build that cannot go on (an output folder it must not write, bad input); the message is meant for the terminal as it is."""


# What a build writes at the top of its folder: --overwrite replaces a folder holding only these.
BUILD_FILES = {"README.md", "LICENSE.md", "skipped.csv"}


def check_no_overlap(output_dir: Path, corpora: dict[str, str]) -> None:
    """An output that is, contains or sits inside an input would be read while written, or deleted by --overwrite."""
    for name, folder in corpora.items():
        root = Path(folder).expanduser().resolve()
        flag = name if name.startswith("--") else "--" + name.replace("_", "-")
        if output_dir == root or root in output_dir.parents or output_dir in root.parents:
            where = "is" if output_dir == root else "is inside" if root in output_dir.parents else "contains"
            raise BuildError(
                f"--output {output_dir} {where} the {flag} folder {root}: write the dataset somewhere else "
                "(nothing was touched)"
            )


def looks_like_a_build(folder: Path) -> bool:
    for p in folder.iterdir():
        if p.is_dir():
            if any(q.suffix != ".parquet" for q in p.iterdir()):
                return False
        elif p.name not in BUILD_FILES:
            return False
    return True


def prepare_output(output_dir: Path, overwrite: bool) -> Path:
    if output_dir.exists():
        if not output_dir.is_dir():
            raise BuildError(f"--output {output_dir} exists and is not a folder")
        if any(output_dir.iterdir()):
            if not overwrite:
                raise BuildError(f"--output {output_dir} exists and is not empty; pass --overwrite to replace it")
            if not looks_like_a_build(output_dir):
                raise BuildError(
                    f"--output {output_dir} holds files a dataset build did not write; --overwrite only replaces a "
                    "folder this script built (README.md, LICENSE.md, skipped.csv and folders of Parquet files)"
                )
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename at the end: an interrupted build leaves no half-written dataset.
    return Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))


def swap_in(work: Path, output_dir: Path) -> None:
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
