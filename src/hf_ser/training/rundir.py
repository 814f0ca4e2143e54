"""A run's output folder: never replace a finished run by accident, resume the checkpoint the user means."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

__all__ = ["RUN_ARTEFACTS", "RunDirError", "prepare_run_dir"]

logger = logging.getLogger(__name__)

# What a run writes at the top of its folder; --overwrite_output_dir removes these (and checkpoint-*), nothing else.
RUN_ARTEFACTS = (
    "results.json",
    "validation_predictions.csv",
    "test_predictions.csv",
    "confusion_matrix.png",
    "README.md",
    "config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "training_args.bin",
    "adapter",
    "runs",
)
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class RunDirError(ValueError):
    """An output folder that cannot be used as asked; the message names the flag and what to do."""


def _checkpoints(folder: Path) -> list[Path]:
    found = [(int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    return [p for _, p in sorted(found)]


def prepare_run_dir(
    output_dir: str, resume: str | bool | None, *, overwrite: bool, is_main: bool = True
) -> str | None:
    """Check ``output_dir`` before anything is loaded; returns the checkpoint to resume from (or None).

    - a file in the way, or ``--resume_from_checkpoint`` with nothing to resume: RunDirError;
    - a folder holding a run (results.json, a model or checkpoint-*): refused unless resuming it, or unless
      ``overwrite``, which removes that run's artefacts (on the main process) so a later ``last`` cannot pick a
      stale checkpoint.
    """
    from hf_ser.outputs import OutputPathError, check_output_path

    try:
        out = check_output_path(output_dir, "--output_dir", folder=True)
    except OutputPathError as err:
        raise RunDirError(str(err)) from err
    if isinstance(resume, str) and resume.lower() in {"last", "true"}:
        resume = True
    if isinstance(resume, str) and resume.lower() in {"false", "none", ""}:
        resume = None
    if resume is True:
        checkpoints = _checkpoints(out) if out.is_dir() else []
        if not checkpoints:
            raise RunDirError(
                f"--resume_from_checkpoint last: no checkpoint-* folder in {output_dir} to resume; run without it to "
                "start afresh"
            )
        last = checkpoints[-1]
        if not (last / "trainer_state.json").is_file():
            raise RunDirError(
                f"--resume_from_checkpoint last: {last} has no trainer_state.json (an interrupted save?)"
            )
        return str(last)
    if resume:
        path = Path(resume).expanduser()
        if not path.is_dir() or not (path / "trainer_state.json").is_file():
            raise RunDirError(f"--resume_from_checkpoint {resume}: not a checkpoint folder (no trainer_state.json)")
        return str(path)
    if not out.is_dir():
        return None
    existing = [name for name in RUN_ARTEFACTS if (out / name).exists() and name not in ("README.md", "runs")]
    checkpoints = _checkpoints(out)
    if not existing and not checkpoints:
        return None
    what = ", ".join(existing + [p.name for p in checkpoints][-3:])
    if not overwrite:
        raise RunDirError(
            f"--output_dir {output_dir} already holds a run ({what}). Pass --overwrite_output_dir to replace it, "
            "--resume_from_checkpoint last to continue it, or choose another --output_dir."
        )
    if is_main:
        for p in checkpoints:
            shutil.rmtree(p)
        for name in RUN_ARTEFACTS:
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        logger.warning("--overwrite_output_dir: removed the previous run in %s (%s)", output_dir, what)
    return None
