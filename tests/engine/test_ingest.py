"""The ingest pass: numbers parsed over the whole file; non-finite numbers are an input error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from pipeline.cli import app
from tests.conftest import demo_recipe

STEPS = "  - top_code: {column: income, quantile: 0.99}\n"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def plant(workdir: Path, values: dict[int, str], column: str = "income") -> Path:
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    for row, value in values.items():
        frame.loc[row, column] = value
    path = workdir / "data" / "planted.csv"
    frame.to_csv(path, index=False)
    return path


def test_inf_text_stops_the_run_with_records_never_values(workdir: Path) -> None:
    plant(workdir, {3: "inf", 8: "-inf", 20: "Infinity", 30: "nan"})
    recipe = demo_recipe(workdir, STEPS, input_path="data/planted.csv")
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 3, result.output
    assert "column 'income': 3 value(s) are not finite (inf or -inf) (data records 4, 9, 21)" in (
        result.output
    )
    assert "column 'income': 1 value(s) are not numbers (data records 31)" in result.output
    assert not (workdir / "out" / "run").exists()


def test_inf_in_a_whole_number_column_is_never_published_as_a_huge_integer(
    workdir: Path,
) -> None:
    """Before: inf became -9223372036854775808 in an integer column without a contract."""
    plant(workdir, {5: "inf"}, column="household_size")
    recipe = demo_recipe(
        workdir, "  - top_code: {column: household_size, above: 6}\n",
        input_path="data/planted.csv",
    )  # fmt: skip
    assert invoke("run", str(recipe), "-q").exit_code == 3
    missing = demo_recipe(
        workdir, "  - top_code: {column: household_size, above: 6}\n",
        input_path="data/planted.csv", input_options=", non_finite: missing",
    )  # fmt: skip
    result = invoke("run", str(missing), "-q")
    assert result.exit_code == 0, result.output
    published = pd.read_parquet(workdir / "out" / "run" / "data")
    sizes = published["household_size"]
    assert sizes.isna().sum() == 1 and sizes.min() >= 1 and sizes.max() <= 6


def test_parquet_float_inf_is_an_input_error(workdir: Path) -> None:
    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    frame["income"] = frame["income"].astype("float64")
    frame.loc[7, "income"] = np.inf
    folder = workdir / "data" / "pq"
    folder.mkdir()
    frame.to_parquet(folder / "part.parquet")
    recipe = demo_recipe(workdir, STEPS, input_path="data/pq")
    result = invoke("run", str(recipe), "-q")
    assert result.exit_code == 3 and "not finite" in result.output and "records 8" in result.output
