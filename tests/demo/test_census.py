from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from pipeline.core.jpcodes import is_valid_licence, is_valid_my_number
from pipeline.demo.census import (
    COLUMNS,
    DEFAULT_SEED,
    OCCUPATION_HIERARCHY,
    generate_census,
    write_census_csv,
    write_occupation_hierarchy,
)

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_COLUMNS = [
    "name",
    "address",
    "phone",
    "email",
    "my_number",
    "drivers_licence",
    "member_id",
    "household_id",
    "age",
    "sex",
    "municipality",
    "occupation",
    "household_size",
    "income",
    "weight",
]


@pytest.fixture(scope="module")
def census() -> pd.DataFrame:
    return generate_census(5000)


@pytest.fixture(scope="module")
def municipalities() -> pd.DataFrame:
    return pd.read_csv(
        ROOT / "pipeline" / "data" / "jp_municipalities.csv", dtype=str, keep_default_na=False
    )


def test_deterministic_for_a_seed():
    pdt.assert_frame_equal(generate_census(300, seed=7), generate_census(300, seed=7))
    pdt.assert_frame_equal(generate_census(50), generate_census(50, seed=DEFAULT_SEED))
    assert not generate_census(300, seed=7).equals(generate_census(300, seed=8))


@pytest.mark.parametrize("rows", [0, 1, 2, 7, 99, 100, 1001])
def test_exact_row_count_and_columns(rows):
    df = generate_census(rows, seed=rows)
    assert len(df) == rows
    assert list(df.columns) == EXPECTED_COLUMNS == list(COLUMNS)


def test_negative_rows_rejected():
    with pytest.raises(ValueError):
        generate_census(-1)


def test_column_types(census):
    for col in ["age", "household_size", "income"]:
        assert census[col].dtype == np.int64
    assert census["weight"].dtype == np.float64
    assert set(census["sex"]) == {"1", "2"}
    assert census["member_id"].str.fullmatch(r"M\d{8}").all()
    assert census["household_id"].str.fullmatch(r"H\d{7}").all()
    assert census["member_id"].is_unique


def test_my_numbers_valid_and_unique(census):
    assert census["my_number"].str.fullmatch(r"\d{12}").all()
    assert census["my_number"].map(is_valid_my_number).all()
    assert census["my_number"].is_unique


def test_licences(census):
    lic = census["drivers_licence"]
    present = lic.notna()
    assert lic[present].map(is_valid_licence).all()
    assert lic[present].str[11].isin(["0", "1", "2"]).all()
    assert not present[census["age"] < 18].any()
    adult_missing = 1 - present[census["age"] >= 18].mean()
    assert 0.12 < adult_missing < 0.28


def test_municipalities(census, municipalities):
    codes = census["municipality"]
    assert codes.isin(set(municipalities["id"])).all()
    assert codes.str.startswith("0").any()
    assert codes.str.startswith("01").any()  # Hokkaido
    assert codes.str[:2].nunique() >= 40
    # whole-city codes of designated cities that have wards never appear
    wards = municipalities[municipalities["special_district_ja"] != ""]
    has_wards = set(wards["prefecture_id"] + wards["city_ja"])
    whole = municipalities[
        (municipalities["special_district_ja"] == "")
        & (municipalities["prefecture_id"] + municipalities["city_ja"]).isin(has_wards)
    ]["id"]
    assert {"01100", "14100", "14130", "27140"} <= set(whole)
    assert not codes.isin(set(whole)).any()
    assert codes.isin(set(wards["id"])).any()  # designated-city wards such as 141xx


@pytest.mark.parametrize("rows", [100, 250, 5000])
def test_exactly_one_116_year_old(rows):
    df = generate_census(rows, seed=rows) if rows != 5000 else generate_census(rows)
    assert (df["age"] == 116).sum() == 1


