"""The identifier scanner: recall on generated identifiers, no false positives on look-alikes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core import jpcodes
from pipeline.scan import kinds
from pipeline.scan.scanner import name_hints, scan_array, scan_table
from tests.conftest import examples
from tests.scan.synthetic import EXPECTED_KIND, decoys, identifiers

SIZES = [40, 2000]


def best_kind(name: str, values: pd.Series) -> str | None:
    found = scan_array(name, pa.array(values))
    return found[0].kind if found else None


@pytest.mark.parametrize("n", SIZES)
def test_every_generated_identifier_is_found_under_a_neutral_name(n: int) -> None:
    for kind, values in identifiers(n, seed=n).items():
        assert best_kind("col_x", values) == EXPECTED_KIND.get(kind, kind), kind


@pytest.mark.parametrize("n", SIZES)
def test_no_decoy_is_reported(n: int) -> None:
    for kind, values in decoys(n, seed=n).items():
        assert best_kind("col_x", values) is None, kind


def test_decoys_stay_clean_under_identifier_like_names() -> None:
    # a name hint alone never makes a finding: the values must fit too
    d = decoys(2000, seed=3)
    assert best_kind("my_number", d["random_12_wrong_check"]) is None
    assert best_kind("individual_number", d["random_12_digits"]) is None
    assert best_kind("insurer_no", d["date_compact"]) is None
    assert best_kind("phone", d["amount_yen"]) is None


def test_licence_and_my_number_are_told_apart_by_check_digits() -> None:
    ids = identifiers(3000, seed=5)
    assert best_kind("c", ids["drivers_licence"]) == "drivers_licence"
    assert best_kind("c", ids["my_number"]) == "my_number"


def test_weak_shapes_need_a_column_name_hint() -> None:
    rng = np.random.default_rng(0)
    bare = pd.Series([f"{x:010d}" for x in rng.integers(10**9, 10**10, 500)])
    assert best_kind("code", bare) is None
    assert best_kind("基礎年金番号", bare) == "pension_number"
    postal = pd.Series([f"{x:07d}" for x in rng.integers(10**6, 10**7, 500)])
    assert best_kind("value", postal) is None
    assert best_kind("郵便番号", postal) == "postal_code"


def test_finding_reports_counts_and_evidence_never_values() -> None:
    values = identifiers(500, seed=9)["my_number"]
    mixed = pd.concat([values, pd.Series(["n/a"] * 20 + [None] * 30 + [""] * 10)])
    (finding,) = scan_array("マイナンバー", pa.array(mixed))
    assert finding.rows_checked == 520  # missing and blank cells are not values
    assert finding.matches == 500
    assert finding.evidence["check_digit_pass_rate"] == 1.0
    assert finding.evidence["name_hint"] is True
    text = finding.model_dump_json()
    assert not any(v in text for v in values.head(50))


def test_identifiers_inside_free_text() -> None:
    notes = pd.Series(["特記事項なし"] * 300 + ["連絡はtaro@example.jp まで"] * 4)
    (finding,) = scan_array("remarks", pa.array(notes))
    assert finding.kind == "email" and finding.matches == 4
    assert finding.evidence["mode"] == "inside_text"
    numbers = identifiers(20, seed=2)["my_number"]
    text = pd.Series([f"本人確認 {m} 済" for m in numbers] + ["確認なし"] * 100)
    assert best_kind("memo", text) == "my_number"
    wrong = decoys(20, seed=2)["random_12_wrong_check"]
    assert best_kind("memo", pd.Series([f"注文 {m} 済" for m in wrong])) is None


def test_integer_columns_and_full_width_text() -> None:
    ids = identifiers(500, seed=4)
    as_int = ids["my_number"].str.replace(r"\D", "", regex=True)
    as_int = as_int[~as_int.str.startswith("0")].astype("int64")
    assert best_kind("c", as_int) == "my_number"
    assert best_kind("c", ids["my_number_full_width"]) == "my_number"


def test_values_differing_only_in_surrounding_blanks_are_one_value() -> None:
    from pipeline.scan.scanner import _distinct

    padded = pa.array(["a", " a", "a ", "b", "  ", None, "b\t"], pa.large_string())
    v = _distinct(padded)
    assert sorted(zip(v.text.to_pylist(), v.counts.tolist(), strict=True)) == [("a", 3), ("b", 2)]
    plain = _distinct(pa.array(["x", "y", "x"]))
    assert sorted(zip(plain.text.to_pylist(), plain.counts.tolist(), strict=True)) == [
        ("x", 2),
        ("y", 1),
    ]
    assert _distinct(pa.array([" ", None], pa.string())) is None


def test_scan_table_samples_deterministically() -> None:
    frame = pd.DataFrame({k: v for k, v in identifiers(3000, seed=1).items()})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    a, rows = scan_table(table, sample=500, seed=7)
    b, _ = scan_table(table, sample=500, seed=7)
    assert rows == 500 and [f.model_dump() for f in a] == [f.model_dump() for f in b]
    assert {f.column for f in a} >= {"my_number", "phone", "email", "person_name"}


def test_name_hints_fold_case_width_and_separators() -> None:
    assert "my_number" in name_hints("My-Number")
    assert "phone" in name_hints("ＴＥＬ")
    assert "drivers_licence" in name_hints("運転免許証番号")
    assert name_hints("age") == set()


digit_rows = st.lists(st.integers(0, 9), min_size=12, max_size=12)


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(digit_rows, min_size=1, max_size=20))
def test_vectorised_check_digits_equal_the_reference(rows: list[list[int]]) -> None:
    matrix = np.array(rows)
    texts = ["".join(map(str, r)) for r in rows]
    assert kinds.my_number_ok(matrix).tolist() == [jpcodes.is_valid_my_number(t) for t in texts]
    assert kinds.licence_ok(matrix).tolist() == [jpcodes.is_valid_licence(t) for t in texts]
    eight = matrix[:, :8]
    assert kinds.insurer_ok(eight).tolist() == [
        jpcodes.is_valid_insurer_number(t[:8]) for t in texts
    ]
    thirteen = np.hstack([matrix, matrix[:, :1]])
    assert kinds.corporate_ok(thirteen).tolist() == [
        jpcodes.is_valid_corporate_number(t + t[0]) for t in texts
    ]


def test_a_calendar_date_is_not_a_digit_code() -> None:
    # 19500107 passes the insurer number's check digit; written as a date it is a date
    assert scan_array("c101_date", pa.array(["1950-01-07", "1950/01/15", "1950.01.23"])) == []
    found = scan_array("insurer", pa.array(["19500107"]))
    assert [f.kind for f in found] == ["insurer_number"]
    # the same digits cut otherwise are not a date: still read as the code they are
    assert [f.kind for f in scan_array("insurer", pa.array(["1950-0107"]))] == ["insurer_number"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.dates().map(lambda d: d.strftime(f"%Y{'-/.'[d.day % 3]}%m{'-/.'[d.month % 3]}%d")),
            st.dates().map(lambda d: f"{d.year}-{d.month}-{d.day}"),
            st.text("0123456789-/. ()+８a", max_size=12),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_dates_are_found_by_their_size_first_as_the_regex_finds_them(values: list[str]) -> None:
    """The date regex runs on values of 8-10 bytes only: the same dates as on every value."""
    import pyarrow.compute as pc

    from pipeline.scan.scanner import _DATE, _dates

    raw = pa.array(values)
    everywhere = pc.match_substring_regex(raw, _DATE).to_pylist()
    found = _dates(raw)
    assert (found.to_pylist() if found is not None else [False] * len(values)) == everywhere


def test_a_chunked_column_scans_as_the_same_column_in_one_piece() -> None:
    decoy = next(iter(decoys(200, seed=6).values())).tolist()
    for kind, found in identifiers(300, seed=5).items():
        values = [*found.tolist(), *decoy, None, "  "]
        whole = scan_array(kind, pa.array(values, pa.large_string()))
        cuts = [0, 1, 101, 250, 499, len(values)]
        chunked = pa.chunked_array(
            [pa.array(values[a:b], pa.large_string()) for a, b in zip(cuts, cuts[1:], strict=False)]
        )
        assert scan_array(kind, chunked) == whole, kind
        own = pa.chunked_array([c.dictionary_encode() for c in chunked.chunks])  # a dictionary each
        assert scan_array(kind, own) == whole, kind
        assert whole, kind
    for empty in (pa.chunked_array([], pa.large_string()), pa.chunked_array([], pa.int64())):
        assert scan_array("col", empty) == []
    digits = [v.replace("-", "").replace(" ", "") for v in identifiers(300, seed=5)["my_number"]]
    numbers = [int(v) for v in digits if not v.startswith("0")]  # twelve digits as integers
    as_one = scan_array("col", pa.array(numbers))
    assert as_one, "twelve-digit numbers with their check digit"
    assert scan_array("col", pa.chunked_array([numbers[:7], numbers[7:]])) == as_one
