"""Choosing where dask runs: threads (default), processes, a local cluster or a remote one."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import dask

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
    check_scheduler(name)
    if name in ("threads", "processes"):
        # the scheduler's function, not its name: dask would import distributed (0.3 s) on the
        # first compute only to see that no client is running
        if name == "threads":
            import dask.threaded as chosen
        else:
            import dask.multiprocessing as chosen
        with dask.config.set(scheduler=chosen.get):
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
