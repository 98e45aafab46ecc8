"""Benchmark: optimal generalization (``generalize``) of adult-like files beside a floor and ARX.

    python bench/bench_generalize.py --sizes 1000000 10000000 [--verify]

Data: ARX's adult data set (30,162 records, ../shared/data/adult, read only when this is run by
hand) resampled with replacement (seeded) to N rows, written as 20 Parquet files under
bench/data/adult_N/ (generated once). The recipe generalizes its 6 quasi-identifiers (sex, age,
race, marital-status, education, native-country) with ARX's hierarchies, k = 5 and at most 5%
of the records suppressed, metric precision - ARX's Flash benchmark setting.

For each size, in the same run:

* floor: read the six key columns and the sensitive one from the same Parquet files as one
  table, one group-by of the six keys, write the columns as one Parquet file (pyarrow, whole
  table), and the same in duckdb when installed (``pip install -e ".[bench]"``);
* process: the pyarrow floor as a whole Python process (start, imports, read, group-by,
  write), the fixed cost any Python tool pays, beside the whole ``anonymize`` process;
* anonymize: ``anonymize run`` of the recipe as a whole process (read, measure and gate the
  input, the lattice search, generalize and suppress, write, measure and gate the output).

Printed beside ARX 3.9 (Flash, same setting, this machine class, from
../shared/reference/peers.md): 0.58 s at 30k rows, 26.4 s / 1.1 GB at 1M, 105 s / 2.7 GB at 3M.
``--verify`` also evaluates every node of the lattice on the original 30k records and checks
the search's node is the true optimum under each of the four metrics.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from bench.bench_scale import measured  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "adult"
KEYS = ["sex", "age", "race", "marital-status", "education", "native-country"]
COLUMNS = [*KEYS, "salary-class"]
ARX = {30_162: (0.58, None), 1_000_000: (26.4, 1.1), 3_000_000: (105.0, 2.7)}


def adult() -> pa.Table:
    """ARX's adult data set (every column read as text)."""
    header = (SHARED / "adult.csv").read_text(encoding="utf-8").splitlines()[0].split(";")
    options = pacsv.ConvertOptions(column_types={c: pa.string() for c in header})
    return pacsv.read_csv(
        SHARED / "adult.csv",
        parse_options=pacsv.ParseOptions(delimiter=";"),
        convert_options=options,
    )


def make_data(rows: int) -> Path:
    """``rows`` adult-like records (seeded), as 20 Parquet files.

    Records are drawn with replacement from adult; unless ``rows`` is adult's own size, each
    drawn age moves by -3..+3 years (kept within 17..90) and 5% of the native countries are
    redrawn from adult's, so the key combinations keep growing with the file (plain
    resampling would repeat each record ~33 times at 1M rows and make every class large
    enough at the bottom of the lattice).
    """
    folder = HERE / "data" / f"adult_{rows}"
    if (folder / "_SUCCESS").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    source = adult()
    rng = np.random.default_rng(rows)
    per = -(-rows // 20)
    for i in range(20):
        take = rng.integers(0, source.num_rows, min(per, rows - i * per))
        part = source.take(pa.array(take))
        if rows != source.num_rows:
            part = _jittered(part, source, rng)
        pq.write_table(part, folder / f"part-{i:05d}.parquet")
    (folder / "_SUCCESS").write_text("")
    return folder


def _jittered(part: pa.Table, source: pa.Table, rng: np.random.Generator) -> pa.Table:
    ages = np.asarray(part.column("age").to_pylist(), dtype=np.int64)
    ages = np.clip(ages + rng.integers(-3, 4, ages.size), 17, 90)
    part = part.set_column(part.schema.get_field_index("age"), "age", pa.array(ages.astype(str)))
    countries = np.asarray(part.column("native-country").to_pylist(), dtype=object)
    redraw = rng.random(countries.size) < 0.05
    pool = np.asarray(source.column("native-country").to_pylist(), dtype=object)
    countries[redraw] = pool[rng.integers(0, pool.size, int(redraw.sum()))]
    index = part.schema.get_field_index("native-country")
    return part.set_column(index, "native-country", pa.array(countries.tolist(), pa.string()))


def recipe(metric: str = "precision", k: int = 5, share: float = 0.05) -> Path:
    """The benchmark recipe and ARX's hierarchies under bench/data/adult_recipe/."""
    folder = HERE / "data" / "adult_recipe"
    (folder / "hierarchies").mkdir(parents=True, exist_ok=True)
    for key in KEYS:
        name = f"adult_hierarchy_{key}.csv"
        shutil.copy(SHARED / name, folder / "hierarchies" / name)
    hierarchies = "".join(
        f"        {k}: {{hierarchy: hierarchies/adult_hierarchy_{k}.csv}}\n" for k in KEYS
    )
    path = folder / f"adult_{metric}_{k}_{share:g}.yaml"
    path.write_text(
        "version: 1\nname: adult_generalize\n"
        "input: {path: bench/data/adult_30162, format: parquet}\n"
        "output: {dir: bench/data/out/adult, format: parquet}\nseed: 5\n"
        f"columns:\n  key_variables: [{', '.join(KEYS)}]\n  sensitive: [salary-class]\n"
        f"risk: {{k: {k}, missing: category}}\n"
        f"steps:\n  - generalize:\n      k: {k}\n      max_suppression: {share}\n"
        f"      metric: {metric}\n      hierarchies:\n{hierarchies}",
        encoding="utf-8",
    )
    return path


def floor(folder: Path, out: Path) -> float:
    """Read the columns as one table, group by the six keys, write one Parquet file."""
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    table = ds.dataset(folder, format="parquet").to_table(columns=COLUMNS)
    sizes = table.select(KEYS).group_by(KEYS).aggregate([([], "count_all")])
    pq.write_table(table, out / "floor.parquet")
    assert sizes.num_rows > 0
    return time.perf_counter() - start


def process_floor(folder: Path, out: Path) -> float:
    """The floor as a whole Python process (start, import pyarrow, read, group-by, write).

    Beside a whole ``anonymize`` process, this is the fixed cost any Python tool pays too.
    """
    script = (
        "import sys, pyarrow.dataset as ds, pyarrow.parquet as pq\n"
        f"keys, cols = {KEYS!r}, {COLUMNS!r}\n"
        "table = ds.dataset(sys.argv[1], format='parquet').to_table(columns=cols)\n"
        "assert table.select(keys).group_by(keys).aggregate([([], 'count_all')]).num_rows\n"
        "pq.write_table(table, sys.argv[2])\n"
    )
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", script, str(folder), str(out / "process.parquet")], check=True
    )
    return time.perf_counter() - start