def test_ages(census):
    age = census["age"]
    assert age.between(0, 116).all()
    assert (age == 116).sum() == 1
    assert 2 <= (age >= 100).sum() <= 12
    assert (age < 15).mean() > 0.08 and (age >= 65).mean() > 0.15
    assert (generate_census(99, seed=1)["age"] < 116).all()


def test_households(census):
    groups = census.groupby("household_id", sort=False)
    assert (groups[["municipality", "address", "weight"]].nunique() == 1).all().all()
    assert (groups["name"].agg(lambda s: s.str.split(" ").str[0].nunique()) == 1).all()
    assert (groups["household_size"].transform("size") == census["household_size"]).all()
    sizes = groups.size()
    assert sizes.between(1, 10).all()
    assert (sizes >= 9).sum() >= 1
    assert sizes.value_counts().idxmax() in (1, 2)


def test_truncated_last_household():
    for rows in (7, 31, 101):
        df = generate_census(rows, seed=rows)
        last = df[df["household_id"] == df["household_id"].iloc[-1]]
        assert (last["household_size"] == len(last)).all()


def test_text_fields(census):
    assert census["name"].str.fullmatch(r"\S+ \S+").all()
    assert census["email"].str.fullmatch(r"[a-z._]+\d+@example\.[a-z.]+").all()
    assert census["phone"].str.fullmatch(r"0\d{1,3}-\d{2,4}-\d{4}").all()
    mobile = census["phone"].str.match(r"0[789]0-")
    assert census.loc[mobile, "phone"].str.fullmatch(r"0[789]0-\d{4}-\d{4}").all()
    fixed = census.loc[~mobile, "phone"].str.replace("-", "")
    assert (fixed.str.len() == 10).all()
    assert census["address"].str.contains(r"\d丁目\d+-\d+$").all()


def test_income_and_weight(census):
    income = census["income"]
    assert (income[census["age"] < 18] == 0).all()
    adults = income[census["age"] >= 18]
    assert (adults > 0).all()
    assert 2_000_000 < adults.median() < 6_000_000
    assert 1 <= (income >= 100_000_000).sum() <= 10
    assert income.max() <= 1_000_000_000
    weight = census["weight"]
    assert weight.between(1000, 3000).all()
    assert np.allclose(weight, weight.round(2))


def test_occupation_hierarchy(tmp_path, census):
    path = write_occupation_hierarchy(tmp_path / "occupation.csv")
    rows = [line.split(";") for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows == [list(r) for r in OCCUPATION_HIERARCHY]
    codes = [r[0] for r in rows]
    assert len(codes) == len(set(codes))
    assert all(len(r) == 3 and r[2] == "*" and r[0][0] == r[1] for r in rows)
    assert all(len(c) == 3 and c[1:].isdigit() for c in codes)
    per_group = pd.Series([r[1] for r in rows]).value_counts()
    assert sorted(per_group.index) == list("ABCDEFGHIJKL")
    assert per_group.between(3, 8).all()
    assert census["occupation"].isin(set(codes)).all()
    assert (census.loc[census["age"] < 15, "occupation"] == "L99").all()
    assert census["occupation"].str[0].nunique() == 12


def test_bundled_files_match_generator(tmp_path):
    hierarchy = ROOT / "recipes" / "hierarchies" / "occupation.csv"
    sample = ROOT / "examples" / "census_sample.csv"
    assert hierarchy.read_bytes() == write_occupation_hierarchy(tmp_path / "h.csv").read_bytes()
    assert sample.stat().st_size < 1_000_000
    assert sample.read_bytes() == write_census_csv(tmp_path / "c.csv", 5000).read_bytes()


def test_cp932_round_trip(tmp_path):
    df = generate_census(800, seed=3)
    path = write_census_csv(tmp_path / "census.csv", 800, seed=3, encoding="cp932")
    text_columns = [c for c in COLUMNS if df[c].dtype != np.int64 and c != "weight"]
    back = pd.read_csv(path, encoding="cp932", dtype={c: str for c in text_columns})
    pdt.assert_frame_equal(back, df)
    path.read_bytes().decode("cp932")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
