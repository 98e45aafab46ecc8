"""The step contract, verified for every registered step on generated census records.

Every step of the registry is here (a new step is picked up by registering itself, not by a
list in this file). For each of the parameter sets it gives as ``examples``:

* it computes nothing itself (the engine computes its needs);
* it reads only what it declares: the output is the same when every column it does not
  declare it reads, and its needs (whole-file facts) do not read, is removed from its input;
* it changes only what it declares: a column it does not declare it writes holds, record by
  record, the values it held before; a column it adds is declared; a column it deletes is
  declared; only a step declaring that it removes records removes any;
* the output and facts are the same for 1 and 3 partitions;
* every published column whose values it changed is described for the public notice;
* the facts it lets the log show (``logged``) are counts or words, never a figure of the data;
* what it says its categories mean (``categories``) covers every value it wrote.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.base
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from pipeline.core.columns import INTERNAL_PREFIX, ORDER, PERSON, ROW, ColumnsSpec, unit_column
from pipeline.core.randomness import fingerprints, value_keys
from pipeline.demo.census import generate_census
from pipeline.engine import single
from pipeline.recipe.loader import StepCall
from pipeline.series.context import SeriesContext
from pipeline.series.state import SeriesKey
from pipeline.steps import STEPS, StepContext
from pipeline.steps.declaration import Declaration

COLUMNS = ColumnsSpec.model_validate(
    {
        "direct_identifiers": ["name", "address", "phone", "email"],
        "identification_codes": ["my_number", "drivers_licence"],
        "linking_ids": {"member_id": "drop", "household_id": "surrogate"},
        "key_variables": ["age", "sex", "municipality"],
        "sensitive": ["income"],
        "weight": "weight",
    }
)
TRACER = "contract_row"  # the record's position under a name no step knows
SERIES_KEY = SeriesKey.of(b"contract test series key, 32 b!")
CASES = [
    pytest.param(name, i, id=f"{name}[{i}]")
    for name, spec in sorted(STEPS.items())
    for i in range(max(1, len(spec.params.examples)))
]


class StepComputed(AssertionError):
    """A step triggered a computation itself."""


class _AnyKey(dict):
    """Secrets for every keyed_hash column of an example."""

    def __missing__(self, column: str) -> bytes:
        return b"contract test keyed hash key 32!"


@pytest.fixture(autouse=True)
def link_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key a keyed_hash example names (``key_env``)."""
    monkeypatch.setenv("ANON_LINK_KEY", "contract test keyed hash key")


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    """400 census records as the engine holds them when the steps run: text as read from a
    CSV, each record's position, the person's fingerprint and the household's unit number."""
    frame = generate_census(400, seed=11)
    frame = frame.drop(columns=[*COLUMNS.direct_identifiers, *COLUMNS.identification_codes])
    frame = frame.astype({c: "str" for c in ("age", "household_size", "income")})
    frame[ROW] = np.arange(len(frame), dtype=np.int64)
    frame[PERSON] = fingerprints(frame["member_id"], SERIES_KEY.fingerprint)
    units = value_keys(frame["household_id"].astype("string"), b"contract test unit key 32 bytes")
    frame[unit_column("household_id")] = pd.Series(units, dtype="uint64")
    return frame