def duckdb_floor(folder: Path, out: Path) -> float | None:
    """The same in duckdb (None without it)."""
    try:
        import duckdb
    except ImportError:
        return None
    files, cols = str(folder / "*.parquet"), ", ".join(f'"{c}"' for c in COLUMNS)
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT {cols} FROM read_parquet('{files}')) TO "
        f"'{out / 'duckdb.parquet'}' (FORMAT parquet)"
    )
    keys = ", ".join(f'"{c}"' for c in KEYS)
    con.execute(
        f"SELECT count(*) FROM (SELECT {keys}, count(*) FROM read_parquet('{files}') GROUP BY ALL)"
    ).fetchone()
    con.close()
    return time.perf_counter() - start


def verify() -> None:
    """On the original records: the search's node is the optimum of an exhaustive evaluation."""
    from pipeline.recipe.loader import load_recipe
    from pipeline.reductions import KeyCombinations  # noqa: F401 - imports the steps
    from pipeline.risk.encode import codes_from_pandas
    from pipeline.risk.lattice import METRICS, search
    from pipeline.risk.privacy import Model
    from pipeline.steps.levels import ladders_of
    from pipeline.steps.registry import StepContext

    frame = adult().to_pandas()
    table = frame.groupby(KEYS, dropna=False).size().reset_index(name="n")
    codes = codes_from_pandas(table, KEYS)
    found = KeyCombinations(
        table[KEYS], codes, table["n"].to_numpy(float), table["n"].to_numpy(float)
    )
    for metric in METRICS:
        loaded = load_recipe(recipe(metric))
        params = loaded.steps[0].params
        ctx = StepContext(
            seed=1,
            index=0,
            name="generalize",
            columns=loaded.recipe.columns,
            base_dir=loaded.base_dir,
            location="",
        )
        ladders = ladders_of(found, KEYS, params.hierarchies, ctx)[0]
        model = Model(k=5, max_suppressed=float(int(0.05 * len(frame))))
        start = time.perf_counter()
        fast = search(codes, found.counts, ladders, model, metric)
        seconds = time.perf_counter() - start
        full = search(codes, found.counts, ladders, model, metric, prune=False)
        truth = min(
            (n for n in full.nodes if n.feasible),
            key=lambda n: (float(f"{n.loss:.12g}"), sum(n.levels), n.levels),
        )
        ok = "optimum verified" if fast.best.levels == truth.levels else "NOT the optimum"
        print(
            f"  adult 30,162 rows, {metric:>14}: node {fast.best.levels} loss "
            f"{fast.best.loss:.6g}, {fast.evaluated}/{fast.lattice} nodes evaluated in "
            f"{seconds:.2f} s; exhaustive: {truth.levels} -> {ok}",
            flush=True,
        )


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--verify", action="store_true")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--max-suppression", type=float, default=0.05)
    args = parser.parse_args()
    if args.verify:
        verify()
    path = recipe("precision", args.k, args.max_suppression)
    print(f"k = {args.k}, max_suppression = {args.max_suppression:g}, metric precision")
    print(
        f"{'rows':>11} {'floor s':>8} {'duckdb s':>9} {'process s':>10} {'anonymize s':>12} "
        f"{'x floor':>8} {'x process':>10} {'peak RSS MB':>12} {'ARX s':>7} {'ARX GB':>7} "
        f"{'x ARX':>6}  chosen node"
    )
    for rows in args.sizes:
        folder = make_data(rows)
        out = HERE / "data" / "out" / f"adult_{rows}"
        floor_s = floor(folder, out / "floor")
        duck = duckdb_floor(folder, out / "floor")
        process_s = process_floor(folder, out / "floor")
        cmd = [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            str(path),
            "-q",
            "--input",
            str(folder),
            "--output",
            str(out / "run"),
        ]
        run_s, peak, code = measured(cmd)
        node = "-"
        if code == 0:
            facts = json.loads((out / "run" / "manifest.json").read_text())["steps"][-1]["facts"]
            node = f"{facts['levels']} ({facts['nodes_evaluated']}/{facts['lattice_size']} nodes)"
        arx_s, arx_gb = ARX.get(rows, (None, None)) if args.k == 5 else (None, None)
        print(
            f"{rows:>11,} {floor_s:>8.2f} {duck or 0:>9.2f} {process_s:>10.2f} {run_s:>12.2f} "
            f"{run_s / floor_s:>8.2f} {run_s / process_s:>10.2f} {peak:>12.0f} "
            f"{arx_s or '-':>7} {arx_gb or '-':>7} "
            f"{(f'{run_s / arx_s:.2f}' if arx_s else '-'):>6}  {node}",
            flush=True,
        )


if __name__ == "__main__":
    main()
