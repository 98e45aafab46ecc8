"""The recipient package: what recipients get, kept apart from the processing record.

``--package DIR`` (``pipeline.api.run(..., package=DIR)``) writes, after a publication whose gate
passed, a copy of what recipients may receive: the published data files (``data/``, or a
tabulation's ``tables/`` with ``tables.html``), ``public_notice.md`` (and its page) when the
output has one, the codebook of a microdata release (``codebook.md``, ``codebook.html``,
``codebook.json``) and ``contents.json``:
the run id and, per file, its path, rows (when known) and SHA-256. The manifest, the recipe,
the seed, the risk report and the review files are the data holder's processing record and are
never copied.

Fail-closed like the output itself: the package is built in ``.DIR.package-staging-TOKEN``
beside ``DIR`` under ``DIR``'s lock, each file copied from the output (never through a
symlink) and checked against the manifest's SHA-256, then renamed into place. ``DIR`` must be
absent, empty, or a package this tool wrote (its ``contents.json`` carries the tool's marker
and lists every entry); anything else, a symlink included, is refused (exit 2) and left
untouched. When the gate blocks a run nothing is published, so no package is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import uuid
from pathlib import Path

from pipeline.core.artifact import TOOL
from pipeline.core.errors import Problem, RecipeError
from pipeline.engine.publish import MANIFEST, OutputLock
from pipeline.io.owned import parent_problem, tool_json
from pipeline.report.codebook import CODEBOOK_JSON, CODEBOOK_MD, CODEBOOK_PAGE
from pipeline.report.notice import NOTICE, NOTICE_PAGE

CONTENTS = "contents.json"
KIND = "recipient_package"
CODEBOOK = (CODEBOOK_MD, CODEBOOK_PAGE, CODEBOOK_JSON)  # what each column is and holds
_TABLES_PAGE = "tables/tables.html"
_FOLDERS = frozenset({"data", "tables"})
_OWNER = ".owner"
_CHUNK = 1 << 20


def _refuse(*messages: str, title: str = "refusing to write the package") -> RecipeError:
    return RecipeError([Problem(m, code="package_not_ours") for m in messages], title=title)


def is_package(data: dict) -> bool:
    """A recipient package's ``contents.json`` (not a manifest or a report)."""
    return data.get("kind") == KIND and isinstance(data.get("files"), list)


def _listed(listing: dict) -> set[str]:
    return {str(f.get("path")) for f in listing["files"] if isinstance(f, dict)} | {CONTENTS}


def package_problems(package_dir: Path) -> list[str]:
    """Why ``package_dir`` may not be replaced: not absent, empty, or this tool's package."""
    if blocked := parent_problem(package_dir):
        return [f"package {package_dir}: {blocked}"]
    if package_dir.is_symlink():
        return [f"package {package_dir} is a symbolic link: give the real directory"]
    if not package_dir.exists():
        return []
    if not package_dir.is_dir():
        return [f"package {package_dir} exists and is not a directory"]
    if not any(package_dir.iterdir()):
        return []
    listing = tool_json(package_dir / CONTENTS)
    if listing is None or not is_package(listing):
        return [
            f"package directory {package_dir} is not empty and holds no {CONTENTS} written by "
            "this tool: refusing to replace a directory this tool did not write"
        ]
    listed, foreign = _listed(listing), []
    for root, dirs, names in os.walk(package_dir, followlinks=False):
        relative = Path(root).relative_to(package_dir)
        for name in sorted(dirs):
            path = relative / name
            if (package_dir / path).is_symlink() or (
                root == str(package_dir) and name not in _FOLDERS
            ):
                foreign.append(str(path))
        dirs[:] = [d for d in dirs if str(relative / d) not in foreign]
        foreign += [str(relative / n) for n in sorted(names) if str(relative / n) not in listed]
    if foreign:
        return [
            f"package directory {package_dir} holds entries this tool does not write "
            f"({', '.join(foreign[:5])}): move them away first, they would be lost"
        ]
    return []


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_package_path(package_dir: Path, out_dir: Path, inputs: list[Path]) -> None:
    """Refuse a package folder that may not be written, before the run starts.

    Raises:
        RecipeError: ``package_dir`` is not the tool's (see ``package_problems``), or it is
            the output, an input, or inside or around one of them (exit 2).
    """
    where, out = package_dir.resolve(), out_dir.resolve()
    problems = package_problems(package_dir)
    if _inside(where, out) or _inside(out, where):
        problems.append(
            f"package {package_dir} and the output {out_dir} overlap: the package "
            "is written beside the output, never in it"
        )
    for given in inputs:
        source = given.resolve()
        if _inside(where, source) or _inside(source, where):
            problems.append(f"package {package_dir} and the input {given} overlap")
    if problems:
        raise _refuse(*problems, title="refusing to run")


