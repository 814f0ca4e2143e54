"""Where a command may write, and writing there safely: the one rule every hf-ser command follows.

**An output never overwrites an input, a model or a run it did not create, and a result appears at its path only
when it is complete.** Before any work, :func:`guard_output` refuses an output path that is one of the command's
inputs, lies inside a model or run folder it reads, or would replace an existing file that is not this command's own
earlier output (each kind of output is recognised by its content: a predictions table by its header, a chart by the
``Software`` tag hf-ser writes into its PNGs, ...). :func:`atomic_file` then writes under a temporary name beside the
target and renames it into place on success; on an error, Ctrl-C or SIGTERM the temporary file is removed and an
earlier result at the path is left as it was. Charts go through :func:`save_figure`, which tags them.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

__all__ = [
    "PNG_SOFTWARE",
    "cache_root",
    "OutputPathError",
    "atomic_file",
    "check_output_path",
    "guard_output",
    "is_hf_ser_png",
    "is_model_folder",
    "overlaps",
    "save_figure",
    "sigterm_as_interrupt",
]

PNG_SOFTWARE = "hf-ser"  # the tEXt 'Software' value of every chart hf-ser writes
_MODEL_FILES = (
    "config.json",
    "model.safetensors",
    "pytorch_model.bin",
    "adapter_config.json",
    "onnx/model.onnx",
    "model.onnx",
)


class OutputPathError(ValueError):
    """An output path that cannot be written as asked; the message names the flag."""


def check_output_path(path: str | os.PathLike, flag: str, *, folder: bool) -> Path:
    """Refuse, before any work, an output folder that is a file, or an output file that is a folder."""
    p = Path(path).expanduser()
    if folder and p.exists() and not p.is_dir():
        raise OutputPathError(f"{flag} {path}: a file is in the way (a folder is needed here)")
    if not folder and p.is_dir():
        raise OutputPathError(f"{flag} {path}: a folder (give a file name, e.g. {Path(path) / 'comparison.md'})")
    parent = p if folder else p.parent
    for anc in (parent, *parent.parents):
        if anc.exists():
            if not anc.is_dir():
                raise OutputPathError(f"{flag} {path}: {anc} is a file, so the folder cannot be made")
            break
    return p


def is_model_folder(path: Path) -> bool:
    """A checkpoint, adapter or exported model folder (what predict, score and export read)."""
    return path.is_dir() and any((path / name).is_file() for name in _MODEL_FILES)


def overlaps(a: Path, b: Path) -> bool:
    """True when one of the two paths is the other or lies inside it."""
    a, b = a.resolve(), b.resolve()
    return a == b or a in b.parents or b in a.parents


def is_hf_ser_png(path: Path) -> bool:
    """A PNG chart hf-ser wrote (its tEXt 'Software' chunk), so that a re-run may replace it."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            return im.format == "PNG" and str(im.info.get("Software", "")).startswith(PNG_SOFTWARE)
    except Exception:  # noqa: BLE001 - unreadable or not an image: not ours
        return False


def guard_output(path: str | os.PathLike, flag: str, *, folder: bool = False, reads: Iterable[Path] = (),
                 ours: Callable[[Path], bool] | None = None, what: str = "hf-ser") -> Path:  # fmt: skip
    """Check ``path`` before any work (see the module docstring); returns it as a Path.

    ``reads``: the files and folders the command reads (audio, the model, runs, the dataset). An output equal to a
    file it reads, inside or containing a model folder it reads, or equal to a folder it reads is refused. ``ours``
    recognises the command's own earlier output: an existing file (for a folder output: the folder's files the
    command would write are checked by the caller) it does not recognise is refused rather than replaced."""
    p = check_output_path(path, flag, folder=folder)
    for src in reads:
        src = Path(src).expanduser()
        if not src.exists():
            continue
        if src.resolve() == p.resolve():
            raise OutputPathError(f"{flag} {path}: that is an input of this command ({src}); choose another path")
        if src.is_dir() and is_model_folder(src) and overlaps(p, src):
            raise OutputPathError(
                f"{flag} {path}: inside or around the model folder {src}, which it would alter; choose a path outside it"
            )
    if not folder and p.exists() and (ours is None or not ours(p)):
        raise OutputPathError(
            f"{flag} {path}: the file exists and is not an earlier {what} output, so it is not replaced; choose "
            "another path or remove it"
        )
    return p


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", **open_kwargs) -> Iterator:
    """Open a temporary file beside ``path`` and rename it to ``path`` when the block ends without an error; on any
    exception (Ctrl-C and, under :func:`sigterm_as_interrupt`, SIGTERM too) remove it and leave ``path`` as it was."""
    target = Path(path)
    if target.exists() and not target.is_file():  # a device, FIFO or folder: renaming onto it would replace it
        raise OutputPathError(f"{path}: not a regular file; give a file path")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with open(tmp, mode, **open_kwargs) as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the main thread while the block runs, so the same cleanup as for Ctrl-C
    runs (partial outputs removed) instead of the process dying mid-write."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def save_figure(fig, ax, path: str | os.PathLike, title: str = "") -> Path:
    """Title, tight layout, write the PNG (making its folder), close the figure."""
    import matplotlib.pyplot as plt

    if title:
        ax.set_title(title)
    fig.tight_layout()
    out = Path(path)
    try:
        with atomic_file(out, "wb") as fh:  # tagged, so a later run may replace it (is_hf_ser_png)
            fig.savefig(fh, format="png", metadata={"Software": f"{PNG_SOFTWARE} {_version()}"})
    finally:
        plt.close(fig)
    return out


def _version() -> str:
    import hf_ser

    return hf_ser.__version__


def cache_root() -> Path:
    """hf-ser's own cache (prepared datasets, cached features): ``$HF_SER_CACHE``, else ``~/.cache/hf_ser``."""
    root = os.environ.get("HF_SER_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hf_ser"
    return Path(root)
