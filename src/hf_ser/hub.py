"""Fail-fast checks for everything that talks to the Hugging Face Hub (pushes, Hub ids)."""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["HubUnavailableError", "check_hub_push", "looks_like_hub_id", "upload_folder"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$|^[A-Za-z0-9][A-Za-z0-9._-]*$")


class HubUnavailableError(RuntimeError):
    """The Hub cannot be used from here; the message says what to do instead."""


def looks_like_hub_id(name: str) -> bool:
    """True for ``org/name`` (or ``name``) that is not an existing local path."""
    return not Path(name).expanduser().exists() and bool(_HUB_ID.match(name))


def _offline() -> bool:
    from huggingface_hub import constants

    return constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes"}


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
) -> str:
    """Create the repo (private unless asked) and upload ``folder`` as one commit; returns the repo URL."""
    from huggingface_hub import HfApi

    api = HfApi()
    url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
    api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type=repo_type,
        commit_message=message,
        ignore_patterns=ignore_patterns,
    )
    return str(url)
