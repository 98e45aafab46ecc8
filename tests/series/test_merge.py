"""The merged view's protection: locked values, suppression where it suffices, withholding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.risk.suppression import suppress
from pipeline.series.merge import (
    COUNT,
    HIDE,
    SUPPRESS,
    WITHHOLD,
    as_text,
    code,
    known,
    protect,
    shown,
)

KEYS = ["k0", "k1"]


def table(rows: list[tuple[list, list, int]]) -> pd.DataFrame:
    """Combinations: shown values, known values (None: missing), records."""
    data: dict = {}
    for j, key in enumerate(KEYS):
        data[key] = pd.array([r[0][j] for r in rows], dtype="string")
    for j in range(len(KEYS)):
        data[code(j)] = [-1 if r[1][j] is None else 0 for r in rows]
    data[HIDE] = [0] * len(rows)
    data[COUNT] = [r[2] for r in rows]
    for j in range(len(KEYS)):
        data[shown(j)] = pd.array([r[0][j] for r in rows], dtype="string")
        data[known(j)] = pd.array([r[1][j] for r in rows], dtype="string")
    return pd.DataFrame(data)


def test_a_shrunken_class_of_known_people_is_withheld() -> None:
    # two people an earlier release showed as (a, x); their third class member has left
    found = table([(["a", "x"], ["a", "x"], 2), (["b", "y"], [None, None], 5)])
    done = protect(found, KEYS, 3, None, withhold=True)
    assert done.withheld == 2 and done.below_k == 0
    assert done.table[WITHHOLD].tolist() == [True, False]
    blocked = protect(found, KEYS, 3, None, withhold=False)
    assert blocked.withheld == 0 and blocked.below_k == 2


def test_new_people_are_suppressed_to_join_and_known_values_never_are() -> None:
    # one known person (a, x) and two newcomers differing in the second variable only
    found = table(
        [(["a", "x"], ["a", "x"], 1), (["a", "y"], [None, None], 2), (["b", "z"], [None, None], 3)]
    )
    done = protect(found, KEYS, 3, ["k0"], withhold=True)
    assert done.withheld == 0
    bits = dict(zip(found[shown(1)], done.table[SUPPRESS], strict=True))
    assert bits["x"] == 0  # the known person's values are locked: nothing to gain
    assert bits["y"] == 0b10  # the newcomers give up their second value and join
    assert done.suppressed.tolist() == [0, 2]


def test_a_hidden_value_an_earlier_release_showed_counts_as_known() -> None:
    # shown now: nothing of the first variable; an earlier release showed "a"
    found = table([([None, "x"], ["a", "x"], 1), (["b", "x"], [None, None], 5)])
    done = protect(found, KEYS, 3, None, withhold=True)
    assert done.withheld == 1  # merged (a, x) matches nobody: suppressing "a" now hides nothing


def test_locked_cells_are_never_suppressed() -> None:
    codes = np.array([[0, 0], [1, 0], [1, 1], [1, 1]])
    locked = np.array([[True, True], [False, False], [False, False], [False, False]])
    result = suppress(codes, 2, [0, 1], locked=locked)
    assert (result.codes[0] == codes[0]).all()  # stuck below k, left for the caller


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (pd.Series([30, None, 2], dtype="Int64"), ["30", pd.NA, "2"]),
        (pd.Series([30.0, np.nan, 2.5]), ["30", pd.NA, "2.5"]),
        (pd.Series(["30", None, "x"], dtype="string"), ["30", pd.NA, "x"]),
        (pd.Series([True, False]), ["True", "False"]),
    ],
)
def test_the_text_of_a_value_does_not_depend_on_its_type(values, expected) -> None:
    assert as_text(values).tolist() == expected
