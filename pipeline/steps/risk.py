"""``risk`` (measure disclosure risk) and ``local_suppression`` (enforce k-anonymity)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from pipeline.core.columns import ColumnsSpec
from pipeline.core.errors import InputDataError, Problem
from pipeline.core.lookup import RowLookup
from pipeline.reductions import KeyCombinations, KeyTable, Reduction
from pipeline.risk import K_MAX
from pipeline.risk.frequencies import Missing
from pipeline.risk.measures import distinct_risk
from pipeline.risk.suda2 import MAX_KEYS as SUDA2_MAX_KEYS
from pipeline.risk.suda2 import suda2_summary
from pipeline.risk.suppression import TooFewRecords, importance_order, suppress
from pipeline.steps.registry import (
    SUPPRESSED,
    Declaration,
    Effect,
    StepContext,
    StepParams,
    step,
)

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd
    import pandas as pd


def _needs_keys(columns: ColumnsSpec) -> list[tuple[str, str]]:
    if not columns.key_variables:
        return [("", "needs columns.key_variables (the quasi-identifiers)")]
    return []


_MISSING_DESCRIPTION = "Missing-value convention; default: the recipe's risk.missing, else any"


def _missing(params: RiskParams | LocalSuppressionParams, ctx: StepContext) -> Missing:
    """The step's missing-value convention: its own, else the recipe's (``risk.missing``)."""
    missing = params.missing or ctx.missing or "any"
    if missing not in ("any", "category"):
        raise ValueError(f"unknown missing-value convention {missing!r}")
    return missing  # type: ignore[return-value]


class RiskParams(StepParams):
    """Parameters of ``risk``; the key variables are ``columns.key_variables``."""

    logged = ("missing", "sample_uniques", "k_violations", "special_uniques")

    examples = ({"k": 3}, {"k": 5, "missing": "category"}, {"k": 3, "suda2": True})

    k: int = Field(3, ge=1, le=K_MAX, description="Count records in classes smaller than k.")
    missing: Literal["any", "category"] | None = Field(None, description=_MISSING_DESCRIPTION)
    suda2: bool = Field(
        False, description="Also SUDA2's special uniques and largest DIS-SUDA score."
    )
    dis_fraction: float = Field(
        0.01, gt=0, le=1, description="Sampling fraction the DIS-SUDA score assumes."
    )

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """The key variables must be declared (at most 20 with ``suda2``)."""
        problems = _needs_keys(columns)
        if self.suda2 and len(columns.key_variables) > SUDA2_MAX_KEYS:
            problems.append(("suda2", f"SUDA2 serves at most {SUDA2_MAX_KEYS} key variables"))
        return problems

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """The key combinations with their weight sums."""
        return {"keys": _key_table(ctx, ctx.columns.weight)}

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Nothing read or written: the frame is returned as it is (its need reads the keys)."""
        return Declaration()


