"""l-diversity: distinct, entropy and recursive (c, l) per equivalence class."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.risk.ldiversity import l_diversity


def test_hand_computed_classes() -> None:
    # class 0: values {0: 1, 1: 2}; class 1: {2: 2}; class 2: {3, 4, 5} one each
    keys = np.array([[0], [0], [0], [1], [1], [2], [2], [2]])
    sensitive = np.array([0, 1, 1, 2, 2, 3, 4, 5])
    out = l_diversity(keys, sensitive, c=2.0, ell=2)
    assert out["classes"] == 3
    assert out["min_distinct_l"] == 1
    assert out["records_in_classes_with_distinct_l_1"] == 2
    assert out["min_entropy_l"] == pytest.approx(1.0)
    # recursive (2,2): class 0: r1=2 < 2*(1) false; class 1: r1=2 < 2*0 false;
    # class 2: r1=1 < 2*(1+1) true
    assert out["classes_recursive_cl"] == 1
    assert out["share_classes_recursive_cl"] == pytest.approx(1 / 3)


def test_entropy_l_of_uniform_class() -> None:
    keys = np.zeros((4, 1), dtype=int)
    out = l_diversity(keys, np.array([0, 1, 2, 3]))
    assert out["min_entropy_l"] == pytest.approx(4.0)
    assert out["min_distinct_l"] == 4


def test_missing_sensitive_values_are_ignored() -> None:
    keys = np.array([[0], [0], [0]])
    out = l_diversity(keys, np.array([1, -1, 2]))
    assert out["min_distinct_l"] == 2
    assert out["min_entropy_l"] == pytest.approx(math.exp(math.log(2)))


def test_empty_input() -> None:
    assert l_diversity(np.zeros((0, 2), dtype=int), np.zeros(0, dtype=int)) == {"classes": 0}
