"""Benchmark: SUDA2 special uniques (``anonymize risk --suda2``) beside a floor and sdcMicro.

    python bench/bench_suda2.py [--sizes 1000000]

Data: sdcMicro's testdata (tests/data) with its 7 key columns redrawn independently to N rows
(many rare combinations, as ``bench_risk.py --suppression``), and the demo census generator's
N records over its 5 key variables (age, sex, municipality, occupation, household size; most
records are sample uniques). Printed per file, each as a whole process started afresh (best of
three):

* floor: read the key columns and count the key combinations (one group-by) with pyarrow, and
  with duckdb beside it when installed (``pip install -e ".[bench]"``);
* ``anonymize risk --suda2``: the risk figures plus SUDA2 (score, DIS-SUDA, contributions);
* the SUDA2 search alone, in process (the distinct combinations in, scores out);
* sdcMicro 5.8.1's ``suda2(missing = -999, DisFraction = 0.01)`` on the same CSV (``fread`` +
  suda2 as a whole ``Rscript`` process, and suda2 alone), when ``Rscript`` with sdcMicro is
  on the PATH (see ../shared/reference/peers.md); otherwise "-".
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_risk import KEYS, make, whole_process  # noqa: E402

HERE = Path(__file__).resolve().parent
CENSUS_KEYS = ["age", "sex", "municipality", "occupation", "household_size"]
FLOOR = """
import sys, pyarrow.csv as c
keys = sys.argv[2].split(",")
t = c.read_csv(sys.argv[1], convert_options=c.ConvertOptions(include_columns=keys))
print(t.group_by(keys).aggregate([([], "count_all")]).num_rows)
"""
DUCKDB_FLOOR = """
import sys, duckdb
keys = ", ".join(sys.argv[2].split(","))
print(duckdb.sql(f"SELECT count(*) FROM (SELECT {keys}, count(*) "
                 f"FROM read_csv('{sys.argv[1]}') GROUP BY ALL)").fetchall()[0][0])
"""
SDCMICRO = """
suppressMessages({library(sdcMicro); library(data.table)})
a <- commandArgs(TRUE)
d <- as.data.frame(fread(a[1], select = strsplit(a[2], ",")[[1]]))
for (v in names(d)) d[[v]] <- as.numeric(as.factor(d[[v]]))
t <- system.time(r <- suda2(d, variables = names(d), missing = -999, DisFraction = 0.01))
cat(t[["elapsed"]], sum(r$score > 0), "\\n")
"""


def census(rows: int) -> Path:
    """Write (once) the demo census generator's ``rows`` records (key columns only)."""
    target = HERE / "data" / f"census_keys_{rows}.csv"
    if not target.exists():
        from pipeline.demo.census import generate_census

        generate_census(rows, seed=20261122)[CENSUS_KEYS].to_csv(target, index=False)
    return target


def in_process(path: Path, keys: list[str]) -> tuple[float, int]:
    """Seconds of the SUDA2 search alone (the distinct combinations are given) and its uniques."""
    import pyarrow.csv as c

    from pipeline.core.groups import distinct_rows
    from pipeline.risk.encode import codes_from_arrow
    from pipeline.risk.suda2 import suda2

    table = c.read_csv(path, convert_options=c.ConvertOptions(include_columns=keys))
    codes, _ = codes_from_arrow(table.cast(table.schema), keys)
    first, inverse = distinct_rows(codes)
    counts = np.bincount(inverse, minlength=first.size)
    started = time.perf_counter()
    found = suda2(codes[first], counts)
    return time.perf_counter() - started, int(counts[found.score > 0].sum())


def sdcmicro(path: Path, keys: list[str]) -> str:
    """sdcMicro's whole process and suda2 alone, or "-" without R."""
    if shutil.which("Rscript") is None:
        return "- | - |"
    started = time.perf_counter()
    proc = subprocess.run(
        ["Rscript", "-e", SDCMICRO, str(path), ",".join(keys)], capture_output=True, text=True
    )
    whole = time.perf_counter() - started
    if proc.returncode:
        return "failed | failed |"
    alone, scored = proc.stdout.split()[-2:]
    return f"{whole:.2f} s | {float(alone):.2f} s ({scored} scored) |"


def bench(name: str, path: Path, keys: list[str]) -> None:
    joined = ",".join(keys)
    floor, _ = whole_process([sys.executable, "-c", FLOOR, str(path), joined])
    try:
        import duckdb  # noqa: F401

        duck = f"{whole_process([sys.executable, '-c', DUCKDB_FLOOR, str(path), joined])[0]:.2f} s"
    except ImportError:
        duck = "-"
    cli = [sys.executable, "-m", "pipeline", "risk", str(path), "--key-vars", joined, "--suda2"]
    ours, _ = whole_process(cli)
    search, scored = in_process(path, keys)
    print(
        f"| {name} | {floor:.2f} s (duckdb {duck}) | {ours:.2f} s | {search:.3f} s "
        f"({scored} scored) | {sdcmicro(path, keys)}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    args = parser.parse_args()
    print(
        "| file | floor: read + group-by (process) | anonymize risk --suda2 (process) | "
        "SUDA2 search alone | sdcMicro (process) | sdcMicro suda2 alone |"
    )
    print("|---|---|---|---|---|---|")
    for rows in args.sizes:
        bench(f"testdata redrawn, {rows:,} rows, 7 keys", make(rows, redrawn=True), KEYS)
        bench(f"census, {rows:,} rows, 5 keys", census(rows), CENSUS_KEYS)


if __name__ == "__main__":
    main()
