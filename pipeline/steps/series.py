"""A release series' own steps, run automatically when the recipe declares ``series:``.

``series_person`` runs first: it fingerprints each record's person (keyed, under the series key).
``series`` runs last: it keeps hidden what an earlier release did not show, then makes the
attacker's merged view of every release k-anonymous (see ``pipeline.series.merge``) and leaves,
beside the data, what the next state records.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from pipeline.core.columns import HIDDEN, MERGED_PREFIX, PERSON, ColumnsSpec, merged_column
from pipeline.core.errors import Problem
from pipeline.core.randomness import Secret, fingerprints
from pipeline.reductions import Reduction
from pipeline.risk import K_MAX
from pipeline.series.merge import (
    COUNT,
    HIDE,
    NEW_HIDE,
    SUPPRESS,
    WITHHOLD,
    Protection,
    SeriesTable,
    after,
    code,
    group_columns,
    hidden_bits,
    protect,
    series_part,
)
from pipeline.steps.registry import (
    SUPPRESSED,
    Check,
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


class SeriesPersonParams(StepParams):
    """The person column (read, fingerprinted, then deleted)."""

    logged = ("person_ids_missing",)

    in_series = True
    examples = ({"person": "member_id"},)

    person: str

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the person column; adds the engine's fingerprint column."""
        return Declaration(reads={self.person}, writes={PERSON})


@step("series_person", params=SeriesPersonParams, automatic=True)
def series_person(df: dd.DataFrame, params: SeriesPersonParams, ctx: StepContext) -> Effect:
    """Fingerprint each record's person for the release series (``series.person``).

    A keyed 64-bit SipHash of the person id (as text) under a key derived from the series key;
    the id itself is deleted with the other identifiers right after and is never kept. Every
    record needs a person id (a record without one cannot be followed across releases: exit 3).
    """
    key = Secret(ctx.series.key.fingerprint)
    fps = df[params.person].map_partitions(_fingerprints, key, meta=(PERSON, "uint64"))
    missing = df[params.person].isna().sum()

    def problem(n: int) -> Problem | None:
        if not n:
            return None
        return Problem(
            f"the person column {params.person!r} (series.person) is missing in {n} "
            "record(s): every record of a series needs its person id",
            code="person_missing",
        )

    facts = {"person": params.person}
    return Effect(
        df.assign(**{PERSON: fps}), facts, checks=(Check(missing, "person_ids_missing", problem),)
    )


def _fingerprints(values: pd.Series, key: Secret) -> pd.Series:
    import pandas as pd

    return pd.Series(fingerprints(values, key.value), index=values.index, dtype="uint64")


