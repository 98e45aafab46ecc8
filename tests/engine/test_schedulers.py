"""The schedulers a run chooses from, and the dask settings every run has."""

from __future__ import annotations

from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pytest

from pipeline.engine.schedulers import use_scheduler


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_a_pass_over_few_columns_keeps_one_task_per_partition(
    tmp_path: Path, scheduler: str
) -> None:
    # dask's tune stage would read both files in one task when a pass needs one column of
    # twelve: the pass would run on one core
    frame = pd.DataFrame({f"c{i}": range(1000) for i in range(12)})
    for part in range(2):
        frame.iloc[part * 500 : (part + 1) * 500].to_parquet(tmp_path / f"part-{part}.parquet")
    files = sorted(str(p) for p in tmp_path.glob("*.parquet"))
    with use_scheduler(scheduler):
        pass_ = dd.read_parquet(files)[["c0"]].map_partitions(lambda part: part + 1)
        assert pass_.optimize().npartitions == 2
        assert pass_["c0"].sum().compute() == sum(range(1, 1001))
