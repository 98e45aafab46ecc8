"""The gate's check of microaggregation: every released group holds at least k records.

A microaggregated record shows its group's means, so the records of a group share one
combination of the variables' values. The check counts, over the whole output, the records of
each released combination (per stratum) and fails if any combination is shared by fewer than
k records (reason ``microaggregation_group_too_small``). Records whose variables are all
missing carry no released value and are not counted. Memory follows the distinct combinations
(about n / k), counted with Arrow group-bys merged as they grow.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from pipeline.core.columns import ColumnsSpec
from pipeline.core.requirements import GroupSize
from pipeline.gate.catalog import CheckKind, Evidence, RanStep, register
from pipeline.gate.checks import Stage, table_result
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.risk.combinations import CombinationCounts, N


def group_needs(
    steps: Sequence[RanStep], base_dir: Path, columns: ColumnsSpec
) -> list[tuple[str, GroupSize]]:
    """The group-size requirements of steps whose variables no later step rewrites.

    When a later step may change a stratum (local suppression sets key values missing), the
    groups are counted over the variables alone: a group of k stays k records whatever its
    released stratum shows.
    """
    out = []
    for pos, ran in enumerate(steps):
        after = [s.params.declare(columns) for s in steps[pos + 1 :]]
        later = {c for d in after for c in d.replaces}
        touched = {c for d in after for c in d.touched}
        for need in ran.params.requirements(ran.facts, base_dir):
            if isinstance(need, GroupSize) and not set(need.columns) & later:
                if set(need.strata) & touched:
                    need = GroupSize(need.columns, (), need.k)
                out.append((f"steps[{ran.index}].{ran.name}.groups", need))
    return out


class GroupStream:
    """Records in released groups smaller than k (``add`` tables, then ``result``)."""

    def __init__(self, id: str, need: GroupSize, stage: Stage = "output") -> None:  # noqa: A002
        self.id, self.need, self.stage = id, need, stage
        self.columns = [*need.strata, *need.columns]
        self._counts = CombinationCounts(self.columns)

    def add(self, table: Any) -> None:
        """Count the combinations of one table."""
        self._counts.add(table)

    def result(self) -> CheckResult:
        """The check: records of released combinations shared by fewer than k records."""
        small = 0
        if not self._counts.empty:
            table = self._counts.merged()
            empty = functools.reduce(
                pc.and_, [pc.is_null(table.column(c)) for c in self.need.columns]
            )
            valued = pc.invert(empty)
            below = pc.and_(valued, pc.less(table.column(N), self.need.k))
            small = int(pc.sum(pc.if_else(below, table.column(N), 0)).as_py() or 0)
        names = ", ".join(self.need.columns)
        within = f" within ({', '.join(self.need.strata)})" if self.need.strata else ""
        return table_result(
            self.stage,
            self.id,
            Reason.MICROAGGREGATION_GROUP_TOO_SMALL,
            f"every released combination of ({names}){within} is shared by at least "
            f"k = {self.need.k} records",
            small,
            "0 records in smaller groups",
            small == 0,
            self.need.columns[0],
        )


class GroupStreams:
    """Every group-size check of a pass, fed the same tables."""

    def __init__(self, needs: list[tuple[str, GroupSize]], stage: Stage) -> None:
        self._streams = [GroupStream(id_, need, stage) for id_, need in needs]
        self.columns = list(dict.fromkeys(c for s in self._streams for c in s.columns))

    def add(self, table: Any) -> None:
        """Count the combinations of one table."""
        for stream in self._streams:
            stream.add(table)

    def results(self, data: Any) -> list[CheckResult]:
        """One check per requirement."""
        return [stream.result() for stream in self._streams]


def _groups(ev: Evidence) -> GroupStreams | None:
    """The group checks whose columns are in the data (a missing one fails the column set)."""
    present = set(ev.schema.names)
    needs = group_needs(ev.steps, ev.base_dir, ev.recipe.columns)
    needs = [(i, n) for i, n in needs if {*n.columns, *n.strata} <= present]
    return GroupStreams(needs, ev.stage) if needs else None


register(
    CheckKind(
        name="microaggregation_groups",
        summary="every released combination of microaggregated values is shared by at least "
        "k records",
        reasons=(Reason.MICROAGGREGATION_GROUP_TOO_SMALL,),
        reads=("steps", "base_dir", "schema"),
        stream=_groups,
    )
)
