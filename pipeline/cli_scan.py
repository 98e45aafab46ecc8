"""``anonymize scan``: find identifiers in any CSV or Parquet file (a report, never values).

Like ``anonymize risk`` it is parsed with argparse apart from the typer application so that it
starts fast; it imports only numpy, pyarrow and pydantic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.cli_files import file_parser, parse
from pipeline.errors import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_RECIPE,
    EXIT_UNEXPECTED,
    InputDataError,
    Problem,
    redact,
)

DESCRIPTION = """Scan every column of a CSV or Parquet file for direct identifiers (names,
addresses, phones, e-mail, postal codes) and Japanese identification codes (My Number,
corporate number, driver's licence, passport, residence card, pension and insurer numbers),
combining value shapes after NFKC normalisation, check digits and column-name hints. Reports
per column: kind, matching rows, rows checked, confidence and the evidence; never a value.

Exit codes: 0 scanned; 2 usage error; 3 input problem; 5 findings with --fail-on-findings."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also the command's help)."""
    parser = file_parser("anonymize scan", DESCRIPTION)
    parser.add_argument("--fail-on-findings", action="store_true", help="exit 5 if anything")
    parser.add_argument("--sample", type=int, help="scan a seeded random sample of N rows")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    parser.add_argument("--columns", help="comma-separated columns to scan (default: all)")
    parser.add_argument(
        "--min-confidence", type=float, default=0.5, help="report findings at or above (0.5)"
    )
    return parser


def read_table(path: Path, encoding: str, delimiter: str, columns: list[str] | None):  # noqa: ANN201
    """Every (or the named) column of a file; CSV columns as text.

    Raises:
        InputDataError: missing file or column, unreadable file.
    """
    from pipeline.risk.table import file_columns, read_columns

    if not path.exists():
        raise InputDataError([Problem(f"input {path} not found", code="input_missing")])
    try:
        header = file_columns(path, encoding, delimiter)
        wanted = columns or header
        return read_columns(path, wanted, wanted, encoding, delimiter)
    except KeyError as exc:
        raise InputDataError([Problem(str(exc.args[0]), code="missing_column")]) from None
    except (ValueError, OSError, IndexError, UnicodeDecodeError) as exc:
        message = f"cannot read {path}: {redact(str(exc))}"
        raise InputDataError([Problem(message, code="unreadable")]) from None


def main(argv: list[str]) -> int:
    """Run the command; return the exit code."""
    parser = build_parser()
    args = parse(parser, argv)
    if isinstance(args, int):
        return args
    if (args.sample is not None and args.sample < 1) or not 0 < args.min_confidence <= 1:
        parser.print_usage(sys.stderr)
        print("anonymize scan: --sample must be >= 1, --min-confidence in (0, 1]", file=sys.stderr)
        return EXIT_RECIPE
    from pipeline.scan.scanner import scan_table

    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    try:
        table = read_table(args.path, args.encoding, args.delimiter, columns)
    except InputDataError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_INPUT
    try:
        findings, rows = scan_table(table, None, args.sample, args.seed, args.min_confidence)
    except Exception as exc:  # noqa: BLE001 - a message and an exit code, never a traceback
        print(f"unexpected error: {type(exc).__name__}: {redact(str(exc))}", file=sys.stderr)
        return EXIT_UNEXPECTED
    if args.fmt == "json":
        print(json.dumps([f.model_dump() for f in findings], indent=2, ensure_ascii=False))
    else:
        print(f"{args.path}: {len(table.column_names)} columns, {rows} rows scanned")
        for f in findings:
            evidence = ", ".join(f"{k}={v}" for k, v in f.evidence.items() if k != "patterns")
            print(
                f"  {f.column}: {f.kind} ({f.category}) in {f.matches} of {f.rows_checked} "
                f"values, confidence {f.confidence:.2f} [{evidence}]"
            )
        if not findings:
            print("  no identifiers found")
    return EXIT_FINDINGS if findings and args.fail_on_findings else 0
