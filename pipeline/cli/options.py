"""Shared pieces of the fast file commands (``anonymize risk``, ``anonymize scan``).

They are parsed with argparse, apart from the typer application, so they start in a fraction
of a second. Every error goes through ``pipeline.core.errors.report_failure``, as in ``run``: a
named error and its exit code, never a traceback or a data value.
"""

from __future__ import annotations

import argparse
import codecs
import shutil
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from pipeline.core.errors import EXIT_RECIPE, print_failure


def encoding_arg(value: str) -> str:
    """An argparse type: a text encoding Python knows (usage error otherwise)."""
    try:
        return codecs.lookup(value).name
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"unknown text encoding {value!r} (e.g. utf-8, cp932)"
        ) from None


def delimiter_arg(value: str) -> str:
    """An argparse type: one character (or a tab, written as backslash-t or tab)."""
    value = "\t" if value in ("\\t", "tab") else value
    if len(value) != 1:
        raise argparse.ArgumentTypeError("the delimiter is one character (or \\t)")
    return value


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"expected {low} to {high}")
        return number

    return parse


class HelpFormatter(argparse.HelpFormatter):
    """Help re-wrapped to the terminal (at most 100 columns), the description's paragraphs kept."""

    def __init__(self, prog: str) -> None:
        width = min(shutil.get_terminal_size().columns, 100) - 2
        super().__init__(prog, width=max(width, 40), max_help_position=28)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
        return "\n\n".join(
            textwrap.fill(p, width, initial_indent=indent, subsequent_indent=indent)
            for p in paragraphs
        )


def file_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser with the file argument and the options every file command takes."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=HelpFormatter
    )
    parser.add_argument("path", type=Path, help="CSV or Parquet file, or a folder of Parquet")
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=["json", "text"],
        default="text",
        help="json, or text (default)",
    )
    parser.add_argument(
        "--encoding",
        type=encoding_arg,
        default="utf-8",
        metavar="NAME",
        help="CSV text encoding (default utf-8; e.g. cp932)",
    )
    parser.add_argument(
        "--delimiter",
        type=delimiter_arg,
        default=",",
        metavar="CHAR",
        help="CSV separator (default ','; \\t for a tab)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an unexpected error"
    )
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """Parsed arguments, or the exit code: 0 after --help, 2 (usage error) otherwise."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_RECIPE


def guarded(
    parser: argparse.ArgumentParser,
    argv: list[str],
    body: Callable[[argparse.Namespace], int],
) -> int:
    """Parse ``argv`` and run ``body``; every error becomes a message and an exit code."""
    args = parse(parser, argv)
    if isinstance(args, int):
        return args
    try:
        return body(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a message and an exit code, never a traceback
        sys.stdout.flush()
        return print_failure(exc, args.debug)
