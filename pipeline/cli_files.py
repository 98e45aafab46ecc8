"""Shared pieces of the fast file commands (``anonymize risk``, ``anonymize scan``).

They are parsed with argparse, apart from the typer application, so they start in a fraction
of a second.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.errors import EXIT_RECIPE


def file_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser with the file argument and the options every file command takes."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path, help="CSV or Parquet file, or a folder of Parquet")
    parser.add_argument("--format", dest="fmt", choices=["json", "text"], default="text")
    parser.add_argument("--encoding", default="utf-8", help="CSV text encoding (e.g. cp932)")
    parser.add_argument("--delimiter", default=",", help="CSV field separator")
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """Parsed arguments, or the exit code: 0 after --help, 2 (usage error) otherwise."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_RECIPE
