"""Benchmark: ``anonymize risk`` and local suppression beside a bare pyarrow floor.

    python bench/bench_risk.py [--sizes 1000000 5000000] [--suppression 100000 1000000]

Data: sdcMicro's testdata (tests/data) resampled with replacement to N rows (risk), and a
"redrawn" file where each key column is drawn independently (many rare combinations) for local
suppression. The floor reads the same CSV with pyarrow and counts class sizes with one
group-by over the same key columns, as a whole process like ``anonymize risk``; the same in
duckdb (``pip install -e ".[bench]"``), also as a whole process, is printed beside it.
Reference (sdcMicro 5.8.1, this machine class): measure_risk 1M rows 2.3 s, 5M 13.1 s; a whole
R process (start, read.csv, measure_risk) on 1M rows ~7.4 s; kAnon k=3 on the redrawn 1M file
25.7 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KEYS = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]
FLOOR = """
import sys, pyarrow as pa, pyarrow.csv as c
keys = sys.argv[2].split(",")
t = c.read_csv(sys.argv[1], convert_options=c.ConvertOptions(
    include_columns=keys + ["sampling_weight"]))
print(t.group_by(keys).aggregate([([], "count_all")]).num_rows)
"""
DUCKDB_FLOOR = """
import sys, duckdb
keys = ", ".join(sys.argv[2].split(","))
print(duckdb.sql(f"SELECT count(*) FROM (SELECT {keys}, count(*) "
                 f"FROM read_csv('{sys.argv[1]}') GROUP BY ALL)").fetchall()[0][0])
"""


def make(rows: int, redrawn: bool) -> Path:
    """Write (once) the resampled or redrawn testdata file of ``rows`` rows."""
    name = f"testdata_{'redrawn' if redrawn else 'resampled'}_{rows}.csv"
    target = HERE / "data" / name
    if target.exists():
        return target
    target.parent.mkdir(exist_ok=True)
    base = pd.read_csv(REPO / "tests" / "data" / "sdcmicro_testdata.csv")
    rng = np.random.default_rng(20261122)
    out = base.iloc[rng.integers(0, len(base), rows)].reset_index(drop=True)
    if redrawn:
        for key in KEYS:
            out[key] = base[key].to_numpy()[rng.integers(0, len(base), rows)]
    out.to_csv(target, index=False)
    return target


def whole_process(cmd: list[str], repeat: int = 3) -> tuple[float, str]:
    """Best wall time of ``repeat`` runs of a command, and its last stdout."""
    best, out = float("inf"), ""
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
        best = min(best, time.perf_counter() - start)
        out = proc.stdout
    return best, out


def bench_risk(rows: int) -> None:
    """Whole-process ``anonymize risk`` vs the pyarrow floor."""
    path = make(rows, redrawn=False)
    floor, classes = whole_process([sys.executable, "-c", FLOOR, str(path), ",".join(KEYS)])
    try:
        import duckdb  # noqa: F401 - only whether it is installed
    except ImportError:
        duck = None
    else:
        duck = whole_process([sys.executable, "-c", DUCKDB_FLOOR, str(path), ",".join(KEYS)])[0]
    ours, out = whole_process(
        [
            sys.executable,
            "-m",
            "pipeline",
            "risk",
            str(path),
            "--key-vars",
            ",".join(KEYS),
            "--weight",
            "sampling_weight",
            "--k",
            "3",
            "--format",
            "json",
        ]
    )
    summary = json.loads(out)
    print(
        f"risk        {rows:>9,} rows  floor {floor:6.2f} s  anonymize risk {ours:6.2f} s  "
        f"ratio {ours / floor:4.2f}  classes {classes.strip()}/{summary['classes']}  "
        f"k_violations {summary['k_violations']}"
        + (f"  duckdb floor {duck:6.2f} s  ratio {ours / duck:4.2f}" if duck else "")
    )


def bench_suppression(rows: int) -> None:
    """In-process local suppression (k=3) on redrawn keys vs a pyarrow group-by floor."""
    import pyarrow.csv as pacsv

    from pipeline.risk.encode import codes_from_arrow
    from pipeline.risk.measures import measure_risk
    from pipeline.risk.suppression import suppress

    path = make(rows, redrawn=True)
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(include_columns=KEYS))
    start = time.perf_counter()
    table.group_by(KEYS).aggregate([([], "count_all")])
    floor = time.perf_counter() - start
    codes, cards = codes_from_arrow(table, KEYS)
    order = sorted(range(len(KEYS)), key=lambda j: (-cards[j], j))
    start = time.perf_counter()
    result = suppress(codes, 3, order)
    ours = time.perf_counter() - start
    assert measure_risk(result.codes, 3).summary["k_violations"] == 0
    print(
        f"suppression {rows:>9,} rows  floor {floor:6.2f} s  local_suppression {ours:6.2f} s  "
        f"suppressed {int(result.suppressed.sum()):,} values in {result.rounds} rounds  "
        f"(sdcMicro kAnon 1M: 25.7 s)"
    )


def main() -> None:
    """Run the benchmarks named on the command line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 5_000_000])
    parser.add_argument("--suppression", type=int, nargs="*", default=[100_000, 1_000_000])
    args = parser.parse_args()
    for rows in args.sizes:
        bench_risk(rows)
    for rows in args.suppression:
        bench_suppression(rows)


if __name__ == "__main__":
    main()
