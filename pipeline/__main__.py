"""``python -m pipeline`` is the ``anonymize`` command."""

from pipeline.cli.entry import main

main()
