"""The ``generalize`` step: optimal full-domain generalization with record suppression."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from pipeline.core.columns import ColumnsSpec
from pipeline.core.errors import InputDataError, Problem
from pipeline.core.requirements import OneOf, Requirement
from pipeline.hierarchies import JP_REGION
from pipeline.reductions import KeyCombinations, KeyTable, Reduction, in_code_order
from pipeline.risk import K_MAX
from pipeline.risk.lattice import search
from pipeline.risk.privacy import LDiversity, Model, TCloseness, violating
from pipeline.series.context import step_signature
from pipeline.steps.levels import TOP, Levels, ladders_of
from pipeline.steps.recode import apply_map, jp_words
from pipeline.steps.registry import (
    SUPPRESSED,
    Declaration,
    Description,
    Effect,
    StepContext,
    StepParams,
    Wording,
    step,
)

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd
    import pandas as pd


class GeneralizeParams(StepParams):
    """Parameters of ``generalize``; classes are over ``columns.key_variables``."""

    logged = ("suppressed_records", "records_violating", "nodes_evaluated", "lattice_size")

    wording = Wording("一般化", "generalized")
    examples = (
        {
            "k": 3,
            "max_suppression": 0.1,
            "hierarchies": {
                "municipality": {"hierarchy": "jp_region"},
                "age": {"bands": [[0, 15, 30, 45, 60, 75], [0, 15, 60]]},
            },
        },
    )

    k: int = Field(ge=1, le=K_MAX, description="Every released class holds at least k records.")
    max_suppression: float = Field(
        0.0, ge=0, le=1, description="Share of records whose key values may all be suppressed."
    )
    metric: Literal["precision", "discernibility", "entropy", "loss"] = Field(
        "precision", description="The information loss minimised (see anonymize steps)."
    )
    hierarchies: dict[str, Levels] = Field(
        min_length=1, description="Key variable -> its levels (hierarchy file, jp_region, bands)."
    )
    suppress: Literal["records", "none"] = Field(
        "records",
        description="records: the records of classes still below k lose every key value; "
        "none: they are left as they are for a later local_suppression (cell by cell).",
    )
    l_diversity: LDiversity | None = None
    t_closeness: TCloseness | None = None

    @property
    def sensitive(self) -> str | None:
        """The sensitive column of l-diversity / t-closeness (they must name the same)."""
        found = [m.column for m in (self.l_diversity, self.t_closeness) if m is not None]
        return found[0] if found else None

    def columns_used(self) -> dict[str, str]:
        """The sensitive column of l-diversity / t-closeness (checked against the input)."""
        models = {"l_diversity.column": self.l_diversity, "t_closeness.column": self.t_closeness}
        return {field: m.column for field, m in models.items() if m is not None}

    def recipe_problems(self, columns: ColumnsSpec) -> list[tuple[str, str]]:
        """Hierarchies only for key variables; one sensitive column."""
        problems = []
        if not columns.key_variables:
            problems.append(("", "needs columns.key_variables (the quasi-identifiers)"))
        for column in self.hierarchies:
            if column not in columns.key_variables:
                problems.append(("hierarchies", f"{column!r} is not in columns.key_variables"))
        both = [m.column for m in (self.l_diversity, self.t_closeness) if m is not None]
        if len(set(both)) > 1:
            problems.append(("t_closeness", "l_diversity and t_closeness must name one column"))
        if self.sensitive in columns.key_variables:
            problems.append(("l_diversity", "the sensitive column cannot be a key variable"))
        return problems

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """The key combinations (with the sensitive value when l or t is asked)."""
        keys = tuple(ctx.columns.key_variables)
        return {"keys": KeyTable((*keys, self.sensitive) if self.sensitive else keys)}

    def categories(self, base_dir: Path) -> dict[str, dict[str, Wording]]:
        """The built-in region ladder's categories by their names (``Kanto``: 関東 / Kanto)."""
        return {c: jp_words() for c, lv in self.hierarchies.items() if lv.hierarchy == JP_REGION}

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the keys and the sensitive column; writes the keys, replaces the generalized.

        A key is written when generalized or set missing for a suppressed record.
        """
        keys = set(columns.key_variables)
        reads = keys | ({self.sensitive} if self.sensitive else set())
        return Declaration(reads=reads, writes=keys, replaces=set(self.hierarchies))

    def changed(self, facts: dict[str, Any], columns: ColumnsSpec) -> set[str]:
        """The columns generalized above their level 0; every key when records were suppressed."""
        if facts.get("suppressed_records"):
            return set(columns.key_variables)
        return {c for c, level in (facts.get("levels") or {}).items() if level > 0}

    def describe(self, facts: dict[str, Any], base_dir: Path, columns: ColumnsSpec) -> Description:
        """Generalized columns with the level they went to, by name and size.

        ``generalized to regional blocks (9 categories)``; the keys of suppressed records
        deleted.
        """
        out: dict[str, Wording] = {}
        for column, (level, _) in self.generalizes(facts, base_dir).items():
            if level > 0:
                words = self.hierarchies[column].level_words(level, base_dir)
                out[column] = Wording(f"{words.ja}に一般化", f"generalized to {words.en}")
        if facts.get("suppressed_records"):
            for column in columns.key_variables:
                out.setdefault(column, SUPPRESSED)
        return Description(out)

    def requirements(self, facts: dict[str, Any], base_dir: Path) -> list[Requirement]:
        """Each generalized column holds only labels of its chosen level."""
        out = []
        for column, level in (facts.get("levels") or {}).items():
            if level > 0:
                allowed = self.hierarchies[column].allowed(level, base_dir)
                out.append(OneOf(column, allowed, f"generalize level {level} of {column}"))
        return out

    def generalizes(self, facts: dict[str, Any], base_dir: Path) -> dict[str, tuple[int, int]]:
        """The chosen level of each column and its height."""
        heights = facts.get("heights") or {}
        return {c: (level, heights[c]) for c, level in (facts.get("levels") or {}).items()}


@step("generalize", params=GeneralizeParams)
def generalize(df: dd.DataFrame, params: GeneralizeParams, ctx: StepContext) -> Effect:
    """Generalize the key variables to the best levels of their hierarchies (ARX-style).

    Searches the lattice of level combinations of ``hierarchies`` over the WHOLE file for the
    one with the least information loss (``metric``: ``precision`` - mean level/height,
    ``discernibility``, ``entropy`` - non-uniform entropy, or ``loss`` - ARX's loss) that makes
    the file k-anonymous (and l-diverse / t-close when asked) with at most
    ``floor(max_suppression x records)`` records suppressed; ties go to the smaller sum of
    levels. The records of classes still below k (or breaking l / t) have every key value
    suppressed (the record stays); classes are formed with missing as a value of its own, which
    gives k under either missing-value convention (under ``risk.missing: category`` the
    suppressed records, which form a class, must then number 0 or at least k).

    Levels: ``{hierarchy: hierarchies/age.csv}`` (ARX-style file), ``{hierarchy: jp_region}``
    (JIS codes: municipality, prefecture, region9, region, national - nested levels;
    ``levels: [prefecture, region]`` picks some, finest first), or
    ``{bands: [[0, 5, 10, ...], [0, 10, 20, ...]]}`` (a ladder of bands, coarser upward, with a
    last level ``*``; ``labels: lower`` keeps lower edges as numbers, the top level missing).
    Key variables without hierarchy are kept as they are. A value outside its hierarchy is an
    error (counts only). ``suppress: none`` leaves the records still below k as they are, for
    a ``local_suppression`` after it (which then needs no pass of its own: the step hands the
    engine the key combinations it produced). The search works on the table of distinct key
    combinations, never on the records: every node is rolled up from a neighbour and nodes that
    cannot beat the best are pruned. The manifest records the chosen levels, the nodes
    evaluated and the loss of the optimum. In a release series (``series:``) a step with the
    same parameters keeps the levels the series applied while they still meet k, else takes the
    best node above them (levels only rise; ``series_levels`` in the manifest).
    """
    found: KeyCombinations = ctx.values["keys"]
    keys = list(ctx.columns.key_variables)
    ladders, labels, heights = ladders_of(found, keys, params.hierarchies, ctx)
    sensitive = found.codes[:, -1] if params.sensitive else None
    codes = found.codes[:, : len(keys)]
    model = _model(params, ctx, float(found.counts.sum()), found, sensitive)
    series = ctx.series.levels(step_signature("generalize", params)) if ctx.series else None
    floor = tuple(series.get(c, 0) for c in keys) if series is not None else None
    result = search(
        codes, found.counts, ladders, model, params.metric, sensitive, floor=floor, names=keys
    )
    if result.best is None:
        raise InputDataError(
            [
                Problem(
                    f"no combination of levels meets k = {params.k} with at most "
                    f"{int(model.max_suppressed)} records suppressed; raise max_suppression or add "
                    "levels",
                    location=ctx.location,
                    code="generalize_infeasible",
                )
            ]
        )
    best = result.best
    chosen = dict(zip(keys, best.levels, strict=True))
    bad = _bad_rows(codes, found.counts, sensitive, ladders, best.levels, model)
    facts = {
        "levels": {c: chosen[c] for c in params.hierarchies},
        "heights": heights,
        "metric": params.metric,
        "loss": float(f"{best.loss:.6g}"),
        "suppressed_records": int(round(best.suppressed)) if params.suppress == "records" else 0,
        "records_violating": int(round(best.suppressed)),
        "max_suppressed_records": int(model.max_suppressed),
        "nodes_evaluated": result.evaluated,
        "lattice_size": result.lattice,
        "feasible_nodes_evaluated": result.feasible,
    }
    if floor is not None:  # a release series keeps its levels unless k needs more
        facts["series_levels"] = "kept" if best.levels == floor else "raised"
    table = found.table[keys]
    hit = bad if params.suppress == "records" else np.zeros_like(bad)
    masks = table[hit].drop_duplicates().assign(**{_HIT: True})
    maps = {
        c: (
            *_lookup(labels[c][0], labels[c][1][chosen[c] - 1]),
            params.hierarchies[c].numeric or "string",
        )
        for c in params.hierarchies
        if chosen[c] > 0
    }
    nullable = {
        c: {"b": "boolean"}.get(df[c].dtype.kind, "Int64")
        for c in keys
        if c not in maps and isinstance(df[c].dtype, np.dtype) and df[c].dtype.kind in "biu"
    }
    df = df.astype(nullable) if nullable else df
    meta = df._meta.astype({c: dtype for c, (_, _, dtype) in maps.items()})
    frame = df.map_partitions(_apply, maps, masks, keys, meta=meta)
    known = _after(found, keys, labels, chosen, hit, meta, params)
    return Effect(frame, facts, known={KeyTable(tuple(keys)): known})


_HIT = "__anon_generalize_hit"


def _model(
    params: GeneralizeParams,
    ctx: StepContext,
    records: float,
    found: KeyCombinations,
    sensitive: np.ndarray | None,
) -> Model:
    """The privacy model of the step (ordered t-closeness for a numeric sensitive column)."""
    import pandas as pd

    div, close = params.l_diversity, params.t_closeness
    ordered = sensitive is not None and pd.api.types.is_numeric_dtype(
        found.table[params.sensitive].dtype
    )
    return Model(
        k=params.k,
        max_suppressed=float(math.floor(params.max_suppression * records + 1e-9)),
        category=(ctx.missing or "any") == "category",
        l_kind=div.kind if div else None,
        l=div.l if div else 2.0,
        c=div.c if div else 2.0,
        t=close.t if close else None,
        ordered=bool(ordered),
    )


def _bad_rows(
    codes: np.ndarray,
    counts: np.ndarray,
    sensitive: np.ndarray | None,
    ladders: list,
    levels: tuple[int, ...],
    model: Model,
) -> np.ndarray:
    """The rows of the key table whose records the chosen node suppresses."""
    gen = codes.astype(np.int64)
    for j, (lad, level) in enumerate(zip(ladders, levels, strict=True)):
        for step_up in lad.up[:level]:
            gen[:, j] = step_up[gen[:, j]]
    return violating(gen, counts, sensitive, model)


def _lookup(text: pd.Series, labels: np.ndarray) -> tuple:
    """Arrow arrays value text -> label, for ``apply_map``."""
    import pyarrow as pa

    return pa.array(text.astype(object).tolist(), pa.string()), pa.array(list(labels), pa.string())


def _apply(
    part: pd.DataFrame, maps: dict[str, tuple], masks: pd.DataFrame, keys: list[str]
) -> pd.DataFrame:
    """Generalize the mapped columns and suppress every key value of the records in ``masks``."""
    import pandas as pd

    out = part.copy(deep=False)  # copy on write: the columns replaced below are new arrays
    hit = None
    if len(masks) and len(part):
        matched = part[keys].merge(masks, on=keys, how="left", sort=False)
        hit = matched[_HIT].to_numpy(dtype=bool, na_value=False)
    for column, (text, labels, dtype) in maps.items():
        mapped = apply_map(part[column], text, labels)[0]
        if dtype != "string":  # lower band edges; the top level '*' is released as missing
            mapped = pd.to_numeric(mapped.mask(mapped == TOP), errors="coerce").astype(dtype)
        out[column] = mapped
    if hit is not None and hit.any():
        for column in keys:
            out[column] = out[column].mask(hit)
    return out


def _after(
    found: KeyCombinations,
    keys: list[str],
    labels: dict[str, tuple],
    chosen: dict[str, int],
    hit: np.ndarray,
    meta: pd.DataFrame,
    params: GeneralizeParams,
) -> KeyCombinations:
    """The key combinations of the step's output (what ``KeyTable(keys)`` would compute)."""
    import pandas as pd

    table = found.table[keys].copy()
    for j, column in enumerate(keys):
        level = chosen[column]
        if level == 0:
            continue
        codes = found.codes[:, j]
        values = labels[column][1][level - 1][np.maximum(codes, 0)].astype(object)
        values = np.where(codes >= 0, values, None)
        if params.hierarchies[column].numeric:
            values = np.where(values == TOP, None, values)
        table[column] = pd.Series(values, dtype=object)
    table.loc[hit, keys] = None
    table = table.astype(meta[keys].dtypes.to_dict())
    grouped = table.assign(n=found.counts).groupby(keys, dropna=False, sort=False)["n"].sum()
    table, codes = in_code_order(grouped.reset_index(), keys)
    counts = table["n"].to_numpy(dtype="float64")
    return KeyCombinations(table[keys], codes, counts, counts)
