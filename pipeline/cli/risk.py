"""``anonymize risk``: disclosure risk of any file, for auditors.

Kept apart from the typer application (and parsed with argparse) so that the command starts
in a fraction of a second: it imports only numpy and pyarrow.
"""

from __future__ import annotations

import argparse
import json

from pipeline.cli.options import bounded_int, file_parser, guarded
from pipeline.core.errors import Problem, RecipeError
from pipeline.risk import K_MAX

DESCRIPTION = """Measure disclosure risk of a CSV or Parquet file over its key variables:
sample uniques, records violating k, expected re-identifications, global and largest individual
risk (as sdcMicro's measure_risk), and per-key-variable counts. Missing key values match any
value (sdcMicro) unless --missing category.

Exit codes: 0 measured; 1 unexpected error (a bug); 2 usage error; 3 input problem."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also the command's help)."""
    parser = file_parser("anonymize risk", DESCRIPTION)
    parser.add_argument(
        "--key-vars", required=True, metavar="A,B,C", help="comma-separated key variables"
    )
    parser.add_argument("--weight", metavar="COLUMN", help="sampling weight column")
    parser.add_argument(
        "--k",
        type=bounded_int(1, K_MAX),
        default=3,
        metavar="K",
        help=f"k of k-anonymity (1..{K_MAX}, default 3)",
    )
    parser.add_argument(
        "--household", metavar="COLUMN", help="household id column (adds household risk)"
    )
    parser.add_argument(
        "--missing",
        choices=["any", "category"],
        default="any",
        help="a missing key value matches any value (default, sdcMicro) or is a category",
    )
    return parser


def measure(args: argparse.Namespace) -> dict:
    """Read the file and return the JSON-ready summary (``pipeline.api.risk``).

    Raises:
        RecipeError: no key variable given.
        InputDataError: missing file or column, unreadable file, weights that are not numbers.
    """
    from pipeline.api import risk

    if not [c for c in args.key_vars.split(",") if c.strip()]:
        raise RecipeError([Problem("--key-vars names no column")], title="usage error")
    found = risk(
        args.path,
        args.key_vars,
        weight=args.weight,
        k=args.k,
        household=args.household,
        missing=args.missing,
        encoding=args.encoding,
        delimiter=args.delimiter,
    )
    return found.summary


def _run(args: argparse.Namespace) -> int:
    summary = measure(args)
    if args.fmt == "json":
        print(json.dumps(summary, indent=2))
        return 0
    for name, value in summary.items():
        if name != "key_variables":
            print(f"{name:>28}: {value}")
    for name, info in summary["key_variables"].items():
        print(f"{name:>28}: {info['categories']} categories, {info['missing']} missing")
    return 0


def main(argv: list[str]) -> int:
    """Run the command; return the exit code."""
    return guarded(build_parser(), argv, _run)
