"""Adding a step: its own module and its tests, nothing else (the README's Development section).

A step registered here, the way a new module under ``pipeline/steps/`` registers itself, is
run by a recipe, planned by the engine, checked by the gate and described in the notice from
its declaration alone. Without a wording for the public it is refused before anything runs, and
the notice refuses it too: a column it changed is never published "as collected".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dask.dataframe as dd
import pytest

from pipeline.core.columns import ColumnsSpec
from pipeline.gate.catalog import RanStep
from pipeline.manifest import Manifest
from pipeline.recipe.models import Recipe
from pipeline.report.notice import notice_text
from pipeline.steps import STEPS
from pipeline.steps.registry import (
    Declaration,
    Effect,
    StepContext,
    StepParams,
    UndescribedStep,
    Wording,
    step,
)
from tests.conftest import demo_recipe, run_entry


class CapitalsParams(StepParams):
    """Parameters of ``capitals``."""

    column_fields = ("column",)
    examples = ({"column": "occupation"},)

    column: str

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the column and replaces its values."""
        one = {self.column}
        return Declaration(reads=one, writes=one, replaces=one)


class DescribedCapitalsParams(CapitalsParams):
    """The same, with its wording for the public."""

    wording = Wording("大文字への変換", "written in capitals")


def capitals(df: dd.DataFrame, params: CapitalsParams, ctx: StepContext) -> Effect:
    """Write a text column in capitals."""
    return Effect(df.assign(**{params.column: df[params.column].str.upper()}))


@pytest.fixture
def registered() -> Iterator[callable]:
    """Register steps for one test, as a step module does on import; removed afterwards."""
    names: list[str] = []

    def register(name: str, params: type[StepParams]) -> None:
        step(name, params=params)(capitals)
        names.append(name)

    yield register
    for name in names:
        del STEPS[name]


def test_a_new_step_runs_and_is_described_from_its_own_module(
    workdir: Path, registered, capfd
) -> None:
    registered("capitals", DescribedCapitalsParams)
    recipe = demo_recipe(workdir, "  - capitals: {column: occupation}\n")
    code, output = run_entry(["run", str(recipe), "-q"], capfd)
    assert code == 0, output
    notice = (workdir / "out" / "run" / "public_notice.md").read_text(encoding="utf-8")
    row = next(line for line in notice.splitlines() if line.startswith("| occupation "))
    assert "大文字への変換" in row and "written in capitals" in row
    assert "as collected" not in row


def test_a_step_that_cannot_describe_itself_is_refused_before_anything_runs(
    workdir: Path, registered, capfd
) -> None:
    registered("capitals", CapitalsParams)
    recipe = demo_recipe(workdir, "  - capitals: {column: occupation}\n")
    code, output = run_entry(["run", str(recipe), "-q"], capfd)
    assert code == 2, output
    assert "steps[0].capitals" in output and "cannot describe how for the public notice" in output
    assert "(occupation)" in output
    assert not (workdir / "out").exists()


def test_the_notice_refuses_a_step_that_changed_a_column_without_words() -> None:
    params = CapitalsParams(column="occupation")
    recipe = Recipe.model_validate(
        {
            "version": 1,
            "name": "t",
            "seed": 1,
            "input": {"path": "x.csv"},
            "output": {"dir": "out"},
            "columns": {"key_variables": ["occupation"]},
            "steps": [],
        }
    )
    manifest = Manifest.model_construct(
        columns_out=["occupation"],
        columns_removed=[],
        rows_out=1,
        generated_at="2026-12-06T00:00:00Z",
    )
    ran = [RanStep(0, "capitals", params, {}, 1, 1)]
    with pytest.raises(UndescribedStep, match="'capitals' changes 1 published column"):
        notice_text(manifest, recipe, ran, Path("."))
