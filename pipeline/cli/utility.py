"""``anonymize utility``: what the protection cost, between an original and a released file.

Parsed with argparse apart from the typer application (like ``anonymize risk``). The records
of the two files are matched by position, or through a column that identifies them in both
(``--by``); the figures are those of a run's manifest (``pipeline.utility.measures``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.cli.options import bounded_int, file_parser, guarded
from pipeline.core.errors import Problem, RecipeError
from pipeline.risk import K_MAX

DESCRIPTION = """Measure the information lost between ORIGINAL and RELEASED: per key variable
the values suppressed, categories before/after, precision loss, ARX's loss, non-uniform entropy
and Hellinger distance; discernibility and C_avg of the released classes; IL1s (sdcMicro),
means, standard deviations and correlations of numeric variables; total-variation distance of
2-way tables; for perturbed numeric variables (--perturbed) SSE/SST, interval disclosure
(sdcMicro's dRisk) and distance-based record linkage; for randomised (PRAM) variables
(--randomized) the share of values changed per category; with --model the accuracy of a
logistic regression and a gradient boosting classifier learnt from each file (scored on the
same held-out records), with --formula the overlap of the least-squares coefficients' 95%
intervals (Karr et al.). Records are matched by position
unless --by names a column identifying them in both files (released records missing from
ORIGINAL are an error).

Exit codes: 0 measured; 1 unexpected error (a bug); 2 usage error; 3 input problem."""


def _names(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also the command's help)."""
    parser = file_parser("anonymize utility", DESCRIPTION)
    parser.add_argument("released", type=Path, help="the released file (CSV or Parquet)")
    add = parser.add_argument
    add("--key-vars", required=True, metavar="A,B", help="comma-separated key variables")
    add("--numeric", metavar="X,Y", help="comma-separated numeric variables (IL1s etc.)")
    add("--tables", metavar="A:B,C:D", help="2-way tables (total-variation distance)")
    add("--perturbed", metavar="X,Y", help="comma-separated perturbed numeric variables")
    add("--randomized", metavar="C,D", help="comma-separated randomised (PRAM) variables")
    add("--by", metavar="COLUMN", help="column identifying the records in both files")
    add("--levels", metavar="A=1/4,...", help="generalization levels as COLUMN=LEVEL/HEIGHT")
    add("--k", type=bounded_int(1, K_MAX), default=3, metavar="K", help="k of C_avg (default 3)")
    add("--model", metavar="TARGET", help="classifiers learn TARGET from both files (accuracy)")
    add("--features", metavar="A,B", help="the classifiers' features (default: keys, numeric)")
    add("--formula", metavar="'Y ~ A + B'", help="least squares on both files: interval overlap")
    add("--seed", type=bounded_int(0, 2**32 - 1), default=0, metavar="S", help="of the split")
    return parser


def _levels(value: str | None) -> dict[str, tuple[int, int]]:
    out = {}
    for item in _names(value):
        try:
            column, spec = item.split("=")
            level, height = (int(x) for x in spec.split("/"))
        except ValueError:
            raise RecipeError(
                [Problem("--levels takes COLUMN=LEVEL/HEIGHT")], title="usage error"
            ) from None
        out[column] = (level, height)
    return out


def measure(args: argparse.Namespace) -> dict:
    """Read both files and return the JSON-ready figures (``pipeline.api.utility``).

    Raises:
        RecipeError: bad options.
        InputDataError: missing file or column, records that do not match.
    """
    from pipeline.api import utility

    tables = [tuple(_names(t.replace(":", ","))) for t in _names(args.tables)]
    if not _names(args.key_vars) or any(len(t) != 2 for t in tables):
        raise RecipeError([Problem("give --key-vars, and tables as A:B")], title="usage error")
    found = utility(
        args.path,
        args.released,
        _names(args.key_vars),
        numeric=_names(args.numeric),
        tables=tables,
        perturbed=_names(args.perturbed),
        randomized=_names(args.randomized),
        by=args.by,
        levels=_levels(args.levels),
        k=args.k,
        encoding=args.encoding,
        delimiter=args.delimiter,
        model=args.model,
        features=_names(args.features) or None,
        formula=args.formula,
        seed=args.seed,
    )
    return found.model_dump(mode="json")


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
        print(f"{name:>22}: {found[name]}")
    for v in found["variables"]:
        print(
            f"{v['column']:>22}: {v['suppressed']} suppressed ({v['suppressed_share']:.1%}), "
            f"{v['categories_before']} -> {v['categories_after']} categories, precision "
            f"loss {v['precision_loss']}, Hellinger {v['hellinger']}"
        )
    for v in found["numeric"]:
        print(
            f"{v['column']:>22}: IL1s {v['il1s']}, mean change {v['mean_change']}, "
            f"sd change {v['sd_change']}"
        )
    for t in found["tables"]:
        print(f"{' x '.join(t['columns']):>22}: total-variation distance {t['tvd']}")
    if found["perturbation"] is not None:
        p = found["perturbation"]
        print(
            f"{'perturbed':>22}: SSE/SST {p['sse_sst']}, interval disclosure "
            f"{p['interval_disclosure']}, "
            f"record linkage {p['record_linkage']} of {p['linkage_records']}"
        )
    for v in found["variables"]:
        if v["changed_share"] is not None:
            print(
                f"{v['column']:>22}: {v['changed_share']:.1%} changed, by category "
                f"{v['changed_by_category']}"
            )
    _analysis(found["analysis"])
    for w in found["warnings"]:
        print(f"warning: {w}")
    return 0


def _analysis(found: dict | None) -> None:
    """The analyst's figures, a line each."""
    if found is None:
        return
    for m in found["classification"]:
        print(
            f"{m['model']:>22}: accuracy {m['original']:.4f} from the original, "
            f"{m['released']:.4f} from the released (majority class {found['majority']:.4f})"
        )
    if found["regression"] is not None:
        r = found["regression"]
        print(f"{'regression':>22}: {r['formula']}: mean interval overlap {r['mean_overlap']}")
        for c in r["coefficients"]:
            print(
                f"{c['term']:>22}: {c['original']:.6g} -> {c['released']:.6g}, J {c['overlap']:.4f}"
            )
        if r["not_comparable"]:
            print(f"{'not comparable':>22}: {', '.join(r['not_comparable'])}")


def main(argv: list[str]) -> int:
    """Run the command; return the exit code."""
    return guarded(build_parser(), argv, _run)
