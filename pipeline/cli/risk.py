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
value (sdcMicro) unless --missing category. With --suda2, also SUDA2's special uniques (records
unique on few of the key variables; per record with --records FILE), as sdcMicro's suda2.

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
        choices=["any", "category", "unmatched"],
        default="any",
        help="a missing key value matches any value (default, sdcMicro) or is a category; "
        "with --suda2 also unmatched: it matches nothing (sdcMicro's suda2)",
    )
    parser.add_argument(
        "--suda2", action="store_true", help="add SUDA2 special uniques (sdcMicro's suda2)"
    )
    parser.add_argument(
        "--dis-fraction",
        type=float,
        default=0.01,
        metavar="F",
        help="sampling fraction of the DIS-SUDA score, in (0, 1] (default 0.01)",
    )
    parser.add_argument(
        "--records",
        metavar="FILE",
        help="with --suda2: write each record's scores to this new CSV file",
    )
    parser.add_argument("--force", action="store_true", help="replace the --records file")
    parser.add_argument(
        "--model",
        nargs="?",
        const="",
        metavar="TERMS",
        help="add the model-based risk of a log-linear model (sdcMicro's modRisk; needs "
        "--weight): main effects, plus interactions given as 'a:b + c:d'",
    )
    parser.add_argument(
        "--bound", type=float, metavar="B", help="the model risk leaves out classes above B"
    )
    parser.add_argument(
        "--sampling-fraction",
        type=float,
        metavar="PI",
        help="estimate the population uniques of a sample of this share of the population "
        "(ARX's Zayatz, Pitman, SNB, Dankar's rule)",
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
    if not args.suda2 and (args.missing == "unmatched" or args.records):
        raise RecipeError(
            [Problem("--missing unmatched and --records need --suda2")], title="usage error"
        )
    found = risk(
        args.path,
        args.key_vars,
        weight=args.weight,
        k=args.k,
        household=args.household,
        missing="any" if args.missing == "unmatched" else args.missing,
        encoding=args.encoding,
        delimiter=args.delimiter,
        model=None if args.model is None else (args.model or True),
        bound=args.bound,
        sampling_fraction=args.sampling_fraction,
    )
    if not args.suda2:
        return found.summary
    return {**found.summary, "suda2": _suda2(args)}  # --records written once all is measured


def _suda2(args: argparse.Namespace) -> dict:
    """SUDA2's figures (``pipeline.api.suda2``); each record's written to ``--records``."""
    from pathlib import Path

    from pipeline.api import suda2
    from pipeline.io.owned import write_new_file

    frame = suda2(
        args.path,
        args.key_vars,
        dis_fraction=args.dis_fraction,
        missing=args.missing,
        encoding=args.encoding,
        delimiter=args.delimiter,
    )
    if args.records:
        frame.index += 1  # records numbered from 1, as in every message

        def fill(handle: object) -> None:
            frame.to_csv(handle, index_label="record", float_format="%.17g")

        write_new_file(Path(args.records), "utf-8", fill, args.force)
    return frame.attrs["summary"]


def _run(args: argparse.Namespace) -> int:
    summary = measure(args)
    if args.fmt == "json":
        print(json.dumps(summary, indent=2))
        return 0
    for name, value in summary.items():
        if name not in ("key_variables", "suda2", "model_risk", "population"):
            print(f"{name:>28}: {value}")
    for name, info in summary["key_variables"].items():
        print(f"{name:>28}: {info['categories']} categories, {info['missing']} missing")
    for name, value in summary.get("population", {}).items():
        print(f"{'population ' + name:>28}: {value}")
    for name, value in summary.get("model_risk", {}).items():
        print(f"{'model ' + name:>28}: {value}")
    for name, value in summary.get("suda2", {}).items():
        print(f"{'suda2 ' + name:>28}: {value}")
    return 0


def main(argv: list[str]) -> int:
    """Run the command; return the exit code."""
    return guarded(build_parser(), argv, _run)
