"""What a release of a series leaves: the next state, and the merged view of its files.

The ``series`` step leaves beside each record (never in the data) its person's fingerprint, the
hidden bits and the merged values. The writer hands them over, file by file in the order of the
published records (:class:`SeriesRecorder`), so that

* the merged view of the very files being published is measured like any file (the risk
  snapshot over the merged values, a missing value matching any value, with l and t), for the
  gate's series checks and the report;
* the next state holds every released person at their row, and every person of the earlier
  releases who is not in this one, unchanged.

Memory holds the released persons' fingerprints and merged values (a few bytes each) and the
risk stream's distinct combinations, never a record.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from pandas.api.types import union_categoricals

from pipeline.core.columns import HIDDEN, PERSON, merged_column
from pipeline.core.errors import InputDataError, Problem
from pipeline.recipe.models import Recipe
from pipeline.report.build import SnapshotStream, diversity_stream
from pipeline.report.model import Snapshot
from pipeline.series.state import ReleaseRecord, SeriesHeader, SeriesState, categorical


def merged_recipe(recipe: Recipe) -> Recipe:
    """The recipe whose risk is measured on the merged view (a missing value matches any)."""
    risk = recipe.risk.model_copy(update={"missing": "any"}) if recipe.risk else None
    return recipe.model_copy(update={"risk": risk})


def merged_table(published: pa.Table, merged: pa.Table, keys: list[str]) -> pa.Table:
    """``published`` with each key column replaced by its merged values (text)."""
    out = published
    for j, key in enumerate(keys):
        at = out.schema.get_field_index(key)
        out = out.set_column(at, key, merged.column(merged_column(j)))
    return out


class SeriesRecorder:
    """Consumer of the written files with their side columns (see the module)."""

    def __init__(self, recipe: Recipe, present: set[str], workdir: Path | None) -> None:
        self.recipe = merged_recipe(recipe)
        self.keys = list(recipe.columns.key_variables)
        self.stream = SnapshotStream(self.recipe, present, workdir)
        self.diversity = diversity_stream(self.recipe, present)
        self.row = 0
        self.parts: list[pa.Table] = []

    def side_columns(self) -> list[str]:
        """The side columns it needs."""
        return [PERSON, HIDDEN, *map(merged_column, range(len(self.keys)))]

    def add(self, published: pa.Table, side: pa.Table) -> None:
        """Take one written file's records and their side columns (in file order)."""
        table = merged_table(published, side, self.keys)
        self.stream.add(table.select(self.stream.columns))
        if self.diversity is not None:
            self.diversity.add(table.select(self.diversity.columns))
        rows = pa.array(np.arange(self.row, self.row + published.num_rows, dtype=np.int64))
        self.parts.append(side.append_column("row", rows))
        self.row += published.num_rows

    def snapshot(self) -> Snapshot:
        """The merged view's risk (with l / t when the recipe asks for them)."""
        found = self.stream.finish()
        self.stream.__exit__()
        if self.diversity is not None:
            found.summary = found.summary.model_copy(update=self.diversity.finish())
        return found

    def state(self, before: SeriesState, release: ReleaseRecord, levels: dict) -> SeriesState:
        """The next state: this release's persons at their rows, the others carried over."""
        names = [PERSON, HIDDEN, "row", *map(merged_column, range(len(self.keys)))]
        frame = (pa.concat_tables(self.parts) if self.parts else _empty(names)).to_pandas()
        frame = frame.sort_values(PERSON, kind="stable")
        fps = frame[PERSON].to_numpy(dtype=np.uint64)
        if len(fps) > 1 and (fps[1:] == fps[:-1]).any():
            twice = int((fps[1:] == fps[:-1]).sum())
            message = (
                f"{twice} person id(s) of series.person {before.header.person!r} "
                "appear in more than one record: a series follows one record per person"
            )
            raise InputDataError([Problem(message, code="person_twice")])
        index, found = before.lookup(fps)
        stay = np.ones(len(before.fps), dtype=bool)
        stay[index[found]] = False
        fps_all = np.concatenate([fps, before.fps[stay]])
        order = np.argsort(fps_all, kind="stable")
        known = []
        for j in range(len(self.keys)):
            values = categorical(frame[merged_column(j)].array)
            both = union_categoricals([values, before.known[j][stay]])
            known.append(categorical(both[order]))
        hidden = np.concatenate([frame[HIDDEN].to_numpy(np.uint32), before.hidden[stay]])
        rows = np.concatenate(
            [frame["row"].to_numpy(np.int64), np.full(int(stay.sum()), -1, np.int64)]
        )
        header = before.header.model_copy(
            update={
                "releases": [*before.header.releases, release],
                "levels": {**before.header.levels, **levels},
            }
        )
        return SeriesState(header, fps_all[order], rows[order], hidden[order], known)


def _empty(names: list[str]) -> pa.Table:
    types = {PERSON: pa.uint64(), HIDDEN: pa.int64(), "row": pa.int64()}
    return pa.table({n: pa.array([], types.get(n, pa.string())) for n in names})


def first_header(recipe: Recipe, run_id: str, generated_at: str) -> SeriesHeader:
    """The header of a series before its first release."""
    assert recipe.series is not None
    return SeriesHeader(
        run_id=run_id,
        generated_at=generated_at,
        recipe_name=recipe.name,
        person=recipe.series.person,
        key_variables=list(recipe.columns.key_variables),
        releases=[],
        persons=0,
        state_sha256="",
        key_check="",
    )
