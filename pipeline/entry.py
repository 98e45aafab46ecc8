"""Console entry point: dispatches ``risk`` without loading the typer application."""

from __future__ import annotations

import sys


def main() -> None:
    """Run ``anonymize``."""
    if len(sys.argv) > 1 and sys.argv[1] == "risk":
        from pipeline.cli_risk import main as risk_main

        sys.exit(risk_main(sys.argv[2:]))
    from pipeline.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