def recipient_files(out_dir: Path, manifest: dict) -> list[dict]:
    """What recipients get of an output: its data or table files, then its notice and page.

    Raises:
        RecipeError: the manifest names a file outside ``data/`` or ``tables/``.
    """
    entries = [
        {"path": str(f.get("path")), "rows": f.get("rows"), "sha256": f.get("sha256")}
        for f in manifest.get("files") or []
        if isinstance(f, dict)
    ]
    for table in manifest.get("tables") or []:
        if isinstance(table, dict):
            entries += [  # a table file holds one row per cell
                {"path": str(p), "table": table.get("name"), "rows": table.get("cells")}
                for p in table.get("files") or []
            ]
    if manifest.get("tables") is not None:
        entries.append({"path": _TABLES_PAGE})
    if manifest.get("files") is not None or os.path.lexists(out_dir / NOTICE):
        entries.append({"path": NOTICE})
        if os.path.lexists(out_dir / NOTICE_PAGE):
            entries.append({"path": NOTICE_PAGE})
    if manifest.get("files") is not None:
        entries += [{"path": name} for name in CODEBOOK if os.path.lexists(out_dir / name)]
    recorded = {
        str(a.get("path")): a.get("sha256")
        for a in manifest.get("artifacts") or []
        if isinstance(a, dict)
    }
    for entry in entries:  # every artifact is recorded with its SHA-256 (manifest 1.4)
        if entry.get("sha256") is None and entry["path"] in recorded:
            entry["sha256"] = recorded[entry["path"]]
    for entry in entries:
        parts = Path(entry["path"]).parts
        if entry["path"] not in (NOTICE, NOTICE_PAGE, _TABLES_PAGE, *CODEBOOK) and (
            len(parts) < 2 or parts[0] not in _FOLDERS or ".." in parts
        ):
            raise _refuse(f"{out_dir}/{MANIFEST} lists {entry['path']!r}, not a published file")
    return entries


