"""Fail-closed publishing through a staging directory next to the output.

Everything is written to the staging directory, which replaces the output by a rename only when
the whole run succeeded.

A failed run removes its staging directory; a killed run's leftovers are removed by the next run
(a staging directory whose owning process is gone). The previous output is never touched until
the final rename.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from types import TracebackType

from pipeline.errors import Problem, RecipeError

MANIFEST = "manifest.json"
_OWNER = ".owner"


class Staging:
    """Context manager around one run's staging directory for ``out_dir``."""

    def __init__(self, out_dir: Path, run_id: str) -> None:
        self.out_dir = out_dir.absolute()
        self.run_id = run_id
        self.path = self.out_dir.parent / f".{self.out_dir.name}.staging-{run_id}"
        self.work = self.path / ".work"

    def __enter__(self) -> Staging:
        check_replaceable(self.out_dir)
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        recover(self.out_dir)
        self.work.mkdir(parents=True)
        (self.path / _OWNER).write_text(str(os.getpid()))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def publish(self) -> None:
        """Replace the output by the staging directory (two renames on the same filesystem)."""
        shutil.rmtree(self.work, ignore_errors=True)
        (self.path / _OWNER).unlink(missing_ok=True)
        old = self.out_dir.parent / f".{self.out_dir.name}.old-{uuid.uuid4().hex[:12]}"
        if self.out_dir.exists():
            os.rename(self.out_dir, old)
        os.rename(self.path, self.out_dir)
        shutil.rmtree(old, ignore_errors=True)


def check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a directory that is not empty and not an earlier output of this tool."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise RecipeError([Problem(f"output {out_dir} exists and is not a directory")])
        if any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
            raise RecipeError(
                [
                    Problem(
                        f"output directory {out_dir} exists, is not empty and holds no "
                        f"{MANIFEST}: refusing to replace a directory this tool did not write",
                        code="output_not_ours",
                    )
                ]
            )


def recover(out_dir: Path) -> None:
    """Remove leftovers of killed runs and restore an output caught between the two renames."""
    parent = out_dir.parent
    for stale in parent.glob(f".{out_dir.name}.staging-*"):
        if not _owner_alive(stale):
            shutil.rmtree(stale, ignore_errors=True)
    olds = sorted(parent.glob(f".{out_dir.name}.old-*"))
    if olds and not out_dir.exists():
        os.rename(olds.pop(), out_dir)
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)


def _owner_alive(staging: Path) -> bool:
    try:
        pid = int((staging / _OWNER).read_text())
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
