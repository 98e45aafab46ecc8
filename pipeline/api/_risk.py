"""``risk`` and ``suda2``: what ``anonymize risk`` measures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pipeline.api._guard import Data, column_names, guarded
from pipeline.core.errors import Problem, RecipeError

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class RiskResult:
    """Disclosure risk of a file over its key variables.

    Attributes:
        summary: The figures of ``anonymize risk --format json`` (a JSON-ready dict).
        records: One row per record, in input order: ``fk`` (sample frequency of its key
            combination), ``Fk`` (weighted frequency), ``rk`` (individual risk).
    """

    summary: dict
    records: pd.DataFrame


@guarded
def risk(
    data: Data,
    key_vars: Sequence[str],
    *,
    weight: str | None = None,
    k: int = 3,
    household: str | None = None,
    missing: Literal["any", "category"] = "any",
    encoding: str = "utf-8",
    delimiter: str = ",",
    model: str | bool | None = None,
    bound: float | None = None,
    sampling_fraction: float | None = None,
) -> RiskResult:
    """Disclosure risk over ``key_vars``, as ``anonymize risk`` (sdcMicro's ``measure_risk``).

    Args:
        data: A CSV or Parquet path, a pandas DataFrame or a pyarrow Table.
        key_vars: The key variables (read as categories).
        weight: The sampling weight column (numbers), if any.
        k: The k of k-anonymity.
        household: A household id column (adds household risk).
        missing: ``any``: a missing key value matches any value (sdcMicro); ``category``: it is
            a category of its own.
        encoding: Of a CSV file.
        delimiter: Of a CSV file.
        model: The model-based risk too (sdcMicro's modRisk; needs ``weight``): ``True`` for
            a log-linear model of main effects, or its interactions (``"a:b + c:d"``);
            ``summary["model_risk"]``.
        bound: The model risk leaves out combinations of more records.
        sampling_fraction: Estimate the population uniques too (ARX's Zayatz, Pitman, SNB and
            Dankar's rule; ``summary["population"]``), for a sample of this share.

    Raises:
        RecipeError: no key variable, k out of range, an unknown ``missing``, a model
            without weights or a bound that is not positive.
        InputDataError: a missing file or column, weights that are not numbers.
    """
    import pandas as pd

    from pipeline.risk import K_MAX
    from pipeline.risk.table import numeric_weights, risk_of_table, table_of

    keys = column_names(key_vars, "key_vars")
    if not 1 <= k <= K_MAX or missing not in ("any", "category"):
        raise RecipeError(
            [Problem(f"k must be 1..{K_MAX} and missing any or category")], title="usage error"
        )
    text = [*keys, *([household] if household else [])]
    wanted = list(dict.fromkeys([*text, *([weight] if weight else [])]))
    extras = _risk_extras(weight, model, bound, sampling_fraction)
    table = table_of(data, wanted, text, encoding, delimiter)
    if weight:
        table = numeric_weights(table, weight)
    result, summary = risk_of_table(table, keys, k, weight, household, missing, extras)
    records = pd.DataFrame({"fk": result.fk, "Fk": result.Fk, "rk": result.rk})
    return RiskResult(summary, records)


def _risk_extras(
    weight: str | None, model: str | bool | None, bound: float | None, fraction: float | None
) -> Any:
    """The measures ``risk`` adds (model risk, population uniques); None: neither.

    Raises:
        RecipeError: a model without weights, a bound or a fraction out of range.
    """
    import math

    from pipeline.risk.extras import Extras

    wanted = model is not None and model is not False
    if (wanted and not weight) or (bound is not None and not bound > 0):
        raise RecipeError(
            [Problem("a model-based risk needs weight, and bound > 0")], title="usage error"
        )
    if fraction is not None and not 0 < fraction <= 1:
        raise RecipeError([Problem("sampling_fraction must be in (0, 1]")], title="usage error")
    if not wanted and fraction is None:
        return None
    terms = model if isinstance(model, str) else None
    return Extras(
        model=wanted,
        terms=terms,
        bound=bound or math.inf,
        population=fraction is not None,
        fraction=fraction,
    )


@guarded
def suda2(
    data: Data,
    key_vars: Sequence[str],
    *,
    dis_fraction: float = 0.01,
    missing: Literal["any", "category", "unmatched"] = "any",
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> pd.DataFrame:
    """SUDA2 special uniques over ``key_vars``, as ``anonymize risk --suda2`` (sdcMicro's suda2).

    Args:
        data: A CSV or Parquet path, a pandas DataFrame or a pyarrow Table.
        key_vars: The key variables (read as categories; at most 20).
        dis_fraction: The sampling fraction the DIS-SUDA score assumes, in (0, 1].
        missing: ``any``: a missing key value matches any value; ``category``: a value of its
            own; ``unmatched``: it matches nothing (sdcMicro's ``missing = -999``). Under
            ``any`` and ``unmatched`` a record's missing value is in none of its MSUs.
        encoding: Of a CSV file.
        delimiter: Of a CSV file.

    Returns:
        One row per record, in input order: ``score`` (SUDA), ``dis_score`` (DIS-SUDA) and,
        per key variable ``V``, ``V_contribution`` (the share of the record's score from the
        MSUs holding ``V``, as sdcMicro's ``contributionPercent``). ``attrs["summary"]`` holds
        the file's figures (``anonymize risk --suda2``'s ``suda2`` section).

    Raises:
        RecipeError: no key variable, a fraction outside (0, 1], an unknown ``missing``.
        InputDataError: a missing file or column; past SUDA2's limits (named, before any work).
    """
    from pipeline.risk.suda2 import MISSING, check_fraction, records_of_table

    keys = column_names(key_vars, "key_vars")
    problems = check_fraction(dis_fraction)
    if missing not in MISSING:
        problems.append(f"missing must be one of {', '.join(MISSING)}")
    if problems:
        raise RecipeError([Problem(p) for p in problems], title="usage error")
    from pipeline.risk.table import table_of

    table = table_of(data, keys, keys, encoding, delimiter)
    return records_of_table(table, keys, float(dis_fraction), missing)
