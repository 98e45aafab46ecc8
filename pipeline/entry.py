"""Console entry point: ``risk``, ``utility`` and ``scan`` start without loading the typer app."""

from __future__ import annotations

import sys


def main() -> None:
    """Run ``anonymize``."""
    from pipeline.engine.memory import configure
    from pipeline.errors import quiet_library_logs

    configure()  # before any thread starts: see its docstring
    quiet_library_logs()
    if len(sys.argv) > 1 and sys.argv[1] == "risk":
        from pipeline.cli_risk import main as risk_main

        sys.exit(risk_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "utility":
        from pipeline.cli_utility import main as utility_main

        sys.exit(utility_main(sys.argv[2:]))
    if len(sys.argv) > 1 and sys.argv[1] == "scan":
        from pipeline.cli_scan import main as scan_main

        sys.exit(scan_main(sys.argv[2:]))
    from pipeline.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
