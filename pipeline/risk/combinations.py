"""Counts of a whole file's distinct value combinations, fed table by table (Arrow group-bys).

Each table's combinations are counted and the counts merged whenever they grow past a million
rows, so memory follows the distinct combinations, not the records. Used by the gate's
l-diversity / t-closeness counts and its microaggregation group check.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

N = "__anon_n"  # the count column of the merged table
_MERGE_ROWS = 1 << 20


class CombinationCounts:
    """Records per distinct combination of ``columns`` (``add`` tables, then ``merged``)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = list(columns)
        self._parts: list[pa.Table] = []
        self._rows = 0

    @property
    def empty(self) -> bool:
        """True when no table was added."""
        return not self._parts

    def add(self, table: Any) -> None:
        """Count the combinations of one table (or record batch)."""
        table = pa.table({c: table.column(c) for c in self.columns})
        counted = table.group_by(self.columns, use_threads=False).aggregate([([], "count_all")])
        self._parts.append(counted.rename_columns([*self.columns, N]))
        self._rows += counted.num_rows
        if self._rows > _MERGE_ROWS and len(self._parts) > 1:
            self._parts = [self.merged()]
            self._rows = self._parts[0].num_rows

    def merged(self) -> pa.Table:
        """Every distinct combination with its count (column ``N``)."""
        table = pa.concat_tables(self._parts, promote_options="permissive")
        summed = table.group_by(self.columns, use_threads=False).aggregate([(N, "sum")])
        return summed.rename_columns([*self.columns, N])
