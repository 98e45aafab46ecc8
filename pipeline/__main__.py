"""``python -m pipeline`` is the ``anonymize`` command."""

from pipeline.entry import main

main()
