"""recode: jp_region ladder, ARX files, numeric bands, category maps, unknown values."""

from __future__ import annotations

from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
import pytest
from pydantic import ValidationError

from pipeline.core.columns import ROW
from pipeline.core.errors import EXIT_INPUT, InputDataError
from pipeline.engine.apply import PendingChecks
from pipeline.recipe.models import ColumnsSpec
from pipeline.steps.recode import RecodeParams, recode
from pipeline.steps.registry import Effect, StepContext

AGE_BANDS = [0, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90]


@pytest.fixture(autouse=True)
def _sync_scheduler():
    with dask.config.set(scheduler="sync"):
        yield


def make_ctx(base_dir: Path = Path("."), **kwargs) -> StepContext:
    return StepContext(
        seed=42,
        index=3,
        name="recode",
        columns=ColumnsSpec(),
        base_dir=base_dir,
        location="steps[0].recode",
        **kwargs,
    )


def run(
    values: list, params: dict, dtype: str = "string", base_dir: Path = Path("."), npart: int = 2
) -> tuple[pd.Series, Effect]:
    pdf = pd.DataFrame({"c": pd.array(values, dtype=dtype)})
    pdf[ROW] = pd.array(range(len(pdf)), dtype="int64")
    ddf = dd.from_pandas(pdf, npartitions=npart, sort=False)
    model = RecodeParams.model_validate({"column": "c", **params}, context={"base_dir": base_dir})
    done = recode(ddf, model, make_ctx(base_dir))
    checks = PendingChecks([(c, done.facts) for c in done.checks])
    (out,) = checks.settle(done.frame)  # and its check
    out = out.sort_values(ROW)
    return out["c"].reset_index(drop=True), done


# --------------------------------------------------------------------------- jp_region


@pytest.mark.parametrize(
    ("level", "values", "expected"),
    [
        ("municipality", ["14101", "13101", "14100"], ["14100", "13101", "14100"]),
        ("prefecture", ["01101", "13101", "47201"], ["01", "13", "47"]),
        ("region", ["13101", "47201", "01101"], ["Kanto", "Kyushu", "Hokkaido"]),
        ("region9", ["47201", "13101"], ["Okinawa", "Kanto"]),
        ("national", ["13101", "47201"], ["Japan", "Japan"]),
        ("prefecture", ["131016", "13101"], ["13", "13"]),
        ("code", ["131016", "14101"], ["13101", "14101"]),
    ],
)
def test_jp_region_levels(level: str, values: list[str], expected: list[str]) -> None:
    out, done = run(values, {"hierarchy": "jp_region", "level": level})
    assert out.tolist() == expected
    assert str(out.dtype) == "string"
    assert done.facts["unknown_values"] == 0


def test_jp_region_invalid_check_digit_is_unknown() -> None:
    # 131016 is valid (check digit 6); 131017 is not.
    with pytest.raises(InputDataError):
        run(["131017"], {"hierarchy": "jp_region", "level": "prefecture"})


def test_jp_region_keeps_missing() -> None:
    out, _ = run(["13101", None, "01101"], {"hierarchy": "jp_region", "level": "prefecture"})
    assert out[0] == "13" and out[1] is pd.NA and out[2] == "01"


def test_jp_region_unknown_level_is_validation_error() -> None:
    with pytest.raises(ValidationError, match="unknown level"):
        RecodeParams(column="c", hierarchy="jp_region", level="county")


# --------------------------------------------------------------------------- ARX files


@pytest.mark.parametrize("sep", [";", ","])
@pytest.mark.parametrize("explicit", [False, True])
def test_arx_file_hierarchy(tmp_path: Path, sep: str, explicit: bool) -> None:
    rows = [("B11", "B", "*"), ("B12", "B", "*"), ("C25", "C", "*")]
    (tmp_path / "hier").mkdir()
    (tmp_path / "hier" / "occ.csv").write_text(
        "".join(sep.join(r) + "\n" for r in rows), encoding="utf-8"
    )
    params = {"hierarchy": "hier/occ.csv", "level": 1}
    if explicit:
        params["delimiter"] = sep
    out, _ = run(["B12", "C25", None, "B11"], params, base_dir=tmp_path)
    assert out.tolist()[:2] == ["B", "C"] and out[2] is pd.NA and out[3] == "B"
    top, _ = run(["B12", "C25"], {**params, "level": 2}, base_dir=tmp_path)
    assert top.tolist() == ["*", "*"]


