"""Numbers for people: no scientific notation, and never ``0`` for a value that is not zero."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.numbers import number
from tests.conftest import examples


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (17072895.0, "17,072,895"),
        (17072895, "17,072,895"),
        (0.004042, "0.004042"),
        (0.00004999, "0.00005"),
        (3e-07, "0.0000003"),
        (3.4e-07, "0.00000034"),
        (1.249855072463768, "1.25"),
        (20.2134, "20.21"),
        (-0.09885, "-0.09885"),
        (3459710.5, "3,459,710"),
        (None, "–"),
        (True, "yes"),
        (float("nan"), "–"),
        ("text", "text"),
    ],
)
def test_numbers_are_formatted_for_people(value: object, text: str) -> None:
    assert number(value) == text


@settings(max_examples=examples(200), deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300))
def test_a_number_is_never_in_scientific_notation_nor_zero_when_it_is_not(value: float) -> None:
    text = number(value)
    assert "e" not in text.lower()
    if value != 0 and abs(value) >= 1e-300:
        assert re.search("[1-9]", text), (value, text)
