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

from pipeline.engine.apply import PendingChecks
from pipeline.engine.publish import MANIFEST, Staging, check_paths
from pipeline.engine.schedulers import use_scheduler
from pipeline.engine.seal import M, seal


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

    def publish(self, manifest: M, signing_key_env: str | None = None) -> M:
        """Seal and write ``manifest.json``, publish the staging directory; return the manifest.

        The manifest lists every other file with its SHA-256 (signed with the key in
        ``signing_key_env`` when given); every check is settled before anything is renamed.
        """
        manifest, text = seal(manifest, self.staging.path, signing_key_env)
        (self.staging.path / MANIFEST).write_text(text)
        self.checks.ensure_settled()
        self.staging.publish()
        return manifest


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
