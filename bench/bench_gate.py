"""Benchmark: the data-quality gate on 1M rows x 10 columns, beside GX alone and a read floor.

    python bench/bench_gate.py [--rows 1000000]

Prints, for the same Parquet files (4 files, as a run publishes them):

* floor: a bare pyarrow read of the files;
* GX alone: one Great Expectations validation of 6 expectations on the whole pandas frame
  (after its import, which is timed apart), with the nullable dtypes the Parquet metadata
  restores and with the numpy dtypes the gate hands GX;
* gate, 6 checks: the gate's output stage with the same 6 row checks (GX on each column's
  distinct values where they are few, table by table where they are not);
* gate, demo contract: the output stage with the demo's output contract (about 20 checks, with
  whole-file uniqueness and type checks).

In a run the row checks are fed the tables the engine reads or writes anyway (no read of their
own); ``bench_stages.py`` shows the whole run stage by stage.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))


def make_output(rows: int) -> Path:
    """Ten anonymized-looking columns in four Parquet files under bench/data/."""
    target = HERE / "data" / f"gate_{rows}"
    if target.exists():
        return target
    target.mkdir(parents=True)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "household_id": [f"{x:024x}" for x in rng.integers(0, 2**62, rows)],
            "age": pd.array(rng.choice(np.arange(0, 95, 5), rows), dtype="Int64"),
            "sex": pd.array(rng.choice(["1", "2"], rows), dtype="string"),
            "municipality": pd.array(
                rng.choice([f"{i:02d}" for i in range(1, 48)], rows), dtype="string"
            ),
            "occupation": pd.array(rng.choice(list("ABCDEFGHIJKL"), rows), dtype="string"),
            "household_size": pd.array(rng.integers(1, 9, rows), dtype="Int64"),
            "income": pd.array(rng.integers(0, 17_000_000, rows), dtype="Int64"),
            "weight": rng.uniform(1000, 4000, rows),
            "education": pd.array(rng.choice(["1", "2", "3", "4"], rows), dtype="string"),
            "employment": pd.array(rng.choice(["E", "U", "N"], rows), dtype="string"),
        }
    )
    for i in range(4):
        part = frame.iloc[i * rows // 4 : (i + 1) * rows // 4]
        table = pa.Table.from_pandas(part, preserve_index=False)
        pq.write_table(table, target / f"part-{i:05d}.parquet", compression="zstd")
    return target


def six_checks() -> list:
    """The 6 row checks used for both GX alone and the gate."""
    from pipeline.gate.checks import RowCheck, cap_check, value_set_check

    prefs = [f"{i:02d}" for i in range(1, 48)]
    return [
        cap_check("age", 90, upper=True),
        cap_check("income", 17_000_000, upper=True),
        cap_check("household_size", 8, upper=True),
        value_set_check("municipality", prefs, "prefecture"),
        value_set_check("occupation", list("ABCDEFGHIJKL"), "occupation level 1"),
        RowCheck(
            id="weight",
            reason="null_values",
            column="weight",
            description="weight present",
            expectations=(("ExpectColumnValuesToNotBeNull", {"column": "weight"}),),
        ),
    ]


def main() -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = make_output(args.rows)

    start = time.perf_counter()
    from pipeline.gate import gx_worker

    gx_worker._batch_definition()  # GX in this process: its import and context, timed
    import_s = time.perf_counter() - start

    from pipeline.contracts.odcs import load_contract
    from pipeline.gate.contracts import row_checks, table_checks
    from pipeline.gate.judge import run_stage
    from pipeline.io.dataset import Dataset

    start = time.perf_counter()
    table = pq.read_table(sorted(folder.glob("*.parquet")))
    floor_s = time.perf_counter() - start

    import great_expectations as gx
    import great_expectations.expectations as gxe

    from pipeline.gate.gx_worker import gx_frame

    exps = [getattr(gxe, n)(**kw) for c in six_checks() for n, kw in c.expectations]
    gx_times = []
    for frame in (table.to_pandas(), gx_frame(table)):  # nullable Int64 (pandas metadata), numpy
        start = time.perf_counter()
        batch = gx_worker._batch_definition().get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(name="bench", expectations=exps)
        batch.validate(suite, result_format={"result_format": "BASIC"})
        gx_times.append(time.perf_counter() - start)

    data = Dataset.parquet(folder)
    start = time.perf_counter()
    result = run_stage("output", data, six_checks(), [])
    gate6_s = time.perf_counter() - start
    assert result.passed, [c for c in result.failures]

    contract = load_contract(REPO / "data_contracts" / "census_output.odcs.yaml")
    start = time.perf_counter()
    full = run_stage(
        "output",
        data,
        row_checks(contract, data.schema),
        table_checks(contract, data, "output", set()),
    )
    contract_s = time.perf_counter() - start

    print(f"rows {args.rows:,} x 10 columns, 4 Parquet files; GX import {import_s:.2f} s")
    print(f"{'what':<34} {'checks':>6} {'seconds':>8} {'x floor':>8}")
    rows = [
        ("floor: pyarrow read", 0, floor_s),
        ("GX alone, whole frame, Int64", 6, gx_times[0]),
        ("GX alone, whole frame, numpy", 6, gx_times[1]),
        ("gate, 6 checks", 6, gate6_s),
        ("gate, demo output contract", len(full.checks), contract_s),
    ]
    for name, n, secs in rows:
        print(f"{name:<34} {n:>6} {secs:>8.2f} {secs / floor_s:>8.1f}")


if __name__ == "__main__":
    main()
