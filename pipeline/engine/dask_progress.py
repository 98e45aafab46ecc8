"""A live progress bar fed by dask's local-scheduler callbacks (loaded by a run only).

Its own module: :mod:`pipeline.engine.progress` is loaded to check a recipe too, which needs
no dask.
"""

from __future__ import annotations

from typing import Any

from dask.callbacks import Callback


class DaskProgress(Callback):
    """Feeds a rich progress bar from dask's local-scheduler callbacks."""

    def __init__(self, bar: Any, task_id: Any) -> None:
        super().__init__()
        self.bar, self.task_id, self.total, self.done = bar, task_id, 0, 0

    def _start_state(self, dsk: Any, state: Any) -> None:
        self.total += sum(len(state[k]) for k in ("ready", "waiting", "running"))
        self.bar.update(self.task_id, total=self.total)

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.done += 1
        self.bar.update(self.task_id, completed=self.done)
