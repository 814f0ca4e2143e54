"""Fail-fast checks for everything that talks to the Hugging Face Hub (pushes, Hub ids)."""

from __future__ import annotations

import functools
import os
import re
import socket
from pathlib import Path
from urllib.parse import urlparse

__all__ = [
    "HubUnavailableError",
    "check_hub_push",
    "hub_offline",
    "hub_reachable",
    "looks_like_hub_id",
    "upload_folder",
]

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$|^[A-Za-z0-9][A-Za-z0-9._-]*$")


class HubUnavailableError(RuntimeError):
    """The Hub cannot be used from here; the message says what to do instead."""


def looks_like_hub_id(name: str) -> bool:
    """True for ``org/name`` (or ``name``) that is not an existing local path."""
    return not Path(name).expanduser().exists() and bool(_HUB_ID.match(name))


def _offline() -> bool:
    from huggingface_hub import constants

    return constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}


@functools.cache
def hub_reachable(timeout: float = 3.0) -> bool:
    """One TCP connection to the Hub endpoint's host, at most once a process.

    Without it, an unreachable Hub costs every download call about 25 s of retries (huggingface_hub backs off five
    times) and a warning per retry before the error; one quick probe lets hf-ser fail, or go local-only, at once.
    """
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE is set or the Hub cannot be reached from here.

    An unreachable Hub switches this process to offline mode (huggingface_hub's and datasets' HF_HUB_OFFLINE), so
    no later call (transformers' adapter lookup, a dataset's) spends its own half minute of retries; files in the
    local Hub cache still load."""
    if _offline():
        return True
    if hub_reachable():
        return False
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = True
    os.environ["HF_HUB_OFFLINE"] = "1"
    import sys

    if "datasets" in sys.modules:
        sys.modules["datasets"].config.HF_HUB_OFFLINE = True
    return True


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def check_hub_push(repo_id: str, *, what: str = "push") -> None:
    """Raise HubUnavailableError now, before any long work, if ``repo_id`` cannot be pushed to."""
    from huggingface_hub import HfApi, get_token

    if not _HUB_ID.match(repo_id) or "/" not in repo_id:
        raise HubUnavailableError(f"--{what}: {repo_id!r} is not a Hub repo id of the form ORG_OR_USER/NAME")
    if _offline():
        raise HubUnavailableError(
            f"cannot push to {repo_id}: HF_HUB_OFFLINE is set. Unset it on a connected machine, or run without "
            "the push flag and upload the output folder later with `hf upload`."
        )
    if not hub_reachable():
        raise HubUnavailableError(
            f"cannot push to {repo_id}: the Hugging Face Hub ({_endpoint()}) is unreachable from this machine. Run "
            "without the push flag and upload the output folder later with `hf upload`."
        )
    token = get_token()
    if not token:
        raise HubUnavailableError(
            f"cannot push to {repo_id}: no Hugging Face token. Run `hf auth login` or set HF_TOKEN, "
            "or run without the push flag and upload the output folder later with `hf upload`."
        )
    try:
        HfApi().whoami(token=token)
    except Exception as err:  # noqa: BLE001 - any failure here means the same thing to the user
        raise HubUnavailableError(
            f"cannot push to {repo_id}: the Hugging Face Hub is unreachable or the token was refused "
            f"({type(err).__name__}). Run without the push flag and upload the output folder later with `hf upload`."
        ) from err


def upload_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    repo_type: str,
    private: bool,
    message: str,
    ignore_patterns: list[str] | None = None,
    space_sdk: str | None = None,
) -> str:
    """Create the repo (private unless asked) and upload ``folder`` as one commit; returns the repo URL."""
    from huggingface_hub import HfApi

    api = HfApi()
    extra = {"space_sdk": space_sdk} if repo_type == "space" else {}
    url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, **extra)
    api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type=repo_type,
        commit_message=message,
        ignore_patterns=ignore_patterns,
    )
    return str(url)
