"""The identifier scanner as gate checks: undeclared identifiers in, any identifier out.

Reason codes: ``undeclared_identifier`` (input stage: a column that the recipe does not declare
as an identifier holds identifiers; with ``scan.undeclared: warn`` the check is recorded but
does not fail) and ``identifier_found`` (output stage: the output must scan clean). Columns are
scanned one at a time on a seeded sample, so memory stays at one column.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.gate.checks import Stage, table_result
from pipeline.gate.data import Dataset
from pipeline.gate.model import CheckResult
from pipeline.recipe.models import ScanSpec
from pipeline.scan.scanner import Finding, scan_array

COLUMNS_PER_READ = 16  # columns sampled per read of the data: bounds the sample held


def scan_dataset(data: Dataset, columns: list[str], spec: ScanSpec, seed: int) -> list[Finding]:
    """Findings in ``columns`` of ``data`` (a seeded sample of ``spec.sample`` rows).

    The sample is taken chunk by chunk while the files are read once per
    ``COLUMNS_PER_READ`` columns, so memory holds the sampled values of those columns only.
    """
    rows = data.rows()
    picked = None
    if spec.sample is not None and rows > spec.sample:
        rng = np.random.default_rng(seed)
        picked = np.sort(rng.choice(rows, spec.sample, replace=False))
    found: list[Finding] = []
    for first in range(0, len(columns), COLUMNS_PER_READ):
        group = columns[first : first + COLUMNS_PER_READ]
        sample = _sample(data, group, picked)
        for column in group:
            found += scan_array(column, sample[column], spec.min_confidence)
    return found


def _sample(data: Dataset, columns: list[str], picked: np.ndarray | None) -> dict:
    """``columns`` at the ``picked`` row numbers (all rows when None), in one read."""
    parts: dict[str, list] = {c: [] for c in columns}
    start = 0
    for chunk in data.chunks(columns):
        rows, kept = chunk.num_rows, chunk
        if picked is not None:
            lo, hi = np.searchsorted(picked, [start, start + rows])
            kept = chunk.take(pa.array(picked[lo:hi] - start))
        start += rows
        for column in columns:
            parts[column] += kept.column(column).chunks
    return {c: pa.chunked_array(parts[c], data.schema.field(c).type) for c in columns}


def scan_checks(
    stage: Stage, data: Dataset, columns: list[str], spec: ScanSpec, seed: int
) -> list[CheckResult]:
    """One check per scanned column: passed when nothing was found in it."""
    columns = [c for c in columns if c not in set(spec.ignore)]
    found: dict[str, list[Finding]] = {}
    for finding in scan_dataset(data, columns, spec, seed):
        found.setdefault(finding.column, []).append(finding)
    warn = stage == "input" and spec.undeclared == "warn"
    reason = "undeclared_identifier" if stage == "input" else "identifier_found"
    out = []
    for column in columns:
        hits = found.get(column, [])
        what = "; ".join(
            f"{f.kind} in {f.matches} of {f.rows_checked} values (confidence {f.confidence:.2f})"
            for f in hits
        )
        if stage == "input":
            description = f"column {column} (not declared as an identifier) holds no identifiers"
        else:
            description = f"output column {column} holds no identifiers"
        description += f": found {what}" if hits else ""
        if hits and warn:
            description += " (scan.undeclared: warn)"
        out.append(
            table_result(
                stage, f"scan.{column}", reason, description, len(hits), "no identifier kind",
                not hits or warn, column,
            )
        )  # fmt: skip
    return out
