"""Choosing where dask runs: threads (default), processes, a local cluster or a remote one."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from pipeline.core.errors import Problem, RecipeError, did_you_mean

SCHEDULERS = ("threads", "processes", "local", "tcp://HOST:PORT")


def check_scheduler(name: str) -> None:
    """Raise a usage error (exit 2) for a scheduler name that is not understood."""
    if name in ("threads", "processes", "local") or name.startswith("tcp://"):
        return
    hint = did_you_mean(name, ["threads", "processes", "local"])
    raise RecipeError(
        [Problem(f"--scheduler {name!r}: expected one of {', '.join(SCHEDULERS)}{hint}")],
        title="usage error",
    )


@contextlib.contextmanager
def use_scheduler(name: str) -> Iterator[str]:
    """Run the body with the chosen dask scheduler active; yields a description for logs.

    ``local`` starts a distributed LocalCluster bound to 127.0.0.1 with a random dashboard port;
    ``tcp://HOST:PORT`` connects to an existing scheduler (workers must see the same files).
    """
    import dask

    check_scheduler(name)
    # dask's "tune" stage reads the checkpoint's files of a pass that needs few of their
    # columns together, sqrt(files) to a task: a pass over a 2-partition checkpoint then ran on
    # one core. Off, a partition stays a task (the partitions are the engine's to choose).
    with dask.config.set({"optimization.tune.active": False}):
        yield from _chosen(name)


def _chosen(name: str) -> Iterator[str]:
    """The body of :func:`use_scheduler` with the scheduler ``name`` active."""
    import dask

    if name in ("threads", "processes"):
        # the scheduler's function, not its name, and the shuffle method it implies without a
        # client ("disk"): dask would import distributed (0.25 s of the run's thread) on the
        # first compute or tree reduction only to see that no client is running
        if name == "threads":
            import dask.threaded as chosen
        else:
            import dask.multiprocessing as chosen
        with dask.config.set({"scheduler": chosen.get, "dataframe.shuffle.method": "disk"}):
            yield name
        return
    from distributed import Client, LocalCluster

    # distributed logs a failed task with its arguments (data): keep its loggers quiet
    logging.getLogger("distributed").setLevel(logging.CRITICAL)

    if name == "local":
        with (
            LocalCluster(
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                silence_logs=logging.CRITICAL,  # task errors are logged with their data
            ) as cluster,
            Client(cluster) as client,
        ):
            yield f"local cluster {client.scheduler.address}"
        return
    try:
        client = Client(name, timeout="10s")
    except (OSError, ValueError, TypeError) as exc:  # unreachable, or not HOST:PORT
        raise RecipeError(
            [Problem(f"--scheduler {name}: cannot connect ({type(exc).__name__})")],
            title="usage error",
        ) from None
    with client:
        yield f"cluster {name}"
