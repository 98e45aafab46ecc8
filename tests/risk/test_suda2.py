"""SUDA2 special uniques: equal to sdcMicro's suda2, to a brute-force definition, and bounded."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.api import suda2
from pipeline.core.errors import InputDataError, RecipeError
from pipeline.risk import suda2 as module
from tests.conftest import run_entry

DATA = Path(__file__).parents[1] / "data"
TESTDATA_KEYS = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]
# sdcMicro 5.8.1's attribute_contributions on testdata (printed by tests/data/suda2/suda2_ref.R)
SDCMICRO_CONTRIBUTIONS = {
    "urbrur": 12.044989775051125,
    "roof": 33.865030674846622,
    "walls": 18.098159509202453,
    "water": 53.415132924335374,
    "electcon": 22.515337423312882,
    "relat": 92.597137014314924,
    "sex": 24.948875255623722,
}


def _same_as_sdcmicro(found: pd.DataFrame, reference: pd.DataFrame) -> None:
    assert len(found) == len(reference)
    np.testing.assert_allclose(found["score"], reference["score"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(found["dis_score"], reference["dis_score"], rtol=0, atol=1e-6)


def test_testdata_equals_sdcmicro_per_record() -> None:
    found = suda2(DATA / "sdcmicro_testdata.csv", TESTDATA_KEYS)
    _same_as_sdcmicro(found, pd.read_csv(DATA / "suda2" / "testdata_scores.csv"))
    shares = pd.read_csv(DATA / "suda2" / "testdata_contributions.csv")
    for key in TESTDATA_KEYS:
        column = f"{key}_contribution"
        np.testing.assert_allclose(found[column], shares[column], rtol=0, atol=1e-12)
    summary = found.attrs["summary"]
    assert summary["scored"] == 157 and summary["max_score"] == 720
    for key, value in SDCMICRO_CONTRIBUTIONS.items():
        assert summary["contributions"][key] == pytest.approx(value, abs=1e-9)


def test_free1_equals_sdcmicro_per_record() -> None:
    keys = pd.read_csv(DATA / "suda2" / "free1_keys.csv")
    found = suda2(keys, list(keys.columns))
    _same_as_sdcmicro(found, pd.read_csv(DATA / "suda2" / "free1_scores.csv"))
    assert int((found["score"] > 0).sum()) == 3162


def test_missing_values_as_sdcmicro_codes_them() -> None:
    """sdcMicro's missing = -999 (NA recoded to it): a missing value matches nothing."""
    keys = pd.read_csv(DATA / "suda2" / "synth_keys.csv")
    keys = keys.mask(keys == -999)
    found = suda2(keys, list(keys.columns), missing="unmatched")
    _same_as_sdcmicro(found, pd.read_csv(DATA / "suda2" / "synth_scores.csv"))


def _brute(rows: list[tuple], missing: str) -> list[float]:
    """SUDA scores straight from the definition: every set of variables, every record."""
    m = len(rows[0])

    def matches(a: object, b: object) -> bool:
        if a is None or b is None:
            return missing == "any" or (missing == "category" and a is None and b is None)
        return a == b

    def alone(i: int, subset: tuple[int, ...]) -> bool:
        if missing != "category" and any(rows[i][v] is None for v in subset):
            return False  # a missing value is in none of a record's MSUs
        return not any(
            j != i and all(matches(rows[i][v], rows[j][v]) for v in subset)
            for j in range(len(rows))
        )

    scores = []
    for i in range(len(rows)):
        score = 0.0
        for size in range(1, m + 1):
            for subset in itertools.combinations(range(m), size):
                smaller = [subset[:v] + subset[v + 1 :] for v in range(size)]
                if alone(i, subset) and not any(s and alone(i, s) for s in smaller):
                    score += math.factorial(max(m, 3) - size)
        scores.append(score)
    return scores


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda m: st.lists(
            st.tuples(*[st.sampled_from([None, "a", "b", "c"]) for _ in range(m)]),
            min_size=1,
            max_size=14,
        )
    ),
    st.sampled_from(["any", "category", "unmatched"]),
)
def test_scores_follow_the_definition(rows: list[tuple], missing: str) -> None:
    frame = pd.DataFrame(rows, columns=[f"k{j}" for j in range(len(rows[0]))], dtype=object)
    found = suda2(frame, list(frame.columns), missing=missing)
    expected = _brute(rows, missing)
    if missing == "any":  # a record that matches a record with missing values is not alone
        assert found["score"].tolist() == pytest.approx(expected)
    else:
        assert found["score"].tolist() == expected


def test_limits_are_named_before_any_work() -> None:
    wide = pd.DataFrame({f"k{j}": ["a", "b"] for j in range(21)})
    with pytest.raises(InputDataError, match="at most 20"):
        suda2(wide, list(wide.columns))
    rng = np.random.default_rng(1)
    many = pd.DataFrame({f"k{j}": rng.integers(0, 1000, 20_000).astype(str) for j in range(20)})
    with pytest.raises(InputDataError) as raised:
        suda2(many, list(many.columns))
    assert raised.value.problems[0].code == "suda2_limit"
    assert "combination visits" in str(raised.value) and "fewer key variables" in str(raised.value)
    assert module.MAX_WORK < (2**20 - 1) * 20_000


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, float("nan"), True])
def test_a_sampling_fraction_outside_0_1_is_refused(fraction: float) -> None:
    with pytest.raises(RecipeError, match=r"\(0, 1\]"):
        suda2(DATA / "sdcmicro_testdata.csv", TESTDATA_KEYS, dis_fraction=fraction)


def test_the_risk_command_adds_suda2_and_writes_records(tmp_path: Path, capfd) -> None:
    data = str(DATA / "sdcmicro_testdata.csv")
    records = tmp_path / "scores.csv"
    keys = ",".join(TESTDATA_KEYS)
    args = ["risk", data, "--key-vars", keys, "--suda2", "--format", "json"]
    code, out = run_entry([*args, "--records", str(records)], capfd)
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    assert summary["suda2"]["scored"] == 157 and summary["suda2"]["special_uniques"] == 156
    written = pd.read_csv(records)
    assert list(written.columns[:3]) == ["record", "score", "dis_score"]
    assert written["record"].iloc[0] == 1 and len(written) == 4580
    code, out = run_entry([*args, "--records", str(records)], capfd)
    assert code == 2 and "exists" in out  # never replaced without --force
    code, out = run_entry([*args, "--dis-fraction", "0"], capfd)
    assert code == 2 and "(0, 1]" in out
    code, out = run_entry(["risk", data, "--key-vars", keys, "--missing", "unmatched"], capfd)
    assert code == 2 and "need --suda2" in out
