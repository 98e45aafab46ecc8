"""``python -m pipeline.cli`` runs the typer application (``anonymize`` without fast paths)."""

from pipeline.cli.app import main

main()
