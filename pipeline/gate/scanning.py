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


def scan_dataset(data: Dataset, columns: list[str], spec: ScanSpec, seed: int) -> list[Finding]:
    """Findings in ``columns`` of ``data`` (a seeded sample of ``spec.sample`` rows).

    The sample is taken file by file, so memory holds the sampled values of one column, not
    the column.
    """
    rows = data.rows()
    picked = None
    if spec.sample is not None and rows > spec.sample:
        rng = np.random.default_rng(seed)
        picked = np.sort(rng.choice(rows, spec.sample, replace=False))
    sizes = [data.file_rows(f) for f in data.files] if picked is not None else []
    starts = np.cumsum([0, *sizes])
    found: list[Finding] = []
    for column in columns:
        if picked is None:
            values = data.table([column]).column(column)
        else:
            parts = []
            for i, file in enumerate(data.files):
                lo, hi = np.searchsorted(picked, starts[i : i + 2])
                if hi > lo:
                    local = pa.array(picked[lo:hi] - starts[i])
                    parts.append(data.table([column], [file]).column(column).take(local))
            values = pa.chunked_array(parts, data.schema.field(column).type)
        found += scan_array(column, values, spec.min_confidence)
    return found


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