class LocalSuppressionParams(StepParams):
    """Parameters of ``local_suppression``."""

    logged = ("missing", "suppressed_total")

    wording = SUPPRESSED
    examples = ({"k": 3}, {"k": 2, "importance": ["sex", "age"], "missing": "category"})

    k: int = Field(3, ge=2, le=K_MAX, description="Every record's fk must reach k.")
    importance: list[str] | None = Field(
        None,
        description="Key variables from the most important (suppressed last) to the least "
        "important (suppressed first); those left out are less important. Default: variables "
        "with more categories are less important (sdcMicro's default), ties by name.",
    )
    missing: Literal["any", "category"] | None = Field(None, description=_MISSING_DESCRIPTION)

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """The key variables must be declared and importance may only name them."""
        problems = _needs_keys(columns)
        for name in self.importance or []:
            if name not in columns.key_variables:
                problems.append(("importance", f"{name!r} is not in columns.key_variables"))
        return problems

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """The key combinations with their record counts."""
        return {"keys": _key_table(ctx)}

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the key variables and sets some of their values missing (replaces none)."""
        keys = set(columns.key_variables)
        return Declaration(reads=keys, writes=keys)

    def changed(self, facts: dict[str, Any], columns: ColumnsSpec) -> set[str]:
        """The key variables with a value suppressed."""
        return {c for c, n in (facts.get("suppressions") or {}).items() if n}


def _key_table(ctx: StepContext, weight: str | None = None) -> KeyTable:
    """The distinct key combinations of the WHOLE file (see ``KeyTable``)."""
    keys = tuple(ctx.columns.key_variables)
    if not keys:
        raise InputDataError(
            [Problem("columns.key_variables is empty", location=ctx.location, code="no_keys")]
        )
    return KeyTable(keys, weight)


@step("risk", params=RiskParams)
def risk(df: dd.DataFrame, params: RiskParams, ctx: StepContext) -> Effect:
    """Measure disclosure risk over the whole file at this point of the recipe (changes nothing).

    Over ``columns.key_variables`` (weights from ``columns.weight``): sample uniques, records
    violating k, expected re-identifications, global risk and the largest individual risk, as
    sdcMicro's measure_risk computes them. Missing key values follow ``missing``, by default
    the recipe's ``risk.missing`` (else ``any``: a missing value matches every value;
    ``category``: missing is a value of its own). With ``suda2: true`` also SUDA2's special
    uniques (records unique on fewer variables than all the keys) and the largest DIS-SUDA score
    (sampling fraction ``dis_fraction``), as sdcMicro's suda2. The figures go to the manifest
    and the log.
    """
    missing = _missing(params, ctx)
    found: KeyCombinations = ctx.values["keys"]
    weighted = ctx.columns.weight is not None
    summary = distinct_risk(found.codes, found.counts, found.sums, params.k, weighted, missing)[3]
    names = ("sample_uniques", "k_violations", "global_risk", "max_individual_risk")
    facts = {"missing": missing, **{k: summary[k] for k in names}}
    if params.suda2:
        keys = list(ctx.columns.key_variables)
        special = suda2_summary(found.codes, found.counts, keys, params.dis_fraction, missing)
        facts.update({k: special[k] for k in ("special_uniques", "max_dis_score")})
    return Effect(df, facts)


@step("local_suppression", params=LocalSuppressionParams)
def local_suppression(df: dd.DataFrame, params: LocalSuppressionParams, ctx: StepContext) -> Effect:
    """Set key-variable values to missing until every record's fk >= k (k-anonymity).

    Works over the whole file and reaches k under the convention for missing values that the
    gate measures with: ``missing``, by default the recipe's ``risk.missing``, else ``any``.

    * ``any`` (sdcMicro's): a missing value matches any value, so a suppressed value makes its
      record match every record that agrees on its other key values.
    * ``category`` (ARX's): a suppressed value is a value of its own, the same as a value that
      was missing in the input; records form a class only when they are equal on every key
      variable, missing included. Records that cannot reach k otherwise end with every key
      value suppressed; if those are fewer than k, more records are fully suppressed, taken
      where they cost least (from classes larger than k, never taking one below k, else the
      smallest class).

    It suppresses as few values as it can, preferring variables of low importance (see
    ``importance``; by default, as in sdcMicro, a variable with more categories is less
    important, and of two with as many categories the one whose name sorts later; variables
    ``importance`` leaves out are less important than those it names, in that default order),
    then gives back every suppressed value it can without breaking k. Under ``any`` it also
    works out sdcMicro's nearest-neighbour way and keeps whichever suppresses fewer values (see
    ``pipeline.risk.suppression``). Records with equal key values are treated alike. The
    convention used and the suppressions per variable are recorded in the manifest. The result
    does not depend on partitions, on the order of the records or on the order of the key
    variables.
    """
    missing = _missing(params, ctx)
    found: KeyCombinations = ctx.values["keys"]
    table, codes, counts = found.table, found.codes, found.counts
    keys = list(table.columns)
    cards = [int(codes[:, j].max(initial=-1)) + 1 for j in range(len(keys))]
    # unnamed variables first (more categories first, ties by name), then the named ones
    order = importance_order(keys, cards, params.importance)
    try:
        result = suppress(codes, params.k, order, counts=counts, missing=missing)
    except TooFewRecords as exc:
        raise InputDataError([Problem(str(exc), location=ctx.location, code="too_few")]) from None
    newly = (result.codes < 0) & (codes >= 0)
    facts = {
        "missing": missing,
        "suppressions": {key: int(n) for key, n in zip(keys, result.suppressed, strict=True)},
        "suppressed_total": int(result.suppressed.sum()),
    }
    hit = newly.any(axis=1)
    masks = table[hit].reset_index(drop=True)
    columns = [keys[j] for j in range(len(keys)) if newly[:, j].any()]
    for j, key in enumerate(keys):
        if key in columns:
            masks[_mask(key)] = newly[hit, j]
    masks = masks[[*keys, *map(_mask, columns)]]
    # numpy integer/bool columns cannot hold missing values: use the nullable dtypes
    nullable = {
        c: {"b": "boolean"}.get(df[c].dtype.kind, "Int64")
        for c in columns
        if isinstance(df[c].dtype, np.dtype) and df[c].dtype.kind in "biu"
    }
    if nullable:
        df = df.astype(nullable)
    lookup = RowLookup(masks, keys)  # indexed once, not merged with every partition
    return Effect(df.map_partitions(_apply_masks, lookup, columns, meta=df._meta), facts)


def _mask(column: str) -> str:
    return f"__suppress__{column}"


def _apply_masks(part: pd.DataFrame, masks: RowLookup, columns: list[str]) -> pd.DataFrame:
    """Suppress the values of the records whose key combination is in the masks' table.

    Each record is matched to its row of the table once (``RowLookup``), then each column's
    mask is taken from that row.
    """
    if not columns or part.empty:
        return part
    rows = masks.rows(part)
    found = rows >= 0
    at = rows[found]
    out = part.copy(deep=False)  # copy on write: the columns replaced below are new arrays
    for column in columns:
        hit = np.zeros(len(part), dtype=bool)
        hit[found] = masks.table[_mask(column)].to_numpy(dtype=bool)[at]
        if hit.any():
            out[column] = out[column].mask(hit)
    return out
