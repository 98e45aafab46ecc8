"""``anonymize utility``: what the protection cost, between an original and a released file.

Parsed with argparse apart from the typer application (like ``anonymize risk``). The records
of the two files are matched by position, or through a column that identifies them in both
(``--by``); the figures are those of a run's manifest (``pipeline.utility.measures``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.cli_files import bounded_int, file_parser, guarded
from pipeline.errors import InputDataError, Problem, RecipeError
from pipeline.risk import K_MAX

DESCRIPTION = """Measure the information lost between ORIGINAL and RELEASED: per key variable
the values suppressed, categories before/after, precision loss, ARX's loss, non-uniform entropy
and Hellinger distance; discernibility and C_avg of the released classes; IL1s (sdcMicro),
means, standard deviations and correlations of numeric variables; total-variation distance of
2-way tables; for perturbed numeric variables (--perturbed) SSE/SST, interval disclosure
(sdcMicro's dRisk) and distance-based record linkage; for randomised (PRAM) variables
(--randomized) the share of values changed per category. Records are matched by position
unless --by names a column identifying them in both files (released records missing from
ORIGINAL are an error).

Exit codes: 0 measured; 1 unexpected error (a bug); 2 usage error; 3 input problem."""


def _names(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also the command's help)."""
    parser = file_parser("anonymize utility", DESCRIPTION)
    parser.add_argument("released", type=Path, help="the released file (CSV or Parquet)")
    parser.add_argument("--key-vars", required=True, help="comma-separated key variables")
    parser.add_argument("--numeric", help="comma-separated numeric variables (IL1s etc.)")
    parser.add_argument("--tables", help="2-way tables as A:B,C:D (total-variation distance)")
    parser.add_argument("--perturbed", help="comma-separated perturbed numeric variables")
    parser.add_argument("--randomized", help="comma-separated randomised (PRAM) variables")
    parser.add_argument("--by", help="column identifying the records in both files")
    parser.add_argument("--levels", help="generalization levels as COLUMN=LEVEL/HEIGHT,...")
    parser.add_argument("--k", type=bounded_int(1, K_MAX), default=3, help="k of C_avg")
    return parser


def _levels(value: str | None) -> dict[str, tuple[int, int]]:
    out = {}
    for item in _names(value):
        try:
            column, spec = item.split("=")
            level, height = (int(x) for x in spec.split("/"))
        except ValueError:
            raise RecipeError([Problem("--levels takes COLUMN=LEVEL/HEIGHT")],
                              title="usage error") from None  # fmt: skip
        out[column] = (level, height)
    return out


def measure(args: argparse.Namespace) -> dict:
    """Read both files and return the JSON-ready figures.

    Raises:
        RecipeError: bad options.
        InputDataError: missing file or column, records that do not match.
    """
    from pipeline.risk.table import read_columns
    from pipeline.utility.aggregate import UtilityPlan
    from pipeline.utility.compare import compare

    keys, numeric = _names(args.key_vars), _names(args.numeric)
    tables = [tuple(_names(t.replace(":", ","))) for t in _names(args.tables)]
    if not keys or any(len(t) != 2 for t in tables):
        raise RecipeError([Problem("give --key-vars, and tables as A:B")], title="usage error")
    perturbed, randomized = _names(args.perturbed), _names(args.randomized)
    categorical = list(dict.fromkeys([*keys, *(c for t in tables for c in t), *randomized]))
    numeric = list(dict.fromkeys([*numeric, *perturbed]))
    plan = UtilityPlan(tuple(keys), tuple(categorical), tuple(numeric), tuple(tables),
                       tuple(perturbed), tuple(randomized))  # fmt: skip
    wanted = list(dict.fromkeys([*plan.columns, *([args.by] if args.by else [])]))
    text = [*categorical, *([args.by] if args.by else [])]
    frames = []
    for path in (args.path, args.released):
        if not path.exists():
            raise InputDataError([Problem(f"input {path} not found", code="input_missing")])
        table = read_columns(path, wanted, text, args.encoding, args.delimiter)
        frames.append(table.to_pandas(types_mapper=_nullable))
    original, released = _align(*frames, args.by)
    found = compare(original, released, plan, _levels(args.levels), args.k, len(frames[0]))
    return found.model_dump(mode="json")


def _nullable(arrow_type: object) -> object:
    import pandas as pd
    import pyarrow as pa

    if arrow_type == pa.string() or arrow_type == pa.large_string():
        return pd.StringDtype()
    return None


def _align(original, released, by: str | None):  # noqa: ANN001, ANN202 - pandas frames
    """The original records in the released file's order (counts only in errors)."""
    if by is None:
        if len(original) != len(released):
            raise InputDataError([Problem(
                f"the files hold {len(original)} and {len(released)} records: name a column "
                "identifying the records in both with --by", code="records_differ")])  # fmt: skip
        return original, released
    for name, frame in (("original", original), ("released", released)):
        if frame[by].isna().any() or frame[by].duplicated().any():
            raise InputDataError([Problem(
                f"column {by!r} of the {name} file is missing or repeated in some records: "
                "it cannot identify them", code="by_not_unique")])  # fmt: skip
    position = original.reset_index(drop=True).reset_index().set_index(by)["index"]
    found = released[by].map(position)
    if found.isna().any():
        raise InputDataError([Problem(
            f"{int(found.isna().sum())} released record(s) are not in the original file",
            code="records_differ")])  # fmt: skip
    return original.iloc[found.to_numpy(dtype="int64")].reset_index(drop=True), released


def _run(args: argparse.Namespace) -> int:
    found = measure(args)
    if args.fmt == "json":
        print(json.dumps(found, indent=2))
        return 0
    for name in (
        "records",
        "records_removed",
        "suppressed_records",
        "precision_loss",
        "loss",
        "discernibility",
        "classes",
        "c_avg",
        "entropy",
        "il1s",
        "il1s_mean",
        "correlation_change",
    ):
        print(f"{name:>22}: {found[name]}")  # fmt: skip
    for v in found["variables"]:
        print(f"{v['column']:>22}: {v['suppressed']} suppressed ({v['suppressed_share']:.1%}), "
              f"{v['categories_before']} -> {v['categories_after']} categories, precision "
              f"loss {v['precision_loss']}, Hellinger {v['hellinger']}")  # fmt: skip
    for v in found["numeric"]:
        print(f"{v['column']:>22}: IL1s {v['il1s']}, mean change {v['mean_change']}, "
              f"sd change {v['sd_change']}")  # fmt: skip
    for t in found["tables"]:
        print(f"{' x '.join(t['columns']):>22}: total-variation distance {t['tvd']}")
    if found["perturbation"] is not None:
        p = found["perturbation"]
        print(f"{'perturbed':>22}: SSE/SST {p['sse_sst']}, interval disclosure "
              f"{p['interval_disclosure']}, "
              f"record linkage {p['record_linkage']} of {p['linkage_records']}")  # fmt: skip
    for v in found["variables"]:
        if v["changed_share"] is not None:
            print(f"{v['column']:>22}: {v['changed_share']:.1%} changed, by category "
                  f"{v['changed_by_category']}")  # fmt: skip
    for w in found["warnings"]:
        print(f"warning: {w}")
    return 0


def main(argv: list[str]) -> int:
    """Run the command; return the exit code."""
    return guarded(build_parser(), argv, _run)
