"""``python -m pipeline`` is the ``anonymize`` command."""

from pipeline.cli.entry import main

if __name__ == "__main__":  # a spawned worker imports this module too
    main()
