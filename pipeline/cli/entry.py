"""Console entry point: ``risk``, ``utility`` and ``scan`` start without loading the typer app."""

from __future__ import annotations

import atexit
import gc
import sys


def main() -> None:
    """Run ``anonymize``; nothing waits at exit (GX's worker is killed then: ``gx_worker.stop``).

    At exit, what is still alive is frozen out of the garbage collector: the interpreter's last
    collections would otherwise walk every object of dask, pandas and pyarrow once more (0.35 s
    measured) to free memory the process is about to give back. Registered for the exit only,
    so a caller that runs this in-process (the tests) keeps collecting as usual.
    """
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    _dispatch()


def _dispatch() -> None:
    from pipeline.core.errors import quiet_library_logs
    from pipeline.engine.memory import configure

    configure()  # before any thread starts: see its docstring
    quiet_library_logs()
    if len(sys.argv) > 1 and sys.argv[1] == "risk":
        from pipeline.cli.risk import main as risk_main

        sys.exit(risk_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "utility":
        from pipeline.cli.utility import main as utility_main

        sys.exit(utility_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "scan":
        from pipeline.cli.scan import main as scan_main

        sys.exit(scan_main(sys.argv[2:]))
    from pipeline.cli.app import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
