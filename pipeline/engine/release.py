"""The skeleton every publication shares: stage -> gate -> manifest -> publish.

A microdata run and a tabulation both check their paths before anything runs, work in a
staging directory under the output's lock with the chosen scheduler, collect the whole-file
checks their steps leave (``PendingChecks``), let the gate conclude (a blocked gate writes its
report beside the output and raises), write the manifest, and publish by renaming, only once
every check is settled. Nothing is published otherwise, and the previous output stays.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from pipeline.engine.apply import PendingChecks
from pipeline.engine.publish import MANIFEST, Staging, check_paths
from pipeline.engine.schedulers import use_scheduler


@dataclass
class Release:
    """One publication in the making.

    Attributes:
        where: The scheduler, in words (for the log).
        staging: The staging directory (``staging.path``: what will be published).
        checks: The run's whole-file checks; every one must be settled before publishing.
    """

    where: str
    staging: Staging
    checks: PendingChecks

    def publish(self, manifest: BaseModel) -> None:
        """Write ``manifest.json`` and publish the staging directory (checks settled first)."""
        (self.staging.path / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")
        self.checks.ensure_settled()
        self.staging.publish()


@contextmanager
def release(
    out_dir: Path, inputs: list[Path], report_path: Path, run_id: str, scheduler: str, wait: float
) -> Iterator[Release]:
    """Check the paths, then stage under the output's lock with ``scheduler``.

    Raises:
        RecipeError: a path this tool may not write (see ``check_paths``), before anything.
    """
    check_paths(out_dir, inputs, report_path)
    with use_scheduler(scheduler) as where, Staging(out_dir, run_id, wait) as staging:
        yield Release(where, staging, PendingChecks())