@contextlib.contextmanager
def no_compute(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inside: any dask compute raises."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise StepComputed("a step called compute")

    with monkeypatch.context() as patched:
        patched.setattr(dask.base, "compute", refuse)
        patched.setattr(dask, "compute", refuse)
        patched.setattr(dd.DataFrame, "compute", refuse)
        patched.setattr(dd.Series, "compute", refuse)
        yield


def _call(name: str, i: int) -> StepCall:
    spec = STEPS[name]
    assert spec.params.examples, f"step {name} gives no examples (StepParams.examples)"
    params = single.load_params(name, spec.params.examples[i], Path("."))
    return StepCall(index=3, spec=spec, params=params, location=f"steps[3].{name}")


def _ctx(call: StepCall) -> StepContext:
    series = SeriesContext(SERIES_KEY, "member_id") if call.params.in_series else None
    return StepContext(
        seed=42,
        index=3,
        name=call.spec.name,
        columns=COLUMNS,
        secrets=_AnyKey(),
        release="contract",
        series=series,
    )


def _apply(
    call: StepCall,
    frame: pd.DataFrame,
    partitions: int,
    monkeypatch: pytest.MonkeyPatch,
    row: str = ROW,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The step's output (records by position) and facts; the step itself may not compute."""
    typed = single.typed(frame, call.params, COLUMNS, position=row == ROW)
    lazy = dd.from_pandas(typed, npartitions=partitions, sort=False)
    out, facts = single.run_one(lazy, call, _ctx(call), lambda: no_compute(monkeypatch))
    return out.compute().sort_values(row).reset_index(drop=True), facts


def _differs(before: pd.Series, after: pd.Series) -> np.ndarray:
    """Per record, whether the value changed (missing equals missing; 2 equals 2.0 and '2')."""
    a, b = before.astype(object).to_numpy(), after.astype(object).to_numpy()
    out = np.zeros(len(a), dtype=bool)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if pd.isna(x) or pd.isna(y):
            out[i] = pd.isna(x) != pd.isna(y)
        else:
            out[i] = str(x) != str(y) and _number(x) != _number(y)
    return out


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@pytest.mark.parametrize(("name", "i"), CASES)
def test_a_step_keeps_its_contract(
    name: str, i: int, records: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = _call(name, i)
    declared: Declaration = call.params.declare(COLUMNS)
    with dask.config.set(scheduler="sync"):  # the partitions matter here, not the threads
        out, facts = _apply(call, records, 3, monkeypatch)
        _declared_changes(name, call, declared, records, out, facts)
        _declared_reads(name, call, declared, records, out, facts, monkeypatch)
        one, one_facts = _apply(call, records, 1, monkeypatch)
    assert one_facts == facts, f"{name}: facts differ between 1 and 3 partitions"
    pd.testing.assert_frame_equal(one, out, obj=f"{name}: 1 and 3 partitions")
    _logged(name, call, facts)
    _categories(name, call, declared, out)


def _logged(name: str, call: StepCall, facts: dict[str, Any]) -> None:
    """The facts a step lets the log show are counts or words of the recipe, never figures."""
    shown = type(call.params).log_facts(facts)
    for key, value in shown.items():
        count = isinstance(value, int) and not isinstance(value, bool)
        word = isinstance(value, str) and value.replace("_", "").isalpha() and len(value) <= 20
        assert count or word, f"{name}: the log would show {key}, which is not a count"


def _categories(name: str, call: StepCall, declared: Declaration, out: pd.DataFrame) -> None:
    """What a step says its values mean covers a column it writes, every value it wrote."""
    for column, words in call.params.categories(Path(".")).items():
        assert column in declared.writes, f"{name}: describes categories of {column} unwritten"
        written = {str(v) for v in out[column].dropna().unique()}
        assert written <= set(words), f"{name}: {column} holds values it does not describe"


def _declared_changes(
    name: str,
    call: StepCall,
    declared: Declaration,
    records: pd.DataFrame,
    out: pd.DataFrame,
    facts: dict[str, Any],
) -> None:
    """Records, columns and values change only as declared; every change is described."""
    typed = single.typed(records, call.params, COLUMNS).set_index(ROW)
    before = typed.loc[out[ROW].to_numpy()].reset_index()
    # rows: only a step that declares it removes records removes any; none adds or repeats one
    assert out[ROW].is_unique and set(out[ROW]) <= set(records[ROW])
    if not declared.removes_rows:
        assert len(out) == len(records), f"{name} removed records without declaring it"
    # columns: added ones are declared written, deleted ones declared removed
    added = set(out.columns) - set(records.columns)
    assert added <= declared.writes, f"{name} adds undeclared columns {added - declared.writes}"
    gone = set(records.columns) - set(out.columns)
    assert gone <= declared.removes, f"{name} deletes undeclared columns {gone}"
    # values: a column it does not declare it writes is unchanged, record by record
    for column in sorted(set(records.columns) & set(out.columns) - declared.touched - {ORDER}):
        changed = _differs(before[column], out[column])
        assert not changed.any(), f"{name} changed {column}, which it does not declare it writes"
    # the public notice: every published column it changed is described, and what it did to
    # the records as a whole when some left or their order changed
    description = call.params.describe(facts, Path("."), COLUMNS)
    if len(out) < len(records) or declared.rows == "reordered":
        assert description.records is not None, f"{name} changed the records but does not say so"
    for column in sorted(set(records.columns) & set(out.columns)):
        if not column.startswith(INTERNAL_PREFIX) and _differs(before[column], out[column]).any():
            assert column in description.columns, f"{name} changed {column} but does not say so"


def _declared_reads(
    name: str,
    call: StepCall,
    declared: Declaration,
    records: pd.DataFrame,
    out: pd.DataFrame,
    facts: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same output without the columns it does not declare it reads (nor its needs)."""
    if declared.reads is None:
        return  # it declares that it may read any column
    needed = {c for r in call.params.needs(_ctx(call)).values() for c in r.columns}
    assert declared.numeric <= declared.reads | needed, f"{name}: numeric columns it never reads"
    kept = [c for c in records.columns if c in declared.reads | needed or c == ROW]
    hidden = ROW not in declared.reads | needed  # records followed by a column it cannot know
    frame = records[kept].rename(columns={ROW: TRACER}) if hidden else records[kept]
    alone, alone_facts = _apply(call, frame, 3, monkeypatch, TRACER if hidden else ROW)
    alone = alone.rename(columns={TRACER: ROW})
    assert alone_facts == facts, f"{name}: other facts without its undeclared columns"
    assert alone[ROW].tolist() == out[ROW].tolist()
    for column in alone.columns:
        pd.testing.assert_series_equal(alone[column], out[column], obj=f"{name}: {column}")


def test_every_step_gives_examples_and_wording() -> None:
    for name, spec in STEPS.items():
        assert spec.params.examples, f"{name}: no examples"
        for example in spec.params.examples:  # each example is valid
            params = single.load_params(name, example, Path("."))
            published = params.declare(COLUMNS).published()
            assert not published or spec.params.wording is not None, f"{name}: no wording"
