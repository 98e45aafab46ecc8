"""Local suppression side by side with sdcMicro's ``kAnon`` on 10 public cases x k=2,3,5.

    python bench/compare_kanon.py [--data ../shared/data] [--cases testdata,casc] [--k 2 3 5]
                                  [--no-r]

For each case and k: the values our ``suppress`` sets missing (default importance of the
``local_suppression`` step, missing values matching any value, sdcMicro's convention), whether
k holds afterwards (checked with ``pipeline.risk.frequencies``), and sdcMicro 5.8.1's
``kAnon(x[, keys], k = k, keyVars = ...)`` new suppressions (``sum(r$supps)``), with the
seconds each took (ours in process; sdcMicro's inside R, without starting R and reading the
file). sdcMicro runs through ``Rscript`` when it and the package are installed, else its columns
print ``n/a``. Character key columns are given to R as factors (kAnon needs numeric codes).

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
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from pipeline.risk.encode import codes_from_arrow  # noqa: E402
from pipeline.risk.frequencies import frequencies  # noqa: E402
from pipeline.risk.suppression import default_order, suppress  # noqa: E402

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


def run_ours(codes: np.ndarray, cards: list[int], k: int) -> Ours:
    """Suppress with the step's default importance and check k-anonymity afterwards."""
    order = default_order(cards)
    start = time.perf_counter()
    result = suppress(codes, k, order, missing="any")
    seconds = time.perf_counter() - start
    holds = bool((frequencies(result.codes, missing="any").fk >= k).all())
    newly = int(((result.codes < 0) & (codes >= 0)).sum())
    assert newly == int(result.suppressed.sum())
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


def our_importance(cards: list[int]) -> str:
    """Our default order written as sdcMicro's importance vector (1 = most important)."""
    order = default_order(cards)  # least important first
    m = len(cards)
    return ",".join(str(m - order.index(j)) for j in range(m))


def main() -> None:
    """Print the comparison table."""
    import pyarrow.csv as pacsv

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--cases", default=",".join(c.name for c in CASES))
    parser.add_argument("--k", type=int, nargs="*", default=[2, 3, 5])
    parser.add_argument("--no-r", action="store_true", help="skip sdcMicro")
    args = parser.parse_args()
    wanted = args.cases.split(",")
    with_r = not args.no_r and r_available()
    head = f"{'case':<14} {'k':>2} {'ours':>6} {'s':>6} {'k ok':>5} {'kAnon':>6} {'s':>6}  verdict"
    print(head)
    print("-" * len(head))
    tally = {"fewer": 0, "equal": 0, "more": 0}
    for case in (c for c in CASES if c.name in wanted):
        path = args.data / case.file
        read = pacsv.ReadOptions()
        parse = pacsv.ParseOptions(delimiter=case.sep)
        convert = pacsv.ConvertOptions(include_columns=list(case.keys))
        table = pacsv.read_csv(path, read, parse, convert)
        codes, cards = codes_from_arrow(table, list(case.keys))
        theirs = run_kanon(path, case, args.k) if with_r else {}
        for k in args.k:
            ours = run_ours(codes, cards, k)
            line = f"{case.name:<14} {k:>2} {ours.suppressed:>6} {ours.seconds:>6.2f} "
            line += f"{'yes' if ours.k_holds else 'NO':>5} "
            if k in theirs:
                supps, seconds, importance = theirs[k]
                verdict = (
                    "fewer"
                    if ours.suppressed < supps
                    else "equal"
                    if ours.suppressed == supps
                    else "more"
                )
                tally[verdict] += 1
                same = importance == our_importance(cards)
                line += f"{supps:>6} {seconds:>6.2f}  {verdict}"
                line += "" if same else f" (importance differs: sdcMicro {importance})"
            else:
                line += f"{'n/a':>6} {'n/a':>6}"
            print(line, flush=True)
    if with_r:
        print(
            f"\nours vs kAnon: fewer {tally['fewer']}, equal {tally['equal']}, more {tally['more']}"
        )


if __name__ == "__main__":
    main()
