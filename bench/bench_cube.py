"""Tables of three dimensions: the hypercube method beside one program over the cube.

    python bench/bench_cube.py [--program-cells 4] [--limit 60]

Data: the demo's bundled census sample (``examples/census_sample.csv``). Table: total income
by regional block x sex x occupation (major group), households as units, the demo's rules and
the p% rule (p = 10): a cube of a few hundred cells with about a hundred primary cells.
Printed: the cube's cells and primary cells; the hypercube method (``pipeline.tabulate.cube``)
for all of them - cells hidden, seconds, the narrowest interval over the cube as a share of
the required one; and the mixed-integer program of 2-D tables over the same cube for the first
``--program-cells`` primary cells only, with its time limit. The protection has no floor of an
engine: duckdb and pyarrow compute tables but do not protect them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd

from pipeline.engine.apply import PendingChecks
from pipeline.tabulate.compute import assemble_cells, plan_cells, prepare
from pipeline.tabulate.model import Rules, TableSpec
from pipeline.tabulate.protect import judge, own_pattern
from pipeline.tabulate.secondary import intervals, protect

REPO = Path(__file__).resolve().parents[1]
SPEC = {
    "name": "income_cube",
    "rows": {"column": "municipality", "recode": {"hierarchy": "jp_region", "level": "region"}},
    "columns": {"column": "sex"},
    "layers": {
        "column": "occupation",
        "recode": {"hierarchy": "hierarchies/occupation.csv", "level": 1},
    },
    "statistic": "sum",
    "variable": "income",
    "unit": "household_id",
}
RULES = {"threshold": 10, "p_percent": {"p": 10}, "min_interval_share": 0.3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--program-cells", type=int, default=4)
    parser.add_argument("--limit", type=float, default=60.0)
    args = parser.parse_args()
    spec = TableSpec.model_validate(SPEC, context={"base_dir": str(REPO / "recipes")})
    rules = Rules.model_validate(RULES)
    frame = pd.read_csv(REPO / "examples" / "census_sample.csv", dtype=str)
    frame["income"] = frame["income"].astype(float)
    with PendingChecks() as checks:
        prepared = prepare(dd.from_pandas(frame, npartitions=2), spec, REPO / "recipes", checks)
        (found,) = checks.settle(plan_cells(prepared, spec))
    judged = judge(assemble_cells(found, spec), spec, rules)
    lay, primary = judged.lay, judged.primary
    places = [int(lay.position[i]) for i in primary]
    print(f"cube {lay.shape}: {len(lay.table.values)} cells, {len(primary)} primary cells")
    started = time.perf_counter()
    hidden = own_pattern(judged)
    boxes_s = time.perf_counter() - started
    bounds = intervals(lay.table, hidden, places)
    shares = [  # cells of value 0 need no width
        (bounds[p][1] - bounds[p][0]) / (judged.up[i] + judged.down[i])
        for i, p in zip(primary, places, strict=True)
        if judged.up[i] + judged.down[i] > 0
    ]
    print(
        f"hypercube, all {len(primary)}: {int(hidden.sum())} hidden "
        f"({int(hidden.sum()) - len(primary)} secondary), {boxes_s:.2f} s, "
        f"narrowest interval {min(shares):.2f} of the required width"
    )
    k = args.program_cells
    started = time.perf_counter()
    some = protect(
        lay.table,
        places[:k],
        [float(judged.up[i] + judged.down[i]) for i in primary[:k]],
        cost=np.abs(lay.table.values) + 1.0,
        levels=[(float(judged.up[i]), float(judged.down[i])) for i in primary[:k]],
        reach=lay.reach,
        time_limit=args.limit,
        gap=0.05,
    )
    print(
        f"program, first {k}: {int(some.sum())} hidden, {time.perf_counter() - started:.1f} s "
        f"(limit {args.limit:g} s, 5% gap)"
    )


if __name__ == "__main__":
    main()
