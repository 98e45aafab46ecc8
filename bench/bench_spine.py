"""Benchmark: the demo recipe as a whole process vs a bare pyarrow floor over the same rows.

    python bench/bench_spine.py --rows 1000000 [--format csv|parquet]

The floor reads the same file with pyarrow, counts the class sizes over the five key columns
(one group-by) and writes Parquet: the least any anonymizer must do. Prints seconds, the ratio
and the peak RSS of the process tree (Linux, via /usr/bin/time when present).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KEYS = ["age", "sex", "municipality", "occupation", "household_size"]


def make_data(rows: int, fmt: str) -> Path:
    """Generate (once) a census file of ``rows`` records under bench/data/."""
    from pipeline.demo.census import generate_census

    target = HERE / "data" / f"census_{rows}.{fmt}"
    if not target.exists():
        target.parent.mkdir(exist_ok=True)
        frame = generate_census(rows, seed=1)
        if fmt == "csv":
            frame.to_csv(target, index=False)
        else:
            frame.to_parquet(target, index=False)
    return target


def floor(path: Path, out: Path) -> float:
    """Read + one class-size group-by over the key columns + write Parquet, with pyarrow."""
    start = time.perf_counter()
    if path.suffix == ".csv":
        types = {c: pa.string() for c in ("municipality", "occupation", "sex")}
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
    else:
        table = pq.read_table(path)
    sizes = table.group_by(KEYS).aggregate([([], "count_all")])
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / "floor.parquet")
    assert sizes.num_rows > 0
    return time.perf_counter() - start


def timed(cmd: list[str]) -> tuple[float, str]:
    """Run a command; return wall seconds and its peak RSS as reported by GNU time."""
    gnu_time = Path("/usr/bin/time")
    full = [str(gnu_time), "-f", "%M"] + cmd if gnu_time.exists() else cmd
    start = time.perf_counter()
    proc = subprocess.run(full, cwd=REPO, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    rss = f"{int(proc.stderr.strip().splitlines()[-1]) / 1024:.0f} MB" if gnu_time.exists() else "?"
    return seconds, rss


def main() -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = parser.parse_args()
    data = make_data(args.rows, args.format)
    out = HERE / "data" / "out"
    floor_s = floor(data, out / "floor")
    run_s, rss = timed(
        [
            sys.executable,
            "-m",
            "pipeline.cli.app",
            "run",
            "recipes/census_demo.yaml",
            "-q",
            "--input",
            str(data),
            "--output",
            str(out / "run"),
        ]
    )
    print(
        f"{'rows':>10} {'format':>8} {'floor s':>8} {'anonymize s':>12} {'ratio':>6} "
        f"{'peak RSS':>9}"
    )
    print(
        f"{args.rows:>10} {args.format:>8} {floor_s:>8.2f} {run_s:>12.2f} "
        f"{run_s / floor_s:>6.2f} {rss:>9}"
    )


if __name__ == "__main__":
    main()
