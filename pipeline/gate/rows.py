"""One validator for a stage's row checks: GX for the contract's, Arrow for the steps'.

Each check is counted by its ``engine`` (:class:`pipeline.gate.checks.RowCheck`): the
contract's expectations by Great Expectations (:mod:`pipeline.gate.gx_engine`, imported only
when there are some), the steps' caps and levels by Arrow compute
(:mod:`pipeline.gate.arrow_rows`). Both take the same tables of the pass; the results come back
in the checks' order.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from pipeline.gate.arrow_rows import ArrowRowValidator
from pipeline.gate.checks import RowCheck, Stage
from pipeline.gate.gx_engine import RowValidator
from pipeline.gate.model import CheckResult


class RowValidators:
    """The row checks of one pass, each counted by its engine (``add``, then ``finish``).

    Attributes:
        columns: The columns the checks read.
    """

    def __init__(self, checks: list[RowCheck], stage: Stage) -> None:
        self.checks = list(checks)
        engines: dict[str, type] = {"great_expectations": RowValidator, "arrow": ArrowRowValidator}
        self._parts: list[tuple[list[int], Any]] = []
        for engine, validator in engines.items():
            mine = [i for i, c in enumerate(self.checks) if c.engine == engine]
            if mine:
                self._parts.append((mine, validator([self.checks[i] for i in mine], stage)))
        self.columns = list(dict.fromkeys(c for _, v in self._parts for c in v.columns))

    def add(self, table: pa.Table) -> None:
        """Give one table to each engine."""
        for _, validator in self._parts:
            validator.add(table)

    def finish(self) -> tuple[list[CheckResult], int, int]:
        """The results (one per check, in order), the number of tables and of rows."""
        results: list[CheckResult | None] = [None] * len(self.checks)
        tables = rows = 0
        for positions, validator in self._parts:
            found, tables, rows = validator.finish()
            for i, result in zip(positions, found, strict=True):
                results[i] = result
        return [r for r in results if r is not None], tables, rows
