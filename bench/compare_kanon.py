"""Local suppression side by side with sdcMicro's ``kAnon`` on 10 public cases x k=2,3,5.

    python bench/compare_kanon.py [--data ../shared/data] [--cases testdata,casc] [--k 2 3 5]
                                  [--no-r] [--shuffle SEED]

For each case and k: the values the shipped ``local_suppression`` step sets missing, as a run
applies it (the key columns read as text, as a run reads a CSV, in 3 partitions; the key table
computed as the engine does, then the step with its default importance; missing values matching
any value, sdcMicro's convention), whether k holds in the released frame (checked with
``pipeline.risk.frequencies``),
and sdcMicro 5.8.1's ``kAnon(x[, keys], k = k, keyVars = ...)`` new suppressions
(``sum(r$supps)``), with the seconds each took (ours: the key table and the step, in process;
sdcMicro's inside R, without starting R and reading the file). ``--shuffle SEED`` shuffles the
records and the order of the key variables before our step: its figures must not move (the
step breaks ties on names and sorted values, never on positions). sdcMicro runs through
``Rscript`` when it and the package are installed (on the file as it is, keys as listed), else
the figures measured with it before are shown where stored (marked ``*``; ``n/a`` elsewhere).
Character key columns are given to R as factors (kAnon needs numeric codes). sdcMicro breaks
ties of its default importance on the keys' positions, ours on their names: the line says so
when the two importance vectors differ.

Cases (files under ``--data``, the public data sets of ../shared/data; read only when this
script is run by hand, never by the tests):

==============  =====================  ============================================================
case            file                   key variables
==============  =====================  ============================================================
testdata        sdcmicro/testdata      urbrur, roof, walls, water, electcon, relat, sex (sdcMicro's)
testdata_demo   sdcmicro/testdata      sex, age, relat, hhcivil (age: 89 categories)
testdata_na     sdcmicro/testdata_na   the 7 testdata keys; water and relat with missing values
testdata2       sdcmicro/testdata2     the 7 testdata keys (93 records)
free1           sdcmicro/free1         REGION, SEX, AGE (sdcMicro's example keys)
free1_wide      sdcmicro/free1         REGION, SEX, AGE, MARSTAT, EDUC1
francdat        sdcmicro/francdat      Key1, Key2, Key3, Key4 (8 records)
casc            sdcmicro/CASCrefmicro  PEARNVAL, FICA, WSALVAL, ERNVAL (311-379 categories each)
adult_4         adult/adult            sex, age, race, marital-status
adult_8         adult/adult            sex, age, race, marital-status, education, native-country,
                                       workclass, occupation (ARX's quasi-identifiers)
==============  =====================  ============================================================
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from pipeline.core.columns import ROW  # noqa: E402
from pipeline.recipe.models import ColumnsSpec  # noqa: E402
from pipeline.reductions import compute_now  # noqa: E402
from pipeline.risk.encode import codes_from_pandas  # noqa: E402
from pipeline.risk.frequencies import frequencies  # noqa: E402
from pipeline.risk.suppression import default_order, importance_order  # noqa: E402
from pipeline.steps.registry import StepContext  # noqa: E402
from pipeline.steps.risk import LocalSuppressionParams, local_suppression  # noqa: E402

TESTDATA_KEYS = ("urbrur", "roof", "walls", "water", "electcon", "relat", "sex")
ADULT_4 = ("sex", "age", "race", "marital-status")


@dataclass(frozen=True)
class Case:
    """One public data set with a set of key variables."""

    name: str
    file: str  # under --data
    keys: tuple[str, ...]
    sep: str = ","


CASES = (
    Case("testdata", "sdcmicro/testdata.csv", TESTDATA_KEYS),
    Case("testdata_demo", "sdcmicro/testdata.csv", ("sex", "age", "relat", "hhcivil")),
    Case("testdata_na", "sdcmicro/testdata_na.csv", TESTDATA_KEYS),
    Case("testdata2", "sdcmicro/testdata2.csv", TESTDATA_KEYS),
    Case("free1", "sdcmicro/free1.csv", ("REGION", "SEX", "AGE")),
    Case("free1_wide", "sdcmicro/free1.csv", ("REGION", "SEX", "AGE", "MARSTAT", "EDUC1")),
    Case("francdat", "sdcmicro/francdat.csv", ("Key1", "Key2", "Key3", "Key4")),
    Case("casc", "sdcmicro/CASCrefmicrodata.csv", ("PEARNVAL", "FICA", "WSALVAL", "ERNVAL")),
    Case("adult_4", "adult/adult.csv", ADULT_4, ";"),
    Case(
        "adult_8",
        "adult/adult.csv",
        (*ADULT_4, "education", "native-country", "workclass", "occupation"),
        ";",
    ),
)

# sdcMicro 5.8.1's kAnon, measured with this script on the files as they are (README)
STORED_KANON = {
    ("testdata", 2): 157,
    ("testdata", 3): 293,
    ("testdata", 5): 500,
    ("francdat", 2): 4,
    ("casc", 2): 714,
    ("casc", 3): 853,
    ("casc", 5): 961,
}
PARTITIONS = 3

R_SCRIPT = """
suppressMessages(library(sdcMicro))
a <- commandArgs(TRUE)
x <- read.csv(a[1], sep = a[2], check.names = FALSE, stringsAsFactors = TRUE)
keys <- strsplit(a[3], ",")[[1]]
x <- x[, keys, drop = FALSE]
names(x) <- paste0("key", seq_along(keys))  # kAnon parses the names
for (k in as.integer(strsplit(a[4], ",")[[1]])) {
  t0 <- proc.time()[["elapsed"]]
  r <- kAnon(x, k = k, keyVars = seq_along(keys))
  t1 <- proc.time()[["elapsed"]]
  cat(k, sum(r$supps), t1 - t0, paste(r$importance, collapse = ","), "\\n")
}
"""


@dataclass(frozen=True)
class Ours:
    """Our figures for one case and k."""

    suppressed: int
    seconds: float
    k_holds: bool


def read_keys(path: Path, case: Case) -> pd.DataFrame:
    """The key columns as a run reads a CSV (text; empty and ``NA`` cells missing)."""
    frame = pd.read_csv(
        path,
        usecols=list(case.keys),
        dtype="string",
        sep=case.sep,
        na_values=["", "NA"],
        keep_default_na=False,
    )
    frame[ROW] = np.arange(len(frame), dtype="int64")
    return frame[[*case.keys, ROW]]


def shuffled(frame: pd.DataFrame, keys: list[str], seed: int) -> tuple[pd.DataFrame, list[str]]:
    """The records and the key variables in an order drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    order = [keys[j] for j in rng.permutation(len(keys))]
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True), order


