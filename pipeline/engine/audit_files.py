"""``--gate-only``, the files: what the output holds against what its manifest lists.

* The output is surveyed without following a link. A symbolic link (or any entry that is not a
  regular file or a folder) anywhere in it makes the output invalid at once: nothing is read
  through it.
* The manifest is read: missing, not this tool's, or not a manifest -> invalid (exit 4); a
  folder or file that cannot be read at all -> exit 3.
* ``output.listing``: every file is the manifest, a listed data file or a listed artifact;
  nothing listed is missing; no other folder exists.
* ``manifest.files`` / ``manifest.artifacts``: each listed file has its recorded SHA-256, and
  the reports and the notice a run always writes are among the artifacts.
* ``manifest.signature`` (a recipe with ``output.signing_key_env``): the manifest verifies
  under the key, which covers every file through their SHA-256.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.core.artifact import TOOL
from pipeline.core.errors import GateError, InputDataError, Problem
from pipeline.engine.publish import RUN_ARTIFACTS
from pipeline.engine.seal import MANIFEST, file_sha256, verified
from pipeline.gate.catalog import CheckKind, Evidence, register
from pipeline.gate.checks import table_result
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.manifest import Manifest
from pipeline.recipe.models import Recipe

_MANIFEST_BYTES = 256 << 20


@dataclass
class Listing:
    """What an output folder holds, relative paths in POSIX form."""

    files: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)
    others: list[str] = field(default_factory=list)  # symlinks, sockets, devices, fifos


def _invalid(out_dir: Path, message: str, code: str) -> GateError:
    return GateError([Problem(message, code=code)], title=f"{out_dir}: INVALID output")


def _unreadable(out_dir: Path, what: str, exc: OSError) -> InputDataError:
    problem = Problem(f"{what} cannot be read ({type(exc).__name__})", code="file_unreadable")
    return InputDataError([problem], title=f"{out_dir}: cannot be checked")


def survey(out_dir: Path) -> Listing:
    """Every entry under ``out_dir``, links never followed.

    Raises:
        InputDataError: ``out_dir`` is missing, not a folder, or cannot be read (exit 3).
        GateError: ``out_dir`` or an entry in it is a symbolic link or a special file (exit 4).
    """
    if out_dir.is_symlink():
        raise _invalid(
            out_dir, f"{out_dir} is a symbolic link: nothing was read through it", "symlink"
        )
    if not out_dir.is_dir():
        what = "does not exist" if not os.path.lexists(out_dir) else "is not a folder"
        raise InputDataError(
            [Problem(f"output {out_dir} {what}", code="no_output")], title="nothing to check"
        )
    found, todo = Listing(), [Path()]
    while todo:
        folder = todo.pop()
        try:
            entries = sorted(os.scandir(out_dir / folder), key=lambda e: e.name)
        except OSError as exc:
            raise _unreadable(out_dir, f"folder {out_dir / folder}", exc) from None
        for entry in entries:
            relative = (folder / entry.name).as_posix()
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                found.folders.add(relative)
                todo.append(folder / entry.name)
            elif stat.S_ISREG(mode):
                found.files.add(relative)
            else:
                found.others.append(relative)
    if found.others:
        shown = ", ".join(sorted(found.others)[:5])
        raise _invalid(
            out_dir,
            f"{len(found.others)} entries are symbolic links or special "
            f"files ({shown}): nothing was read through them",
            "symlink",
        )
    return found


def read_manifest(out_dir: Path, listing: Listing) -> tuple[Manifest, dict[str, Any]]:
    """The manifest as a model and as parsed JSON (for the signature).

    Raises:
        GateError: no manifest, or one that is not a manifest of this tool (exit 4).
        InputDataError: the manifest cannot be read (permissions; exit 3).
    """
    if MANIFEST not in listing.files:
        raise _invalid(
            out_dir,
            f"{out_dir} holds no {MANIFEST}: not a published output, or its manifest was removed",
            "no_manifest",
        )
    path = out_dir / MANIFEST
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            text = handle.read(_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise _unreadable(out_dir, MANIFEST, exc) from None
    try:
        if len(text) > _MANIFEST_BYTES:
            raise ValueError("too large")
        raw = json.loads(text)
        if not isinstance(raw, dict) or raw.get("tool") != TOOL:
            raise ValueError("not this tool's")
        return Manifest.model_validate(raw), raw
    except (ValueError, ValidationError, RecursionError):
        raise _invalid(
            out_dir,
            f"{MANIFEST} is not a manifest written by this tool (it is damaged or was edited)",
            "bad_manifest",
        ) from None


def listing_check(listing: Listing, manifest: Manifest) -> CheckResult:
    """Every file of the output is listed in the manifest, and every listed file is there."""
    listed = {MANIFEST} | {f.path for f in manifest.files} | {a.path for a in manifest.artifacts}
    parents = {p.as_posix() for name in listed for p in Path(name).parents if p != Path()}
    unlisted = sorted(listing.files - listed) + sorted(listing.folders - parents)
    missing = sorted(listed - listing.files)
    what = []
    if unlisted:
        what.append(f"not listed: {', '.join(unlisted[:5])}")
    if missing:
        what.append(f"missing: {', '.join(missing[:5])}")
    description = "every file of the output is listed in manifest.json, and none is missing"
    return table_result(
        "output",
        "output.listing",
        Reason.FILE_INTEGRITY,
        description + (f" ({'; '.join(what)})" if what else ""),
        len(unlisted) + len(missing),
        "0 files or folders unlisted or missing",
        not what,
    )


def _changed(out_dir: Path, records: list[tuple[str, str]], present: set[str]) -> list[str]:
    """The listed paths whose file is missing or whose SHA-256 differs."""
    out = []
    for path, digest in records:
        try:
            same = path in present and file_sha256(out_dir / path) == digest
        except OSError:
            same = False
        if not same:
            out.append(path)
    return out


def integrity_checks(out_dir: Path, listing: Listing, manifest: Manifest) -> list[CheckResult]:
    """The data files and the artifacts are those recorded, unchanged (the run's reports too)."""
    data = _changed(out_dir, [(f.path, f.sha256) for f in manifest.files], listing.files)
    arts = _changed(out_dir, [(a.path, a.sha256) for a in manifest.artifacts], listing.files)
    recorded = {a.path for a in manifest.artifacts}
    arts += [name for name in RUN_ARTIFACTS if name not in recorded]
    return [
        table_result(
            "output",
            "manifest.files",
            Reason.FILE_INTEGRITY,
            f"the {len(manifest.files)} data files are those listed in manifest.json, unchanged"
            + (f" (changed or missing: {', '.join(data[:5])})" if data else ""),
            len(data),
            "0 files changed or missing",
            not data,
        ),
        table_result(
            "output",
            "manifest.artifacts",
            Reason.FILE_INTEGRITY,
            "the reports and the notice are those listed in manifest.json, unchanged"
            + (f" (changed, missing or unrecorded: {', '.join(arts[:5])})" if arts else ""),
            len(arts),
            "0 files changed, missing or unrecorded",
            not arts,
        ),
    ]


def signature_checks(recipe: Recipe, raw: dict[str, Any]) -> list[CheckResult]:
    """With ``output.signing_key_env``: the manifest verifies under the key (else no check)."""
    key_env = recipe.output.signing_key_env
    if key_env is None:
        return []
    ok = verified(raw, key_env)
    return [
        table_result(
            "output",
            "manifest.signature",
            Reason.SIGNATURE_INVALID,
            f"manifest.json is signed with the key in {key_env} (HMAC-SHA-256 over the manifest, "
            "which holds the SHA-256 of every file)",
            int(not ok),
            "a valid signature",
            ok,
        )
    ]


def _files(ev: Evidence) -> list[CheckResult]:
    audited = ev.published
    listed = listing_check(audited.listing, audited.manifest)
    return [listed, *integrity_checks(audited.out_dir, audited.listing, audited.manifest)]


register(
    CheckKind(
        name="output_files",
        summary="the published files are exactly those manifest.json lists, each with its "
        "recorded SHA-256",
        reasons=(Reason.FILE_INTEGRITY,),
        reads=("published",),
        audit=True,
        table=_files,
    )
)
register(
    CheckKind(
        name="manifest_signature",
        summary="manifest.json verifies under the recipe's signing key (when the recipe signs)",
        reasons=(Reason.SIGNATURE_INVALID,),
        reads=("published",),
        audit=True,
        table=lambda ev: signature_checks(ev.recipe, ev.published.raw),
    )
)
