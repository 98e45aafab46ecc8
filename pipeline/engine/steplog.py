"""How a step call is named in the run's log and recorded in the manifest."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipeline.gate.catalog import RanStep
from pipeline.manifest import StepRecord
from pipeline.recipe.loader import StepCall
from pipeline.steps.registry import Effect


def step_label(call: StepCall, i: int, total: int) -> str:
    """``[3/9] recode municipality``: position, step, the columns it names."""
    return f"[{i + 1}/{total}] {call.spec.name} {_target(call)}".rstrip()


def _target(call: StepCall) -> str:
    used = call.params.columns_used()
    if call.spec.name == "drop_identifiers":
        return f"({len(call.params.columns)} columns)"
    if call.spec.name == "linking_ids":
        return " ".join(call.params.ids)
    return " ".join(used.values())


def log_facts(call: StepCall, facts: dict[str, Any]) -> dict[str, Any]:
    """What the log shows of a step's facts: those it declares ``logged``, and its warnings.

    A figure derived from the data (a cap, a level, a matrix) is the manifest's alone: the log
    goes to cron mail and CI logs.
    """
    shown = type(call.params).log_facts(facts)
    if facts.get("warnings"):
        shown["warnings"] = facts["warnings"]
    return shown


def step_record(call: StepCall, index: int, effect: Effect) -> StepRecord:
    """The manifest's record of a step (row counts filled in by the engine later)."""
    return StepRecord(
        index=index,
        name=call.spec.name,
        automatic=call.spec.automatic,
        params=json.loads(call.params.model_dump_json()),
        rows_in=0,
        rows_out=0,
        facts=dict(effect.facts),
    )


def ran_steps(
    calls: list[StepCall], records: list[StepRecord], last: Sequence[StepCall] = ()
) -> list[RanStep]:
    """Pair the recipe's step calls, then ``last`` (a series' step), with their records."""
    own = [r for r in records if not r.automatic]
    names = {c.spec.name for c in last}
    tail = [r for r in records if r.automatic and r.name in names]
    return [
        RanStep(c.index, c.spec.name, c.params, r.facts, r.rows_in, r.rows_out)
        for c, r in [*zip(calls, own, strict=False), *zip(last, tail, strict=False)]
    ]
