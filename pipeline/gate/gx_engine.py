"""Great Expectations as the row-level validation engine, one pandas batch at a time.

GX has no dask engine, so the gate hands it each partition (or file, or slice of a large file)
as a pandas batch and adds the unexpected counts up. The context is ephemeral (nothing on disk),
analytics and progress bars are off, and results are asked for without example values
(``partial_unexpected_count: 0``): only counts leave this module, never a data value.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from functools import cache
from typing import Any

import pandas as pd

from pipeline.gate.checks import RowCheck, Stage
from pipeline.gate.model import CheckResult

_RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}
_LOCK = threading.Lock()


@cache
def _batch_definition() -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch it loads (a full-frame hash, twice per validation) only
    # to label it; measured, that was 95% of the gate's time on 1M rows. Frames larger than
    # HASH_THRESHOLD bytes are never fingerprinted, so with 0 none is. Nothing here reads it.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("anonymize_gate")
    asset = source.add_dataframe_asset("batch")
    return asset.add_batch_definition_whole_dataframe("whole")


def engine_version() -> str:
    """The installed Great Expectations version."""
    import great_expectations as gx

    return str(gx.__version__)


def validate_batches(
    batches: Iterable[pd.DataFrame], checks: list[RowCheck], stage: Stage
) -> tuple[list[CheckResult], int, int]:
    """Run ``checks`` on every batch and combine their counts.

    Returns:
        The results (one per check, in order), the number of batches and of rows.

    """
    import great_expectations.expectations as gxe

    flat = [(i, name, kwargs) for i, c in enumerate(checks) for name, kwargs in c.expectations]
    totals = [0] * len(checks)
    broken: set[int] = set()
    n_batches = rows = 0
    with _LOCK:  # one GX context per process; batches are validated one after the other
        definition = _batch_definition()
        suite = _suite(
            [
                getattr(gxe, name)(**kwargs, meta={"k": k})
                for k, (_, name, kwargs) in enumerate(flat)
            ]
        )
        for frame in batches:
            n_batches += 1
            rows += len(frame)
            if not flat or frame.empty:
                continue
            batch = definition.get_batch(batch_parameters={"dataframe": frame})
            outcome = batch.validate(suite, result_format=_RESULT_FORMAT)
            for result in outcome.results:
                i = flat[int(result.expectation_config.meta["k"])][0]
                count = (result.result or {}).get("unexpected_count")
                if count is None:  # the expectation raised: fail closed, never guess
                    broken.add(i)
                    continue
                totals[i] += int(count)
    out = []
    for i, check in enumerate(checks):
        result = check.result(stage, totals[i], rows)
        if i in broken:
            result = result.model_copy(
                update={
                    "passed": False,
                    "reason": "check_error",
                    "observed": None,
                    "description": f"{check.description} (the check could not run on this "
                    "column's type)",
                }
            )
        out.append(result)
    return out, n_batches, rows


def _suite(expectations: list[Any]) -> Any:
    import great_expectations as gx

    return gx.ExpectationSuite(name="anonymize_gate", expectations=expectations)