def test_arx_file_level_out_of_range(tmp_path: Path) -> None:
    (tmp_path / "occ.csv").write_text("B11;B;*\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="level must be between"):
        RecodeParams.model_validate(
            {"column": "c", "hierarchy": "occ.csv", "level": 3},
            context={"base_dir": str(tmp_path)},
        )


def test_arx_missing_file_is_validation_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not found"):
        RecodeParams.model_validate(
            {"column": "c", "hierarchy": "nope.csv", "level": 1},
            context={"base_dir": str(tmp_path)},
        )


def test_arx_explicit_delimiter_used_during_validation(tmp_path: Path) -> None:
    # A ','-separated file whose first value holds more ';' than the row has ','.
    (tmp_path / "occ.csv").write_text("x;y;z,G,*\nB11,B,*\n", encoding="utf-8")
    out, _ = run(
        ["x;y;z", "B11"],
        {"hierarchy": "occ.csv", "level": 1, "delimiter": ","},
        base_dir=tmp_path,
    )
    assert out.tolist() == ["G", "B"]


# --------------------------------------------------------------------------- bands


def test_bands_lower_labels_are_int64() -> None:
    out, _ = run([0, 14, 15, 19, 20, 89, 90, 116, None], {"bands": AGE_BANDS}, dtype="Int64")
    assert str(out.dtype) == "Int64"
    assert out.tolist()[:8] == [0, 0, 15, 15, 20, 85, 90, 90]
    assert out[8] is pd.NA


def test_bands_lower_labels_non_integer_edges_are_float() -> None:
    out, _ = run([0.1, 0.6, 2.0], {"bands": [0, 0.5, 1.5]}, dtype="Float64")
    assert str(out.dtype) == "Float64"
    assert out.tolist() == [0.0, 0.5, 1.5]


def test_bands_range_labels() -> None:
    out, _ = run(
        [3, 15, 19, 20, 90, 116, None], {"bands": AGE_BANDS, "labels": "range"}, dtype="Int64"
    )
    assert out.tolist()[:6] == ["0-14", "15-19", "15-19", "20-24", "90+", "90+"]
    assert out[6] is pd.NA
    assert str(out.dtype) == "string"


def test_bands_custom_labels() -> None:
    out, _ = run(
        [5, 30, 70, None],
        {"bands": [0, 20, 65], "labels": ["child", "adult", "senior"]},
        dtype="Int64",
    )
    assert out.tolist()[:3] == ["child", "adult", "senior"]
    assert out[3] is pd.NA


def test_bands_on_text_numbers() -> None:
    # The engine reads CSV columns as text.
    out, _ = run(["17", "42", "95"], {"bands": AGE_BANDS})
    assert out.tolist() == [15, 40, 90]


def test_value_below_first_edge_is_unknown() -> None:
    with pytest.raises(InputDataError, match="1 row"):
        run([20, 5, 30], {"bands": [18, 65]}, dtype="Int64")
    out, done = run([20, 5, 30], {"bands": [18, 65], "on_unknown": "missing"}, dtype="Int64")
    assert out[0] == 18 and out[1] is pd.NA and out[2] == 18
    assert done.facts["unknown_values"] == 1


# --------------------------------------------------------------------------- maps


def test_category_map() -> None:
    out, _ = run(["1", "2", "3", None], {"map": {"1": "A", "2": "A", "3": "B"}}, npart=3)
    assert out.tolist()[:3] == ["A", "A", "B"]
    assert out[3] is pd.NA


def test_category_map_on_numeric_column() -> None:
    out, _ = run([1.0, 2.0, None], {"map": {"1": "A", "2": "B"}}, dtype="Float64")
    assert out.tolist()[:2] == ["A", "B"]
    assert out[2] is pd.NA


# --------------------------------------------------------------------------- unknown values


def test_unknown_value_error_names_column_and_count_not_value() -> None:
    values = ["1", "ZZ-SECRET-99", "2", "ZZ-SECRET-99", "QQ-OTHER-77"]
    with pytest.raises(InputDataError) as info:
        run(values, {"map": {"1": "A", "2": "B"}}, npart=2)
    exc = info.value
    assert exc.exit_code == EXIT_INPUT == 3
    text = str(exc)
    assert "'c'" in text
    assert "3 row(s)" in text
    assert "ZZ-SECRET-99" not in text and "SECRET" not in text and "QQ-OTHER" not in text
    assert exc.problems[0].code == "recode_unknown_value"
    assert exc.problems[0].location == "steps[0].recode"


def test_unknown_value_error_for_hierarchy_hides_value() -> None:
    with pytest.raises(InputDataError) as info:
        run(["13101", "99999"], {"hierarchy": "jp_region", "level": "prefecture"})
    assert "99999" not in str(info.value)
    assert "1 row(s)" in str(info.value)


def test_on_unknown_missing() -> None:
    out, done = run(
        ["1", "ZZ-SECRET-99", None], {"map": {"1": "A"}, "on_unknown": "missing"}, npart=1
    )
    assert out[0] == "A" and out[1] is pd.NA and out[2] is pd.NA
    assert done.facts["unknown_values"] == 1


def test_on_unknown_value() -> None:
    out, done = run(
        ["1", "ZZ-SECRET-99", None],
        {"map": {"1": "A"}, "on_unknown": "value", "unknown_value": "other"},
    )
    assert out.tolist()[:2] == ["A", "other"]
    assert out[2] is pd.NA  # missing is not unknown
    assert done.facts["unknown_values"] == 1


def test_on_unknown_value_for_bands() -> None:
    out, _ = run(
        [5, 30], {"bands": [18, 65], "on_unknown": "value", "unknown_value": 0}, dtype="Int64"
    )
    assert out.tolist() == [0, 18]
    assert str(out.dtype) == "Int64"


def test_on_unknown_integer_value_in_text_output() -> None:
    out, _ = run(["1", "7"], {"map": {"1": "10"}, "on_unknown": "value", "unknown_value": 99})
    assert out.tolist() == ["10", "99"]


def test_text_unknown_value_with_numeric_bands_rejected_by_validation() -> None:
    with pytest.raises(ValidationError):
        RecodeParams(column="c", bands=[18, 65], on_unknown="value", unknown_value="other")


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"bands": [0, 10], "map": {"1": "A"}}, "exactly one of"),
        ({}, "exactly one of"),
        ({"hierarchy": "jp_region"}, "needs level"),
        ({"map": {"1": "A"}, "level": 1}, "only used with hierarchy"),
        ({"bands": [0, 10, 20], "labels": ["a", "b"]}, "one label per band"),
        ({"map": {"1": "A"}, "labels": ["a"]}, "one label per band"),
        ({"map": {"1": "A"}, "on_unknown": "value"}, "unknown_value is needed"),
        ({"map": {"1": "A"}, "unknown_value": "x"}, "unknown_value is needed"),
        ({"bands": [0, 10, 10]}, "strictly increasing"),
        ({"bands": []}, "at least 1"),
        ({"map": {"1": "A"}, "labels": "upper"}, "labels"),
        ({"map": {"1": "A"}, "extra": 1}, "extra"),
    ],
)
def test_params_validation(params: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RecodeParams.model_validate({"column": "c", **params})


def test_numeric_columns_only_for_bands() -> None:
    assert RecodeParams(column="c", bands=[0, 1]).declare(ColumnsSpec()).numeric == {"c"}
    assert RecodeParams(column="c", map={"1": "A"}).declare(ColumnsSpec()).numeric == set()
