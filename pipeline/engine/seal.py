"""The manifest's seal: every file of an output listed with its SHA-256, and an optional HMAC.

When a run publishes, :func:`seal` lists every file of the staging folder that is not a data
file (those are in ``manifest.files``) and not the manifest itself: the reports, the notice,
the pages. With ``output.signing_key_env`` the manifest is signed: HMAC-SHA-256 under the key
in that environment variable, over the manifest's canonical JSON (keys sorted, no spaces)
without its ``signature``. Because the manifest holds the SHA-256 of every other file, the
signature covers the whole output: an edit of any file, even one made together with the
manifest's own record of it, no longer verifies. The key is never written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from pipeline.manifest import ArtifactRecord, RunHeader, Signature

MANIFEST = "manifest.json"
ALGORITHM = "HMAC-SHA-256"

M = TypeVar("M", bound=RunHeader)


def file_sha256(path: Path, *, follow_symlinks: bool = False) -> str:
    """The SHA-256 of a file, streamed through one small buffer (``hashlib.file_digest``).

    Never through a symlink, unless ``follow_symlinks`` (an input the user named).
    """
    flags = os.O_RDONLY | os.O_CLOEXEC | (0 if follow_symlinks else os.O_NOFOLLOW)
    with os.fdopen(os.open(path, flags), "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _files(folder: Path) -> Iterator[Path]:
    """The regular files under ``folder`` (relative), hidden names (the engine's own) left out."""
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.startswith("."):
                yield (Path(root) / name).relative_to(folder)


def artifacts(folder: Path, data_files: set[str]) -> list[ArtifactRecord]:
    """Every file of ``folder`` but ``data_files`` and the manifest, with its size and SHA-256."""
    found = []
    for relative in _files(folder):
        name = relative.as_posix()
        if name in data_files or name == MANIFEST:
            continue
        path = folder / relative
        found.append(
            ArtifactRecord(path=name, bytes=path.lstat().st_size, sha256=file_sha256(path))
        )
    return found


def canonical(manifest: dict[str, Any]) -> bytes:
    """The bytes that are signed: the manifest's JSON without ``signature``, keys sorted."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature_of(manifest: dict[str, Any], key: bytes) -> str:
    """The hex HMAC-SHA-256 of the manifest (as parsed from its JSON) under ``key``."""
    return hmac.new(key, canonical(manifest), hashlib.sha256).hexdigest()


def seal(manifest: M, folder: Path, key_env: str | None) -> tuple[M, str]:
    """The manifest with its artifacts (and signature), and its JSON text to write.

    ``folder`` holds the output as it will be published (the staging folder); ``key_env``
    names the environment variable with the signing key, or None not to sign.
    """
    data_files = {f.path for f in getattr(manifest, "files", [])}
    manifest = manifest.model_copy(
        update={"artifacts": artifacts(folder, data_files), "signature": None}
    )
    if key_env is not None:
        key = os.environ[key_env].encode()  # checked when the recipe was read
        parsed = json.loads(manifest.model_dump_json())
        value = signature_of(parsed, key)
        signature = Signature(algorithm=ALGORITHM, key_env=key_env, value=value)
        manifest = manifest.model_copy(update={"signature": signature})
    return manifest, manifest.model_dump_json(indent=2) + "\n"


def verified(manifest: dict[str, Any], key_env: str) -> bool:
    """Whether the parsed manifest carries a valid signature under the key in ``key_env``."""
    found = manifest.get("signature")
    if not isinstance(found, dict) or found.get("algorithm") != ALGORITHM:
        return False
    value, key = found.get("value"), os.environ.get(key_env)
    if not isinstance(value, str) or key is None:
        return False
    return hmac.compare_digest(value, signature_of(manifest, key.encode()))
