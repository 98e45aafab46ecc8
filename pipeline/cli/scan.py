"""``anonymize scan``: find identifiers in any CSV or Parquet file (a report, never values).

Like ``anonymize risk`` it is parsed with argparse apart from the typer application so that it
starts fast; it imports only numpy, pyarrow and pydantic.
"""

from __future__ import annotations

import argparse
import json

from pipeline.cli.options import bounded_int, file_parser, guarded
from pipeline.core.errors import EXIT_FINDINGS

DESCRIPTION = """Scan every column of a CSV or Parquet file for direct identifiers (names,
addresses, phones, e-mail, postal codes) and Japanese identification codes (My Number,
corporate number, driver's licence, passport, residence card, pension and insurer numbers),
combining value shapes after NFKC normalisation, check digits and column-name hints. Reports
per column: kind, matching rows, rows checked, confidence and the evidence; never a value.

Exit codes: 0 scanned; 1 unexpected error (a bug); 2 usage error; 3 input problem; 5 findings
with --fail-on-findings."""


def _confidence(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not 0 < number <= 1:
        raise argparse.ArgumentTypeError("expected a number in (0, 1]")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also the command's help)."""
    parser = file_parser("anonymize scan", DESCRIPTION)
    parser.add_argument("--fail-on-findings", action="store_true", help="exit 5 if anything")
    parser.add_argument(
        "--sample",
        type=bounded_int(1, 2**62),
        metavar="N",
        help="scan a seeded random sample of N rows",
    )
    parser.add_argument(
        "--seed",
        type=bounded_int(0, 2**63 - 1),
        default=0,
        metavar="S",
        help="seed of the sample (default 0)",
    )
    parser.add_argument(
        "--columns", metavar="A,B", help="comma-separated columns to scan (default: all)"
    )
    parser.add_argument(
        "--min-confidence",
        type=_confidence,
        default=0.5,
        metavar="C",
        help="report findings at or above C (default 0.5)",
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    from pipeline.scan.scanner import scan_table

    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    from pipeline.risk.table import read_table

    table = read_table(args.path, args.encoding, args.delimiter, columns)
    findings, rows = scan_table(table, None, args.sample, args.seed, args.min_confidence)
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


def main(argv: list[str]) -> int:
    """Run the command; return the exit code."""
    return guarded(build_parser(), argv, _run)
