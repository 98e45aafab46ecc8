"""The series state: written, read back, and refused when changed or of another series."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.core.errors import InputDataError, RecipeError
from pipeline.series.state import (
    HEADER,
    STATE,
    SeriesHeader,
    SeriesKey,
    SeriesState,
    read_state,
    write_state,
)

KEY = SeriesKey.of(b"a series key of at least sixteen bytes")
EXPECT = {"recipe_name": "nightly", "person": "member_id", "key_variables": ["age", "sex"]}


def _state() -> SeriesState:
    header = SeriesHeader(
        run_id="r1",
        generated_at="2026-12-06T00:00:00Z",
        recipe_name="nightly",
        person="member_id",
        key_variables=["age", "sex"],
        releases=[],
        persons=0,
        state_sha256="",
        key_check="",
    )
    known = [pd.Categorical(["30", None, "45"]), pd.Categorical(["1", "2", None])]
    return SeriesState(
        header,
        np.array([3, 9, 27], np.uint64),
        np.array([0, -1, 1], np.int64),
        np.array([0, 1, 2], np.uint32),
        known,
    )


def test_a_state_reads_back_as_written(tmp_path: Path) -> None:
    write_state(tmp_path, _state(), KEY)
    state = read_state(tmp_path, KEY, EXPECT)
    assert state.fps.tolist() == [3, 9, 27] and state.rows.tolist() == [0, -1, 1]
    index, found = state.lookup(np.array([9, 4, 27], np.uint64))
    assert found.tolist() == [True, False, True]
    assert state.known_text(0, index, found).tolist() == [pd.NA, pd.NA, "45"]
    header = json.loads((tmp_path / HEADER).read_text())
    assert header["persons"] == 3 and len(header["mac"]) == 64 and "key" not in header


@pytest.mark.parametrize("how", ["state-bytes", "state-rewritten", "header-releases", "no-mac"])
def test_a_changed_state_is_refused(tmp_path: Path, how: str) -> None:
    write_state(tmp_path, _state(), KEY)
    if how == "state-bytes":
        data = bytearray((tmp_path / STATE).read_bytes())
        data[len(data) // 2] ^= 1
        (tmp_path / STATE).write_bytes(bytes(data))
    elif how == "state-rewritten":  # a valid file whose SHA-256 is re-recorded: the MAC tells
        other = _state()
        other.hidden[:] = 0
        (tmp_path / "other").mkdir()
        write_state(tmp_path / "other", other, SeriesKey.of(b"another key of sixteen bytes!"))
        (tmp_path / STATE).write_bytes((tmp_path / "other" / STATE).read_bytes())
        header = json.loads((tmp_path / HEADER).read_text())
        header["state_sha256"] = json.loads((tmp_path / "other" / HEADER).read_text())[
            "state_sha256"
        ]
        (tmp_path / HEADER).write_text(json.dumps(header))
    else:
        header = json.loads((tmp_path / HEADER).read_text())
        header["releases" if how == "header-releases" else "mac"] = (
            []
            if how == "no-mac"
            else [{"run_id": "x", "generated_at": "y", "records": 1, "persons_seen": 0}]
        )
        if how == "no-mac":
            header["mac"] = ""
        (tmp_path / HEADER).write_text(json.dumps(header))
    with pytest.raises(InputDataError, match="changed after it was written"):
        read_state(tmp_path, KEY, EXPECT)


def test_another_series_or_key_is_refused_and_a_missing_state_named(tmp_path: Path) -> None:
    write_state(tmp_path, _state(), KEY)
    with pytest.raises(RecipeError, match="another series"):
        read_state(tmp_path, KEY, {**EXPECT, "recipe_name": "other"})
    with pytest.raises(RecipeError, match="another series"):
        read_state(tmp_path, KEY, {**EXPECT, "key_variables": ["age"]})
    with pytest.raises(RecipeError, match="another key"):
        read_state(tmp_path, SeriesKey.of(b"another key of sixteen bytes!"), EXPECT)
    with pytest.raises(InputDataError, match="holds no series state"):
        read_state(tmp_path / "empty", KEY, EXPECT)


def test_keys_never_show() -> None:
    assert "sixteen" not in repr(KEY) and KEY.check not in repr(KEY)