def run_ours(frame: pd.DataFrame, keys: list[str], k: int) -> Ours:
    """The shipped step (default importance, missing = any), then k checked on its output."""
    ddf = dd.from_pandas(frame, npartitions=PARTITIONS, sort=False)
    columns = ColumnsSpec(key_variables=keys)
    ctx = StepContext(seed=1, index=0, name="local_suppression", columns=columns)
    params = LocalSuppressionParams(k=k, missing="any")
    with dask.config.set(scheduler="sync"):
        start = time.perf_counter()
        values = {name: compute_now(need, ddf) for name, need in params.needs(ctx).items()}
        effect = local_suppression(ddf, params, dataclasses.replace(ctx, values=values))
        seconds = time.perf_counter() - start
        out = effect.frame.compute().sort_values(ROW).reset_index(drop=True)
    before = codes_from_pandas(frame.sort_values(ROW).reset_index(drop=True), keys)
    after = codes_from_pandas(out, keys)
    holds = bool((frequencies(after, missing="any").fk >= k).all())
    newly = int(((after < 0) & (before >= 0)).sum())
    assert newly == int(effect.facts["suppressed_total"])
    return Ours(newly, seconds, holds)


def r_available() -> bool:
    """Whether Rscript and sdcMicro are installed."""
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(
        ["Rscript", "-e", "suppressMessages(library(sdcMicro))"], capture_output=True
    )
    return probe.returncode == 0


