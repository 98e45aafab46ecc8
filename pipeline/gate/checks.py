"""What the gate checks, as plain data: row checks (GX expectations) and results.

A :class:`RowCheck` names Great Expectations expectation classes by their class name and keyword
arguments; the names come from this package's code, never from a recipe or a contract, so
nothing a user writes can import or run code. A contract's checks are run by GX; the steps'
caps and levels by Arrow compute to the same counts (``engine``: see
:mod:`pipeline.gate.arrow_rows`). Row checks run on every batch of the data and
their unexpected counts are added up, so a check means the same whatever the partitioning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline.core.numbers import number
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason

Stage = Literal["input", "output"]
Source = Literal["contract", "recipe"]
RowEngine = Literal["great_expectations", "arrow"]


def _none(observed: float, rows: int) -> bool:
    return observed == 0


@dataclass(frozen=True)
class RowCheck:
    """A check over every row, evaluated per batch by Great Expectations.

    Attributes:
        id: Stable identifier, e.g. ``steps[3].top_code.age``.
        reason: Reason code reported when the check fails.
        column: The column checked.
        description: What is required, in words (never a data value of the input).
        expectations: ``(expectation class name, kwargs)`` pairs whose unexpected counts add up
            to the observed figure.
        source: ``recipe`` (derived by the gate) or ``contract``.
        threshold: What is required of the observed count, in words.
        rule: ``(observed, rows) -> passed``; by default the observed count must be 0.
        engine: What counts it: Great Expectations, or Arrow compute (bounds and value sets).

    """

    id: str
    reason: Reason
    column: str | None
    description: str
    expectations: tuple[tuple[str, dict[str, Any]], ...]
    source: Source = "recipe"
    threshold: str = "0 rows"
    rule: Callable[[float, int], bool] = field(default=_none, compare=False)
    engine: RowEngine = "great_expectations"

    def result(
        self, stage: Stage, observed: float, rows: int, engine: RowEngine | None = None
    ) -> CheckResult:
        """The check's result for an observed count over ``rows`` rows (``engine``: who counted)."""
        return CheckResult(
            id=self.id,
            stage=stage,
            source=self.source,
            reason=self.reason,
            column=self.column,
            description=self.description,
            engine=engine or self.engine,
            expectation=", ".join(name for name, _ in self.expectations),
            observed=observed,
            threshold=self.threshold,
            passed=bool(self.rule(observed, rows)),
        )

    def could_not_run(self, stage: Stage, engine: RowEngine | None = None) -> CheckResult:
        """The failed result of a check that could not run on its column (fails closed)."""
        return self.result(stage, 0, 0, engine).model_copy(
            update={
                "passed": False,
                "reason": Reason.CHECK_ERROR,
                "observed": None,
                "description": f"{self.description} (the check could not run on this column's "
                "type)",
            }
        )


def table_result(
    stage: Stage,
    id: str,  # noqa: A002 - the check's id
    reason: Reason,
    description: str,
    observed: float | int | None,
    threshold: str,
    passed: bool,
    column: str | None = None,
    source: Source = "recipe",
) -> CheckResult:
    """A check computed over the whole table (class sizes, row counts, column sets)."""
    return CheckResult(
        id=id,
        stage=stage,
        source=source,
        reason=reason,
        column=column,
        description=description,
        engine="table",
        observed=observed,
        threshold=threshold,
        passed=bool(passed),
    )


def cap_check(column: str, cap: float, upper: bool) -> RowCheck:
    """Every value of ``column`` is at most (``upper``) or at least ``cap``."""
    bound = {"max_value": cap} if upper else {"min_value": cap}
    word = "above" if upper else "below"
    return RowCheck(
        id=column,
        reason=Reason.CAP_EXCEEDED if upper else Reason.FLOOR_UNDERCUT,
        column=column,
        description=f"no value of {column} {word} {number(cap)}",
        expectations=(("ExpectColumnValuesToBeBetween", {"column": column, **bound}),),
        threshold=f"0 rows {word} {number(cap)}",
        engine="arrow",
    )


def value_set_check(column: str, values: list[Any], what: str) -> RowCheck:
    """Every value of ``column`` is one of ``values`` (missing values pass)."""
    return RowCheck(
        id=column,
        reason=Reason.RECODE_VALUE_OUTSIDE_LEVEL,
        column=column,
        description=f"{column} holds only values of {what} ({len(values)} allowed)",
        expectations=(("ExpectColumnValuesToBeInSet", {"column": column, "value_set": values}),),
        threshold="0 rows outside the level",
        engine="arrow",
    )
