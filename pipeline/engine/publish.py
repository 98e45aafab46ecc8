"""Fail-closed publishing through a staging directory next to the output, under a lock.

* **Lock.** A run holds an exclusive ``fcntl`` lock on ``.NAME.lock`` beside the output from
  before it looks at the output until after it published; a second run on the same output
  waits up to ``--wait`` seconds, then exits 6. The lock file is opened without following a
  symlink and is left in place (removing it would race with the next run).
* **What may be replaced.** The output must be absent, an empty directory, or an earlier output
  of this tool: a real directory (not a symlink) whose ``manifest.json`` carries this tool's
  marker and schema version and that holds only what the tool writes. Anything else is refused
  (exit 2) and left untouched.
* **Staging.** Everything is written to ``.NAME.staging-RUNID`` (a fresh directory, created
  exclusively, with an owner marker); it replaces the output by two renames only when the
  whole run succeeded. A failed run removes it.
* **Recovery.** Leftovers of a killed run are recognised by their markers only: a staging
  directory with this tool's owner marker is removed; ``.NAME.old-RUNID`` (a real directory
  holding this tool's manifest) is put back when the output is missing, else removed. A symlink
  or anything without a marker is never renamed, followed or removed.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from types import TracebackType

from pipeline.core.artifact import TOOL
from pipeline.core.errors import OutputBusyError, Problem, RecipeError
from pipeline.gate.judge import BLOCKED_PAGE, page_path
from pipeline.io.owned import (
    check_replaceable_file,
    check_replaceable_page,
    is_gate_report,
    parent_problem,
    tool_json,
)
from pipeline.report.codebook import CODEBOOK_JSON, CODEBOOK_MD, CODEBOOK_PAGE
from pipeline.report.notice import NOTICE, NOTICE_PAGE
from pipeline.report.write import REPORT_HTML, REPORT_JSON

MANIFEST = "manifest.json"
# what a microdata run writes beside its data, named where each is written
RUN_ARTIFACTS = (
    REPORT_JSON,
    REPORT_HTML,
    NOTICE,
    NOTICE_PAGE,
    CODEBOOK_JSON,
    CODEBOOK_MD,
    CODEBOOK_PAGE,
)
REPORT_FILES = frozenset(
    {
        MANIFEST,
        *RUN_ARTIFACTS,
        "tables/tables.html",
        "review/check_report.json",
        "review/check_report.html",
        "series.json",
        "series_state.parquet",
    }
)
OUTPUT_FOLDERS = frozenset({"data", "tables", "review"})
_OWNER = ".owner"
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def _usage(message: str, code: str) -> RecipeError:
    return RecipeError([Problem(message, code=code)], title="refusing to write the output")


def check_replaceable(out_dir: Path) -> None:
    """Refuse an output path that is not absent, empty or an earlier output of this tool.

    Raises:
        RecipeError: a symlink, a file, or a directory this tool did not write (exit 2).

    """
    if out_dir.is_symlink():
        raise _usage(f"output {out_dir} is a symbolic link: give the real directory", "symlink")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise _usage(f"output {out_dir} exists and is not a directory", "output_not_ours")
    entries = sorted(p.name for p in out_dir.iterdir())
    if not entries:
        return
    manifest = tool_json(out_dir / MANIFEST)
    if manifest is None:
        raise _usage(
            f"output directory {out_dir} is not empty and holds no {MANIFEST} written by this "
            "tool: refusing to replace a directory this tool did not write",
            "output_not_ours",
        )
    foreign = _foreign_entries(out_dir, manifest)
    if foreign:
        raise _usage(
            f"output directory {out_dir} holds entries this tool does not write "
            f"({', '.join(foreign[:5])}): move them away first, they would be lost",
            "output_not_ours",
        )


def _foreign_entries(out_dir: Path, manifest: dict) -> list[str]:
    """Entries of an earlier output that its manifest does not account for (symlinks too)."""
    listed = set(REPORT_FILES)
    listed |= {str(f.get("path")) for f in manifest.get("files") or [] if isinstance(f, dict)}
    for table in manifest.get("tables") or []:
        if isinstance(table, dict):
            listed |= {str(p) for p in table.get("files") or []}
    foreign = []
    for root, dirs, names in os.walk(out_dir, followlinks=False):
        relative = Path(root).relative_to(out_dir)
        for name in sorted(dirs):
            path = relative / name
            if (out_dir / path).is_symlink() or (
                root == str(out_dir) and name not in OUTPUT_FOLDERS
            ):
                foreign.append(str(path))
        dirs[:] = [d for d in dirs if str(relative / d) not in foreign]
        foreign += [str(relative / n) for n in sorted(names) if str(relative / n) not in listed]
    return foreign


class OutputLock:
    """An exclusive ``fcntl`` lock on ``.NAME.lock`` beside the output."""

    def __init__(self, out_dir: Path, wait: float = 0.0) -> None:
        self.path = out_dir.parent / f".{out_dir.name}.lock"
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            what = "is a symbolic link" if self.path.is_symlink() else type(exc).__name__
            raise _usage(f"lock file {self.path} cannot be used ({what})", "lock") from None
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise OutputBusyError(
                        [
                            Problem(
                                f"another run is writing this output (lock {self.path} is "
                                f"held; waited {self.wait:g} s): try later or pass --wait "
                                "SECONDS",
                                code="output_locked",
                            )
                        ]
                    ) from None
                time.sleep(0.1)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


_REMOVE_TRIES = 300  # 30 s at most for tasks still running to stop writing


class Staging:
    """Context manager around one run's staging directory for ``out_dir``, under its lock."""

    def __init__(self, out_dir: Path, run_id: str, wait: float = 0.0) -> None:
        self.out_dir = out_dir.absolute()
        self.run_id = run_id
        self.path = self.out_dir.parent / f".{self.out_dir.name}.staging-{run_id}"
        self.work = self.path / ".work"
        self.lock = OutputLock(self.out_dir, wait)
        self._created = False

    def __enter__(self) -> Staging:
        check_replaceable(self.out_dir)  # before creating anything
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.lock.__enter__()
        try:
            recover(self.out_dir)
            check_replaceable(self.out_dir)  # again, under the lock
            os.mkdir(self.path)  # fails if anything has this name (a symlink too)
            self._created = True
            owner = {
                "tool": TOOL,
                "schema_version": "1.0",
                "run_id": self.run_id,
                "pid": os.getpid(),
            }
            fd = os.open(self.path / _OWNER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(owner, handle)
            self.work.mkdir()
        except BaseException:
            self._remove()
            self.lock.__exit__()
            raise
        return self

    def _remove(self) -> None:
        """Remove the staging directory this run created (never anything else).

        After a failed computation, tasks already running may still write their spill files
        for a moment (dask does not stop them): removal is retried until the folder is gone.
        """
        for _ in range(_REMOVE_TRIES):
            if not (self._created and not self.path.is_symlink() and self.path.is_dir()):
                return
            shutil.rmtree(self.path, ignore_errors=True)
            if self.path.is_dir():
                time.sleep(0.1)
        if self.path.is_dir():  # it holds the un-anonymized checkpoint: say so, loudly
            sys.stderr.write(
                f"anonymize: WARNING: the staging folder {self.path} could not be removed (it "
                "holds the ingested input); remove it by hand\n"
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._remove()
        finally:
            self.lock.__exit__()

    def publish(self) -> None:
        """Replace the output by the staging directory (two renames on the same filesystem)."""
        shutil.rmtree(self.work, ignore_errors=True)
        check_replaceable(self.out_dir)
        (self.path / _OWNER).unlink()  # from here on the staging is known by its manifest
        old = self.out_dir.parent / f".{self.out_dir.name}.old-{self.run_id}"
        if os.path.lexists(self.out_dir):
            os.rename(self.out_dir, old)  # renames a symlink itself, never its target
            try:  # what was renamed may have been swapped since the check: check it again
                if old.is_symlink():
                    raise _usage(f"output {self.out_dir} became a symbolic link", "symlink")
                check_replaceable(old)
            except RecipeError:
                os.rename(old, self.out_dir)  # put it back untouched
                raise
        os.rename(self.path, self.out_dir)
        if os.path.lexists(old):
            shutil.rmtree(old)


def _run_id(path: Path, prefix: str) -> str:
    """The run id in ``PREFIX<32 hex>`` if ``path`` is a real directory so named, else ''."""
    run_id = path.name[len(prefix) :] if path.name.startswith(prefix) else ""
    ok = _RUN_ID.match(run_id) and not path.is_symlink() and path.is_dir()
    return run_id if ok else ""


def _is_our_staging(path: Path, name: str) -> bool:
    """A real directory ``.NAME.staging-RUNID`` that a run of this tool created.

    It carries that run's owner marker, or (finished, about to be renamed into place) this
    tool's manifest.
    """
    run_id = _run_id(path, f".{name}.staging-")
    if not run_id:
        return False
    if tool_json(path / MANIFEST) is not None:
        return True
    owner = tool_json(path / _OWNER)
    return owner is not None and owner.get("run_id") == run_id


def _is_our_old_output(path: Path, name: str) -> bool:
    """A real directory named ``.NAME.old-RUNID`` holding this tool's manifest."""
    return bool(_run_id(path, f".{name}.old-")) and tool_json(path / MANIFEST) is not None


def recover(out_dir: Path) -> None:
    """Remove leftovers of killed runs and restore an output caught between the two renames.

    Call with the output's lock held. Only leftovers carrying this tool's markers are touched.
    """
    parent, name = out_dir.parent, out_dir.name
    for stale in parent.glob(f".{name}.staging-*"):
        if _is_our_staging(stale, name):
            shutil.rmtree(stale, ignore_errors=True)
    olds = [p for p in parent.glob(f".{name}.old-*") if _is_our_old_output(p, name)]
    olds.sort(key=lambda p: str((tool_json(p / MANIFEST) or {}).get("generated_at", "")))
    if olds and not os.path.lexists(out_dir):
        os.rename(olds.pop(), out_dir)
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)


def _inside(path: Path, folder: Path) -> bool:
    return path != folder and folder in path.parents


def check_paths(out_dir: Path, inputs: list[Path], report: Path | None = None) -> None:
    """Refuse paths that would make a run read or replace what it must not, before it starts.

    An output inside an input folder (the next run would read it), an input inside the output
    (replaced on publish), and a gate report inside the output, at an input, or at a path
    that is not this tool's gate report.

    Raises:
        RecipeError: every problem at once (exit 2).

    """
    out = out_dir.resolve()
    sources = [(p, p.resolve()) for p in inputs]
    problems = []
    blocked = parent_problem(out_dir)
    if blocked:
        problems.append(f"output {out_dir}: {blocked}")
    for given, source in sources:
        if out == source or _inside(out, source):
            problems.append(
                f"output {out_dir} is inside the input {given}: the next run "
                "would read its own output; choose an output elsewhere"
            )
        elif _inside(source, out):
            problems.append(f"input {given} is inside the output {out_dir}, which a run replaces")
    if report is not None:
        where = report.parent.resolve() / report.name  # the report itself is never followed
        if where == out or _inside(where, out):
            problems.append(f"gate report {report} is inside the output {out_dir}")
        for given, source in sources:
            if where == source or _inside(where, source):
                problems.append(f"gate report {report} is the input {given} or inside it")
        try:
            check_replaceable_file(report, is_gate_report, "gate report")
            check_replaceable_page(page_path(report), BLOCKED_PAGE, "blocked run's page")
        except RecipeError as exc:
            problems += [p.message for p in exc.problems]
    if problems:
        raise RecipeError(
            [Problem(m, code="unsafe_path") for m in problems], title="refusing to run"
        )