def run_kanon(path: Path, case: Case, ks: list[int]) -> dict[int, tuple[int, float, str]]:
    """sdcMicro's kAnon per k: (new suppressions, seconds inside R, its importance vector)."""
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as script:
        script.write(R_SCRIPT)
    try:
        args = [str(path), case.sep, ",".join(case.keys), ",".join(map(str, ks))]
        proc = subprocess.run(
            ["Rscript", script.name, *args], capture_output=True, text=True, check=True
        )
    finally:
        Path(script.name).unlink()
    out = {}
    for line in proc.stdout.splitlines():
        k, supps, seconds, importance = line.split()
        out[int(k)] = (int(float(supps)), float(seconds), importance)
    return out


def importance_vector(order: list[int]) -> str:
    """An order (least important first) as sdcMicro's importance vector (1 = most important)."""
    m = len(order)
    return ",".join(str(m - order.index(j)) for j in range(m))


def cards_of(frame: pd.DataFrame, keys: list[str]) -> list[int]:
    """Categories of each key variable (missing not counted)."""
    return [int(frame[key].nunique(dropna=True)) for key in keys]


def verdict(ours: int, theirs: int) -> str:
    """fewer / equal / more suppressions than kAnon."""
    return "fewer" if ours < theirs else "equal" if ours == theirs else "more"


def kanon_cell(case: Case, k: int, theirs: dict, cards: list[int]) -> tuple[str, int | None]:
    """kAnon's columns (run now, else stored and marked ``*``, else n/a) and its suppressions."""
    if k in theirs:
        supps, seconds, importance = theirs[k]
        cell = f"{supps:>6} {seconds:>6.2f}"
    elif (case.name, k) in STORED_KANON:
        supps, importance = STORED_KANON[case.name, k], importance_vector(default_order(cards))
        cell = f"{supps:>5}* {'n/a':>6}"
    else:
        return f"{'n/a':>6} {'n/a':>6}", None
    ours = importance_vector(importance_order(list(case.keys), cards))
    same = importance == ours
    return cell + "  {}" + ("" if same else f" (importance differs: sdcMicro {importance})"), supps


def main() -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--cases", default=",".join(c.name for c in CASES))
    parser.add_argument("--k", type=int, nargs="*", default=[2, 3, 5])
    parser.add_argument("--no-r", action="store_true", help="skip R (stored figures only)")
    parser.add_argument("--shuffle", type=int, help="shuffle records and key order (a seed)")
    args = parser.parse_args()
    wanted = args.cases.split(",")
    with_r = not args.no_r and r_available()
    head = f"{'case':<14} {'k':>2} {'ours':>6} {'s':>6} {'k ok':>5} {'kAnon':>6} {'s':>6}  verdict"
    print(head)
    print("-" * len(head))
    tally = {"fewer": 0, "equal": 0, "more": 0}
    for case in (c for c in CASES if c.name in wanted):
        path = args.data / case.file
        frame, keys = read_keys(path, case), list(case.keys)
        cards = cards_of(frame, keys)
        if args.shuffle is not None:
            frame, keys = shuffled(frame, keys, args.shuffle)
        theirs = run_kanon(path, case, args.k) if with_r else {}
        for k in args.k:
            ours = run_ours(frame, keys, k)
            line = f"{case.name:<14} {k:>2} {ours.suppressed:>6} {ours.seconds:>6.2f} "
            line += f"{'yes' if ours.k_holds else 'NO':>5} "
            cell, supps = kanon_cell(case, k, theirs, cards)
            if supps is not None:
                found = verdict(ours.suppressed, supps)
                tally[found] += 1
                cell = cell.format(found)
            print(line + cell, flush=True)
    if any(tally.values()):
        stored = "" if with_r else "  (* stored: sdcMicro 5.8.1, measured before)"
        print(
            f"\nours vs kAnon: fewer {tally['fewer']}, equal {tally['equal']}, "
            f"more {tally['more']}{stored}"
        )


if __name__ == "__main__":
    main()