class SeriesParams(StepParams):
    """The series' k, key variables and importance, and whether records may be withheld."""

    logged = (
        "releases_before",
        "persons_seen",
        "records_withheld",
        "records_below_k",
        "values_kept_hidden",
    )

    wording = SUPPRESSED
    record_wording = Wording("一部のレコードの提供の見合わせ", "some records withheld")
    in_series = True
    examples = (
        {"k": 3, "keys": ["age", "sex", "municipality"]},
        {"k": 2, "keys": ["sex", "occupation"], "withhold": False, "importance": ["occupation"]},
    )

    k: int = Field(ge=2, le=K_MAX)
    keys: list[str]
    withhold: bool = True
    importance: list[str] | None = None

    def needs(self, ctx: StepContext) -> dict[str, Reduction]:
        """The merged view's distinct combinations."""
        return {"merged": SeriesTable(tuple(self.keys), PERSON, ctx.series.state)}

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the keys and fingerprints; sets key values missing, may withhold records.

        It replaces no value, and adds the columns the next state records.
        """
        writes = {*self.keys, HIDDEN, *map(merged_column, range(len(self.keys)))}
        return Declaration(reads={*self.keys, PERSON}, writes=writes, rows="deleted")

    def changed(self, facts: dict[str, Any], columns: ColumnsSpec) -> set[str]:
        """The key variables with a value suppressed; all of them when values were kept hidden."""
        if facts.get("values_kept_hidden"):
            return set(self.keys)
        return {c for c, n in (facts.get("values_suppressed") or {}).items() if n}

    def describe(self, facts: dict[str, Any], base_dir: Path, columns: ColumnsSpec) -> Description:
        """Values deleted; records withheld when there were any."""
        withheld = facts.get("records_withheld")
        return Description(
            {c: SUPPRESSED for c in self.changed(facts, columns)},
            self.record_wording if withheld else None,
        )


@step("series", params=SeriesParams, automatic=True)
def series(df: dd.DataFrame, params: SeriesParams, ctx: StepContext) -> Effect:
    """Keep a release series k-anonymous as a whole (the attacker holds every release).

    A value that an earlier release did not show (a step hid it, or the input lacked it) stays
    hidden, so no release ever tells anything about an earlier one. The merged view - per
    record the values this release shows, else the last ones an earlier release showed of the
    person - must keep k (a missing value matches any value): values no release showed yet are
    suppressed where that suffices, least important first (``importance`` of the recipe's
    ``local_suppression``); records whose merged view still cannot reach k are withheld from
    this release (``series.withhold``), or the gate blocks. Counts go to the manifest and the
    risk report; what each person's record showed goes to the next series state.
    """
    import pandas as pd

    m = len(params.keys)
    table = ctx.values["merged"]
    done = protect(table, params.keys, params.k, params.importance, params.withhold)
    state = ctx.series.state
    counts = table[COUNT].to_numpy(dtype=np.int64)
    seen = (table[[code(j) for j in range(m)]].to_numpy() >= 0).any(axis=1)
    meta = df._meta.assign(
        **{HIDDEN: pd.Series(dtype="int64")},
        **{
            merged_column(j): pd.Series(pd.Categorical([], categories=done.categories[j]))
            for j in range(m)
        },
    )  # the order _protect gives: the frame's columns, the hidden bits, the merged values
    out = df.map_partitions(_protect, params.keys, state, done, meta=meta)
    kept = (
        df[[*params.keys, PERSON]]
        .map_partitions(_kept_hidden, params.keys, state, meta=("n", "int64"))
        .sum()
    )
    facts = {
        "releases_before": ctx.series.releases,
        "persons_seen": int(counts[seen].sum()),
        "values_suppressed": {
            key: int(n) for key, n in zip(params.keys, done.suppressed, strict=True)
        },
        "records_withheld": done.withheld,
        "records_below_k": done.below_k,
    }
    return Effect(out, facts, metrics={"values_kept_hidden": kept})


def _kept_hidden(part: pd.DataFrame, keys: list[str], state: object) -> pd.Series:
    """Per record, the values it holds that an earlier release hid (they stay hidden)."""
    import pandas as pd

    fps = part[PERSON].to_numpy(dtype=np.uint64)
    hidden = hidden_bits(fps, state)[2].astype(np.int64)  # type: ignore[arg-type]
    count = np.zeros(len(part), dtype=np.int64)
    for j, key in enumerate(keys):
        count += ((hidden >> j) & 1) * part[key].notna().to_numpy(dtype=np.int64)
    return pd.Series(count, index=part.index)


def _protect(part: pd.DataFrame, keys: list[str], state: object, done: Protection) -> pd.DataFrame:
    """Hide, suppress and withhold one partition's records; add what the state records."""
    import pandas as pd

    m = len(keys)
    names = group_columns(keys)
    mine = series_part(part, keys, PERSON, state).reset_index(drop=True)  # type: ignore[arg-type]
    matched = mine[names].merge(done.table, on=names, how="left", sort=False)
    bits = matched[SUPPRESS].to_numpy(dtype=np.int64) | mine[HIDE].to_numpy(dtype=np.int64)
    keep = ~matched[WITHHOLD].to_numpy(dtype=bool)
    out = part.reset_index(drop=True)
    for j, key in enumerate(keys):
        out[key] = out[key].mask((bits >> j) & 1 == 1)
    out[HIDDEN] = matched[NEW_HIDE].to_numpy(dtype=np.int64)
    for j in range(m):
        codes = matched[after(j)].to_numpy(dtype=np.int32)
        out[merged_column(j)] = pd.Categorical.from_codes(codes, categories=done.categories[j])
    order = [c for c in out.columns if not c.startswith(MERGED_PREFIX)]
    out = out[[*order, *map(merged_column, range(m))]][keep]
    out.index = part.index[keep]
    return out
