"""The scanner's stream of a pass: the same findings whenever its scan starts."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipeline.gate.scanning import ScanStream
from pipeline.recipe.models import ScanSpec
from pipeline.scan.scanner import scan_array

TABLE = pa.table(
    {
        "note": [f"090-{i % 10_000:04d}-{(i * 7) % 10_000:04d}" for i in range(3000)],
        "code": [str(i % 13) for i in range(3000)],
    }
)
TYPES = {name: TABLE.schema.field(name).type for name in TABLE.column_names}
PARTS = (TABLE.slice(0, 1000), TABLE.slice(1000, 1000), TABLE.slice(2000))


@pytest.mark.parametrize("announced", [3000, 2000, 5000])  # exact, too few, too many
def test_the_findings_do_not_depend_on_when_the_scan_started(announced: int) -> None:
    # the scan starts with the table that completes the rows announced; a table after it
    # means the rows were more, and the whole sample is scanned again
    stream = ScanStream(TABLE.column_names, TYPES, announced, ScanSpec(sample=None), seed=7)
    for part in PARTS:
        stream.add(part)
    expected = [f for name in TABLE.column_names for f in scan_array(name, TABLE.column(name))]
    found = stream.findings()
    assert found == expected
    assert [(f.column, f.kind, f.rows_checked) for f in found] == [("note", "phone", 3000)]


def test_a_sample_is_the_same_fed_at_once_or_in_parts() -> None:
    spec = ScanSpec(sample=1000)
    whole = ScanStream(TABLE.column_names, TYPES, 3000, spec, seed=7)
    whole.add(TABLE)
    parts = ScanStream(TABLE.column_names, TYPES, 3000, spec, seed=7)
    for part in PARTS:
        parts.add(part)
    found = parts.findings()
    assert found == whole.findings() and found[0].rows_checked == 1000
