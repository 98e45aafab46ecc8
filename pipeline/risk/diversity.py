"""l-diversity and t-closeness of a whole file, fed table by table (the gate's risk targets).

The file's distinct (key combination, sensitive value) pairs are counted as tables arrive (Arrow
group-bys, merged when they grow), so memory follows the distinct pairs, not the records. At
the end, the records of classes that break the model are counted (classes over the key
variables, missing a category of its own; records whose key values are all missing, such as
the records a step suppressed, carry no key value to link on and are not counted).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.risk.combinations import CombinationCounts, N
from pipeline.risk.encode import encode_arrow
from pipeline.risk.privacy import LDiversity, Model, TCloseness, violating


class DiversityStream:
    """Records in classes breaking l-diversity / t-closeness (``add`` tables, then ``finish``)."""

    def __init__(
        self, keys: list[str], l_spec: LDiversity | None, t_spec: TCloseness | None
    ) -> None:
        self.keys, self.l_spec, self.t_spec = list(keys), l_spec, t_spec
        self.sensitive = (l_spec or t_spec).column  # type: ignore[union-attr]
        self.columns = [*self.keys, self.sensitive]
        self._counts = CombinationCounts(self.columns)

    def add(self, table: Any) -> None:
        """Count the pairs of one table."""
        self._counts.add(table)

    def finish(self) -> dict[str, int]:
        """Records in classes breaking each model (``l_violations``, ``t_violations``)."""
        if self._counts.empty:
            return {
                **({"l_violations": 0} if self.l_spec else {}),
                **({"t_violations": 0} if self.t_spec else {}),
            }
        table = self._counts.merged()
        codes, _ = encode_arrow(table, self.columns, labels=False)
        counts = table.column(N).to_numpy().astype(np.float64)
        keys, sens = codes[:, :-1].astype(np.int64), codes[:, -1].astype(np.int64)
        sens = _value_order(table.column(self.sensitive), sens)
        linked = (keys >= 0).any(axis=1)
        out = {}
        if self.l_spec is not None:
            model = Model(k=1, l_kind=self.l_spec.kind, l=self.l_spec.l, c=self.l_spec.c)
            out["l_violations"] = int(counts[violating(keys, counts, sens, model) & linked].sum())
        if self.t_spec is not None:
            ordered = pa.types.is_integer(table.schema.field(self.sensitive).type) or (
                pa.types.is_floating(table.schema.field(self.sensitive).type)
            )
            model = Model(k=1, t=self.t_spec.t, ordered=ordered)
            out["t_violations"] = int(counts[violating(keys, counts, sens, model) & linked].sum())
        return out


def _value_order(column: Any, codes: np.ndarray) -> np.ndarray:
    """Codes renumbered in the order of the values (for the ordered distance of numbers)."""
    values = column.to_numpy(zero_copy_only=False)
    present = codes >= 0
    out = np.full(codes.size, -1, dtype=np.int64)
    if present.any():
        import pandas as pd

        out[present] = pd.factorize(pd.Series(values[present]), sort=True)[0]
    return out