def write_package(out_dir: Path, package_dir: Path, run_id: str, wait: float = 0.0) -> Path:
    """Copy run ``run_id``'s recipient files from ``out_dir`` into ``package_dir``, atomically.

    Both folders' locks are held meanwhile, so no other run replaces either.

    Raises:
        RecipeError: ``package_dir`` is not this tool's to replace, or the output is no longer
            that run's or does not match its manifest (nothing written; exit 2).
        OutputBusyError: another run holds a lock longer than ``wait`` (exit 6).
    """
    out_dir, target = out_dir.absolute(), package_dir.absolute()
    with OutputLock(out_dir, wait):
        manifest = tool_json(out_dir / MANIFEST)
        if manifest is None or manifest.get("run_id") != run_id:
            raise _refuse(
                f"output {out_dir} no longer holds run {run_id[:12]} (another run "
                "replaced it): no package written"
            )
        entries = recipient_files(out_dir, manifest)
        if problems := package_problems(target):
            raise _refuse(*problems)
        target.parent.mkdir(parents=True, exist_ok=True)
        with OutputLock(target, wait):
            _recover(target)
            if problems := package_problems(target):  # again, under the lock
                raise _refuse(*problems)
            staging = _stage(target)
            try:
                files = [_copy(out_dir, staging, entry) for entry in entries]
                listing = {
                    "tool": TOOL,
                    "schema_version": "1.0",
                    "kind": KIND,
                    "run_id": run_id,
                    "created": manifest.get("generated_at"),
                    "files": files,
                }
                fd = os.open(staging / CONTENTS, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(json.dumps(listing, indent=2, ensure_ascii=False) + "\n")
                (staging / _OWNER).unlink()
                _replace(target, staging)
            finally:
                if not staging.is_symlink() and staging.is_dir():
                    shutil.rmtree(staging, ignore_errors=True)
    return package_dir


def _stage(target: Path) -> Path:
    """A fresh staging folder beside ``target`` (created exclusively, with an owner marker)."""
    token = uuid.uuid4().hex
    staging = target.parent / f".{target.name}.package-staging-{token}"
    os.mkdir(staging)  # fails if anything has this name (a symlink too)
    owner = {"tool": TOOL, "schema_version": "1.0", "kind": "package_staging", "token": token}
    fd = os.open(staging / _OWNER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(owner, handle)
    return staging


def _copy(out_dir: Path, staging: Path, entry: dict) -> dict:
    """Copy one file (never through a symlink), checking its SHA-256 against the manifest's."""
    relative = Path(entry["path"])
    for depth in range(1, len(relative.parts)):
        if (out_dir / Path(*relative.parts[:depth])).is_symlink():
            raise _refuse(f"{out_dir / relative}: a folder on its path is a symbolic link")
    try:
        source = os.open(out_dir / relative, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        what = "is a symbolic link" if (out_dir / relative).is_symlink() else type(exc).__name__
        raise _refuse(f"published file {out_dir / relative} cannot be copied ({what})") from None
    digest = hashlib.sha256()
    (staging / relative).parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(source, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            raise _refuse(f"published file {out_dir / relative} is not a regular file")
        with open(staging / relative, "xb") as dst:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                dst.write(chunk)
    sha256 = digest.hexdigest()
    if entry.get("sha256") is not None and entry["sha256"] != sha256:
        raise _refuse(
            f"published file {out_dir / relative} differs from its manifest record "
            "(sha256): the output was changed after publishing"
        )
    record = {"path": entry["path"]}
    if entry.get("table") is not None:
        record["table"] = entry["table"]
    if entry.get("rows") is not None:
        record["rows"] = entry["rows"]
    return {**record, "sha256": sha256}


def _replace(target: Path, staging: Path) -> None:
    """Put ``staging`` in place of ``target`` (absent, empty, or this tool's package)."""
    old = target.parent / f".{target.name}.package-old-{uuid.uuid4().hex}"
    if os.path.lexists(target):
        os.rename(target, old)  # renames a symlink itself, never its target
        problems = (
            [f"package {target} became a symbolic link"]
            if old.is_symlink()
            else package_problems(old)
        )
        if problems:  # swapped since the check: put it back untouched
            os.rename(old, target)
            raise _refuse(*problems)
    os.rename(staging, target)
    if os.path.lexists(old):
        shutil.rmtree(old)


def _recover(target: Path) -> None:
    """Remove what killed package runs left beside ``target`` (only what carries a marker)."""
    parent, name = target.parent, target.name
    for stale in parent.glob(f".{name}.package-staging-*"):
        token = stale.name.rsplit("-", 1)[-1]
        owner = tool_json(stale / _OWNER) if stale.is_dir() and not stale.is_symlink() else None
        listing = tool_json(stale / CONTENTS) if owner is None and stale.is_dir() else None
        if (owner is not None and owner.get("token") == token) or (
            listing is not None and is_package(listing) and not stale.is_symlink()
        ):
            shutil.rmtree(stale, ignore_errors=True)
    for old in parent.glob(f".{name}.package-old-*"):
        listing = tool_json(old / CONTENTS) if old.is_dir() and not old.is_symlink() else None
        if listing is None or not is_package(listing):
            continue
        if not os.path.lexists(target):
            os.rename(old, target)
        else:
            shutil.rmtree(old, ignore_errors=True)
