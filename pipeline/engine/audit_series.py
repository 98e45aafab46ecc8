"""``--gate-only`` on a release of a series: its merged view, measured again from its files.

The series state beside the data records, for every released person, the row of their record
and the merged values (what every release so far showed of them). Read with the data files, in
row order, it gives the merged view of the release again, so the auditor's gate checks what the
run's gate checked (``series.k``, and l / t when the recipe sets them: ``pipeline.gate.series``),
without the series key.
``series.state`` checks that the state fits the files: one record per row, and every value the
data shows is the merged value recorded for it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.core.columns import merged_column
from pipeline.engine.series_record import merged_recipe, merged_table
from pipeline.gate.checks import table_result
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.io.dataset import Dataset
from pipeline.recipe.models import Recipe
from pipeline.report.build import SnapshotStream, diversity_stream
from pipeline.risk.summary import RiskSummary
from pipeline.series.merge import as_text
from pipeline.series.state import STATE


def _merged_rows(out_dir: Path, m: int) -> tuple[pa.Table, int] | None:
    """The state's released rows in row order as merged-value columns (None: unreadable)."""
    try:
        table = pq.read_table(out_dir / STATE)
    except (OSError, pa.ArrowInvalid):
        return None
    rows = table.column("row")
    released = table.filter(pc.greater_equal(rows, 0))
    released = released.take(pc.sort_indices(released.column("row")))
    names = {f"known_{j}": merged_column(j) for j in range(m)}
    return released.select(list(names)).rename_columns(list(names.values())), released.num_rows


def series_audit(
    out_dir: Path, recipe: Recipe, data: Dataset
) -> tuple[CheckResult, RiskSummary | None]:
    """The ``series.state`` check of a published release, and its merged view's risk.

    The risk is None when the state does not fit the files (the view cannot be rebuilt).
    """
    keys = list(recipe.columns.key_variables)
    found = _merged_rows(out_dir, len(keys))
    merged = merged_recipe(recipe)
    present = set(data.columns)
    stream, diversity = SnapshotStream(merged, present), diversity_stream(merged, present)
    wrong = 0 if found is not None and found[1] == data.rows() else 1
    start = 0
    columns = list(dict.fromkeys([*stream.columns, *(diversity.columns if diversity else [])]))
    with stream:
        for chunk in data.chunks(columns):
            side = found[0].slice(start, chunk.num_rows) if found and not wrong else None
            start += chunk.num_rows
            if side is None or side.num_rows != chunk.num_rows:
                wrong += 1
                continue
            wrong += _disagreements(chunk, side, keys)
            table = merged_table(chunk, side, keys)
            stream.add(table.select(stream.columns))
            if diversity is not None:
                diversity.add(table.select(diversity.columns))
        summary = stream.finish().summary
    if diversity is not None:
        summary = summary.model_copy(update=diversity.finish())
    state = table_result(
        "output",
        "series.state",
        Reason.MANIFEST_INCONSISTENT,
        f"{STATE} holds one record per published row, and every value shown is the merged "
        "value it records",
        wrong,
        "0 disagreements",
        wrong == 0,
    )
    return state, (summary if not wrong else None)


def _disagreements(chunk: pa.Table, side: pa.Table, keys: list[str]) -> int:
    """Rows whose shown key value differs from the merged value recorded for them."""
    bad = np.zeros(chunk.num_rows, dtype=bool)
    for j, key in enumerate(keys):
        shown = as_text(chunk.column(key).to_pandas())
        recorded = side.column(merged_column(j)).to_pandas().astype("string")
        differs = (shown != recorded).fillna(True).to_numpy(dtype=bool)
        bad |= shown.notna().to_numpy() & differs
    return int(bad.sum())
