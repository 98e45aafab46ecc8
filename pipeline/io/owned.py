"""Files this tool owns: how it recognises them, and how it replaces or removes them.

The tool never deletes, overwrites or follows a symlink to a file it did not write. Its JSON
files carry ``"tool": "anonymize-pipeline"`` and a ``1.x`` schema version, its pages a
``<meta name="anonymize-page">`` naming their kind; only a regular file with that marker (and
of the expected kind) may be replaced or removed. Replacing writes a new
file exclusively beside the old one and renames it over, so a reader never sees half a file
and a symlink planted in between is replaced itself, never written through.
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from pipeline.core.artifact import TOOL
from pipeline.core.errors import Problem, RecipeError

_MARKER_BYTES = 64 << 20
Kind = Callable[[dict], bool]


def tool_json(path: Path) -> dict | None:
    """The JSON object in ``path`` if it is a regular file written by this tool, else None."""
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MARKER_BYTES:
            return None
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tool") != TOOL:
        return None
    return data if str(data.get("schema_version", "")).startswith("1.") else None


def parent_problem(path: Path) -> str | None:
    """Why the folders above ``path`` cannot be created: one of them is not a folder."""
    for parent in path.absolute().parents:
        if os.path.lexists(parent):
            return None if parent.is_dir() else f"{parent} is a file, not a folder"
    return None


def _obstacle(path: Path) -> str | None:
    """What forbids writing at ``path`` whatever it holds.

    A parent that is a file, or a symlink or a directory at ``path`` itself.
    """
    if blocked := parent_problem(path):
        return blocked
    if path.is_symlink():
        return "is a symbolic link"
    return "is a directory" if path.is_dir() else None


def _refuse(subject: str, reason: str) -> RecipeError:
    return RecipeError(
        [Problem(f"{subject} {reason}: refusing to write it", code="not_ours")],
        title="refusing to write",
    )


def check_replaceable_file(path: Path, kind: Kind, what: str) -> None:
    """Refuse ``path`` unless it is absent or a regular file of this tool of the right kind.

    Raises:
        RecipeError: a parent that is a file, a directory, a symlink, or a file this tool did
            not write (exit 2).

    """
    reason = _obstacle(path)
    if reason is None and os.path.lexists(path):
        data = tool_json(path)
        if data is None or not kind(data):
            reason = f"exists and is not a {what} written by this tool"
    if reason:
        raise _refuse(f"{what} path {path}", reason)


def replace_file(path: Path, text: str, kind: Kind, what: str) -> Path:
    """Write ``text`` to ``path`` (absent, or this tool's file of ``kind``) atomically."""
    check_replaceable_file(path, kind, what)
    return _atomic_write(path, "utf-8", lambda handle: handle.write(text))


def write_new_file(
    path: Path, encoding: str, fill: Callable[[TextIO], object], replace: bool = False
) -> Path:
    """Write a new text file through ``fill(handle)``, atomically.

    An existing regular file is replaced only with ``replace`` (the user said so); a folder or
    a symlink never.

    Raises:
        RecipeError: a parent is a file, or ``path`` exists and may not be replaced (exit 2).
    """
    reason = _obstacle(path)
    if reason is None and os.path.lexists(path) and not replace:
        reason = "exists (--force replaces it)"
    if reason:
        raise _refuse(str(path), reason)
    return _atomic_write(path, encoding, fill)


def _atomic_write(path: Path, encoding: str, fill: Callable[[TextIO], object]) -> Path:
    """Write beside ``path`` to a new file (never through a symlink), then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o644)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            fill(handle)
        os.replace(temporary, path)  # replaces a symlink itself, never its target
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def remove_if_ours(path: Path, kind: Kind) -> bool:
    """Remove ``path`` if it is this tool's regular file of ``kind``; return whether it was."""
    data = tool_json(path)
    if data is None or not kind(data):
        return False
    path.unlink(missing_ok=True)
    return True


def is_gate_report(data: dict) -> bool:
    """A gate report (not a manifest or a risk report)."""
    return {"outcome", "passed", "recipe_sha256"} <= data.keys() and "files" not in data


_PAGE_HEAD = 8192  # a page's marker is in its head


def page_marker(kind: str) -> str:
    """The marker in the head of this tool's pages of ``kind`` (e.g. ``blocked-run``)."""
    return f'<meta name="anonymize-page" content="{TOOL} {kind}">'


def is_tool_page(path: Path, kind: str) -> bool:
    """Whether ``path`` is a regular file holding this tool's page of ``kind``."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
        with path.open("rb") as handle:
            head = handle.read(_PAGE_HEAD)
    except OSError:
        return False
    return page_marker(kind).encode() in head


def check_replaceable_page(path: Path, kind: str, what: str) -> None:
    """Refuse ``path`` unless it is absent or this tool's page of ``kind`` (exit 2)."""
    reason = _obstacle(path)
    if reason is None and os.path.lexists(path) and not is_tool_page(path, kind):
        reason = f"exists and is not a {what} written by this tool"
    if reason:
        raise _refuse(f"{what} path {path}", reason)


def replace_page(path: Path, text: str, kind: str, what: str) -> Path:
    """Write the page ``text`` (it must carry its marker) to ``path``, atomically."""
    if page_marker(kind) not in text[:_PAGE_HEAD]:
        raise ValueError(f"a {what} must carry its marker")  # a bug: never written unmarked
    check_replaceable_page(path, kind, what)
    return _atomic_write(path, "utf-8", lambda handle: handle.write(text))


def remove_page_if_ours(path: Path, kind: str) -> bool:
    """Remove ``path`` if it is this tool's page of ``kind``; return whether it was."""
    if not is_tool_page(path, kind):
        return False
    path.unlink(missing_ok=True)
    return True
