"""No data value ever reaches a message, a log, a report or a leftover file (issue 12).

Every column of the input holds planted tokens that cannot occur by chance (names, addresses,
e-mails, phones, identifiers, categories, numbers with distinctive digit runs). Each failure
path runs ``anonymize`` in-process (``pipeline.cli.entry.main``) and then searches standard output,
standard error (captured at the file-descriptor level, so C libraries' prints count) and every
file the run wrote under ``tmp_path`` for any planted value. ``--debug`` runs may print a
traceback, but it must hold no planted value either.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_entry, write_file

TRACEBACK = "Traceback (most recent call last)"

# --------------------------------------------------------------------------------------------
# The planted data
# --------------------------------------------------------------------------------------------

ROWS = 40
PREFS = ["13101", "13102", "01101", "27100", "14100"]
OCCUPATIONS = ["A01", "A02", "B05", "B06"]
HEADER = [
    "member_id",
    "household_id",
    "name",
    "address",
    "email",
    "phone",
    "age",
    "sex",
    "pref",
    "occupation",
    "income",
    "weight",
    "note",
]

AGE_PLANT = "4729163"  # record 7
INCOME_PLANT = "918273645.5"  # record 8
WEIGHT_PLANT = "2.6180339887"  # record 9
CATEGORY_RECORDS = (5, 10, 18)  # occupation PLANTCATQX7
SEX_RECORD = 12  # sex PLANTSEXQX7
PREF_RECORD = 14  # pref PLANTPREFQX7


def planted_rows(n: int = ROWS) -> list[list[str]]:
    """``n`` records; every column holds planted values (1-based record numbers above)."""
    rows = []
    for i in range(n):
        record = i + 1
        rows.append(
            [
                f"PLANTMEMBERQX7{i:03d}",
                f"PLANTHHQX7{i // 2:03d}",
                f"PLANTNAMEQX7 Taro{i:02d}",
                f"PLANTADDRQX7 {i}-chome",
                f"plantmailqx7.{i}@example.invalid",
                f"090-7391-{8264 + i}",
                AGE_PLANT if record == 7 else str(20 + i % 50),
                "PLANTSEXQX7" if record == SEX_RECORD else str(1 + i % 2),
                "PLANTPREFQX7" if record == PREF_RECORD else PREFS[i % len(PREFS)],
                "PLANTCATQX7" if record in CATEGORY_RECORDS else OCCUPATIONS[i % len(OCCUPATIONS)],
                INCOME_PLANT if record == 8 else str(100 * (i + 1)),
                WEIGHT_PLANT if record == 9 else "1.5",
                f"PLANTNOTEQX7 free text {i}",
            ]
        )
    return rows


def csv_text(rows: list[list[str]], header: list[str] = HEADER) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def with_values(changes: dict[tuple[int, str], str], rows: list[list[str]] | None = None) -> str:
    """The planted CSV with ``{(record, column): text}`` changed (1-based records)."""
    rows = rows if rows is not None else planted_rows()
    for (record, column), value in changes.items():
        rows[record - 1][HEADER.index(column)] = value
    return csv_text(rows)


def numeric_patterns(number: str, digits: int = 6) -> re.Pattern[str]:
    """The first ``digits`` significant digits of ``number``, in any notation (9.18e8, 918,27)."""
    run = number.replace(".", "").lstrip("0")[:digits]
    return re.compile(r"[.,]?".join(re.escape(d) for d in run), re.IGNORECASE)


LEAK_PATTERNS: dict[str, re.Pattern[str]] = {
    "planted text token": re.compile(r"plant[a-z]{2,8}qx7", re.IGNORECASE),
    "e-mail": re.compile(r"example\.invalid", re.IGNORECASE),
    "phone": re.compile(r"090[-\s]?7391"),
    "age": numeric_patterns(AGE_PLANT),
    "income": numeric_patterns(INCOME_PLANT),
    "weight": numeric_patterns(WEIGHT_PLANT),
    "name": re.compile(r"Taro\d\d", re.IGNORECASE),
    "address": re.compile(r"\d+-chome", re.IGNORECASE),
}


def leaks_in(text: str) -> list[str]:
    """Every planted value found in ``text``, with a little context."""
    found = []
    for what, pattern in LEAK_PATTERNS.items():
        for match in pattern.finditer(text):
            start, end = max(0, match.start() - 40), match.end() + 40
            context = text[start:end].replace("\n", "\\n")
            found.append(f"{what} {match.group(0)!r} in ...{context}...")
            break
    return found


def readable_text(path: Path) -> str:
    """A file's content as text: Parquet and Arrow files decoded (they compress values)."""
    raw = path.read_bytes()
    texts = [raw.decode("utf-8", errors="replace"), raw.decode("latin-1")]
    if raw[:4] == b"PAR1":
        try:
            texts.append(pq.read_table(path).to_pandas().to_csv())
        except Exception as exc:  # noqa: BLE001 - an unreadable leftover is still searched raw
            texts.append(f"(unreadable parquet: {type(exc).__name__})")
    elif raw[:6] == b"ARROW1" or raw[:4] == b"\xff\xff\xff\xff":
        try:
            import pyarrow.ipc as ipc

            reader = ipc.open_file(path) if raw[:6] == b"ARROW1" else ipc.open_stream(path)
            texts.append(reader.read_all().to_pandas().to_csv())
        except Exception as exc:  # noqa: BLE001
            texts.append(f"(unreadable arrow: {type(exc).__name__})")
    return "\n".join(texts)


def snapshot(root: Path) -> dict[Path, tuple[int, int]]:
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            info = path.stat()
            out[path] = (info.st_mtime_ns, info.st_size)
    return out


# --------------------------------------------------------------------------------------------
# Running in-process
# --------------------------------------------------------------------------------------------


def invoke(argv: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``anonymize *argv`` in-process; return (exit code, output)."""
    return run_entry(argv, capfd)


Runner = Callable[[list[str]], tuple[int, str]]


write = write_file


COLUMNS = """\
columns:
  direct_identifiers: [name, address, email, phone]
  linking_ids: {member_id: drop, household_id: surrogate}
  key_variables: [age, sex, pref, occupation]
  sensitive: [income]
  weight: weight
"""


def recipe(
    steps: list[str],
    *,
    input: str = "{path: plant.csv}",
    columns: str = COLUMNS,
    extra: str = "",
    output: str = "{dir: out/leak, format: csv}",
) -> str:
    return (
        f"version: 1\nname: leak\ninput: {input}\noutput: {output}\nseed: 7\n{columns}"
        f"steps:\n" + "".join(f"  - {s}\n" for s in steps) + extra
    )


SAFE_STEPS = ["top_code: {column: age, above: 90}", "top_code: {column: income, above: 5000}"]
OCC_HIERARCHY = "A01;A;*\nA02;A;*\nB05;B;*\nB06;B;*\n"

TABULATION = """\
version: 1
kind: tabulation
name: tabs
input: {path: plant.csv, format: csv}
output: {dir: out/tabs}
rules: RULES
tables:
  - name: by_sex
    rows: {column: sex, recode: {map: MAP}}
    statistic: sum
    variable: income
"""


def tabulation(
    map_: str, rules: str = "{threshold: 1, dominance: [], min_interval_units: 0}", **replace: str
) -> str:
    text = TABULATION.replace("MAP", map_).replace("RULES", rules)
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def contract(properties: str) -> str:
    return (
        "apiVersion: v3.0.2\nkind: DataContract\nid: urn:leak\nversion: 1.0.0\nstatus: active\n"
        "schema:\n  - name: leak\n    properties:\n" + properties
    )


@dataclass(frozen=True)
class FailurePath:
    """One failure path: files to write, an optional preparation, the command, exit codes."""

    id: str
    argv: tuple[str, ...]
    codes: tuple[int, ...]
    files: tuple[tuple[str, str | bytes], ...] = ()
    prepare: Callable[[Path, Runner], None] | None = None
    env: tuple[tuple[str, str], ...] = ()
    # attributes patched for the run: a tabulation always finds a protecting pattern, so a
    # blocked tabulation (interval_too_narrow) is forced by making every finite interval "narrow"
    patch: tuple[tuple[str, object], ...] = ()

    def __repr__(self) -> str:
        return self.id


PATHS: list[FailurePath] = []


def path(
    id: str,
    argv: tuple[str, ...] | list[str],
    codes: int | tuple[int, ...],
    files: dict[str, str | bytes] | None = None,
    **kwargs: object,
) -> None:
    codes = codes if isinstance(codes, tuple) else (codes,)
    PATHS.append(FailurePath(id, tuple(argv), codes, tuple((files or {}).items()), **kwargs))  # type: ignore[arg-type]


PLANT = csv_text(planted_rows())
# record 6 (line 7) gets two extra fields holding planted values
EXTRA_FIELDS = "\n".join(
    line + ",PLANTNOTEQX7 extra,090-7391-0000" if number == 6 else line
    for number, line in enumerate(PLANT.split("\n"))
)
FEWER_FIELDS = csv_text([r[:-3] if i == 8 else r for i, r in enumerate(planted_rows())])
UNCLOSED = PLANT.replace("\nPLANTMEMBERQX7010,", '\nPLANTMEMBERQX7010,"', 1)
UNCLOSED_EARLY = PLANT.replace("\nPLANTMEMBERQX7002,", '\nPLANTMEMBERQX7002,"', 1)

RUN = ("run", "r.yaml", "-q")
SAFE = recipe(SAFE_STEPS)

# ---- broken CSV -------------------------------------------------------------------------

path("run-csv-extra-fields", RUN, 3, {"plant.csv": EXTRA_FIELDS, "r.yaml": SAFE})
path(
    "run-csv-extra-fields-debug", (*RUN, "--debug"), 3, {"plant.csv": EXTRA_FIELDS, "r.yaml": SAFE}
)
path("run-csv-fewer-fields", RUN, 3, {"plant.csv": FEWER_FIELDS, "r.yaml": SAFE})
path("run-csv-unclosed-quote-debug", (*RUN, "--debug"), 3, {"plant.csv": UNCLOSED, "r.yaml": SAFE})
path(
    "run-csv-unclosed-quote-early-debug",
    (*RUN, "--debug"),
    3,
    {"plant.csv": UNCLOSED_EARLY, "r.yaml": SAFE},
)
path(
    "run-csv-empty-header-name-debug",
    (*RUN, "--debug"),
    (0, 3),
    {
        "plant.csv": csv_text([[*r, r[2]] for r in planted_rows()], header=[*HEADER, ""]),
        "r.yaml": SAFE,
    },
)
path(
    "run-csv-cp932-row",
    RUN,
    3,
    {
        "plant.csv": PLANT.encode()
        + "PLANTMEMBERQX7999,x,PLANTNAMEQX7 事務,a,b,c,30,1,13101,A01,1,1,n\n".encode("cp932"),
        "r.yaml": SAFE,
    },
)
path(
    "validate-csv-extra-fields",
    ("validate", "r.yaml"),
    (0, 3),
    {"plant.csv": EXTRA_FIELDS, "r.yaml": SAFE},
)
path(
    "risk-csv-extra-fields",
    ("risk", "plant.csv", "--key-vars", "age,sex"),
    3,
    {"plant.csv": EXTRA_FIELDS},
)
path(
    "risk-csv-unclosed-quote-debug",
    ("risk", "plant.csv", "--key-vars", "age,sex", "--debug"),
    3,
    {"plant.csv": UNCLOSED},
)
path("scan-csv-fewer-fields", ("scan", "plant.csv"), 3, {"plant.csv": FEWER_FIELDS})
path(
    "scan-csv-extra-fields-debug",
    ("scan", "plant.csv", "--debug", "--format", "json"),
    3,
    {"plant.csv": EXTRA_FIELDS},
)


def huge_record(tmp: Path, _: Runner) -> None:
    rows = planted_rows(5)
    rows[2][12] = "PLANTNOTEQX7 " * (3 * 1024 * 1024)  # record 3: ~40 MB of planted text
    write(tmp / "plant.csv", csv_text(rows))


path("run-csv-40mb-record", RUN, (0, 3), {"r.yaml": SAFE}, prepare=huge_record)

# ---- values that are not numbers, not finite, outside a recode -------------------------------

path(
    "risk-weight-is-names",
    ("risk", "plant.csv", "--key-vars", "age,sex", "--weight", "name"),
    3,
    {"plant.csv": PLANT},
)
path(
    "risk-weight-is-names-debug",
    (
        "risk",
        "plant.csv",
        "--key-vars",
        "age,sex",
        "--weight",
        "note",
        "--debug",
        "--format",
        "json",
    ),
    3,
    {"plant.csv": PLANT},
)
path(
    "run-not-numeric",
    RUN,
    3,
    {
        "plant.csv": with_values({(3, "income"): "PLANTNUMQX7", (4, "income"): "PLANTNUMQX7 9"}),
        "r.yaml": SAFE,
    },
)
path(
    "run-weight-not-numeric",
    RUN,
    3,
    {"plant.csv": with_values({(3, "weight"): "PLANTWEIGHTQX7"}), "r.yaml": SAFE},
)
path(
    "run-inf-values",
    RUN,
    3,
    {"plant.csv": with_values({(3, "income"): "inf", (5, "age"): "-Infinity"}), "r.yaml": SAFE},
)
path(
    "run-inf-values-debug",
    (*RUN, "--debug"),
    3,
    {"plant.csv": with_values({(3, "income"): "inf"}), "r.yaml": SAFE},
)
path(
    "run-recode-map-unknown",
    RUN,
    3,
    {"plant.csv": PLANT, "r.yaml": recipe(["recode: {column: sex, map: {'1': m, '2': f}}"])},
)
path(
    "run-recode-hierarchy-unknown",
    RUN,
    3,
    {
        "plant.csv": PLANT,
        "h.csv": OCC_HIERARCHY,
        "r.yaml": recipe(["recode: {column: occupation, hierarchy: h.csv, level: 1}"]),
    },
)
path(
    "run-recode-jp-region-unknown-debug",
    (*RUN, "--debug"),
    3,
    {
        "plant.csv": PLANT,
        "r.yaml": recipe(["recode: {column: pref, hierarchy: jp_region, level: prefecture}"]),
    },
)
path(
    "run-recode-bands-below-first-edge",
    RUN,
    3,
    {"plant.csv": PLANT, "r.yaml": recipe(["recode: {column: income, bands: [1000, 2000]}"])},
)
path(
    "run-keyed-hash-recode-unknown",
    RUN,
    3,
    {
        "plant.csv": PLANT,
        "r.yaml": recipe(
            ["recode: {column: sex, map: {'1': m, '2': f}}"],
            columns=COLUMNS.replace(
                "household_id: surrogate",
                "household_id: {method: keyed_hash, key_env: ANON_LEAK_KEY}",
            ),
        ),
    },
    env=(("ANON_LEAK_KEY", "PLANTKEYQX7-secret-key-material"),),
)

# ---- contracts, the scanner and the gate ---------------------------------------------------

path(
    "run-input-contract-broken",
    RUN,
    3,
    {
        "plant.csv": PLANT,
        "c.yaml": contract(
            "      - {name: income, logicalType: number, logicalTypeOptions: {maximum: 5000}}\n"
            "      - {name: note, logicalType: string, logicalTypeOptions: {maxLength: 5}}\n"
            "      - name: occupation\n        logicalType: string\n"
            "        logicalTypeOptions: {pattern: '^[A-Z][0-9]{2}$'}\n"
            "      - name: sex\n        quality:\n"
            "          - {type: library, metric: invalidValues,"
            " arguments: {validValues: ['1', '2']}, mustBe: 0}\n"
        ),
        "r.yaml": recipe(SAFE_STEPS, extra="contracts: {input: c.yaml}\n"),
    },
)
path(
    "run-output-contract-broken",
    RUN,
    4,
    {
        "plant.csv": PLANT,
        "c.yaml": contract(
            "      - {name: income, logicalType: number, logicalTypeOptions: {maximum: 100}}\n"
            "      - {name: occupation, logicalTypeOptions: {pattern: '^[A-Z][0-9]{2}$'}}\n"
        ),
        "r.yaml": recipe(SAFE_STEPS, extra="contracts: {output: c.yaml}\n"),
    },
)
path(
    "run-undeclared-identifiers",
    RUN,
    3,
    {
        "plant.csv": PLANT,
        "r.yaml": recipe(
            SAFE_STEPS, columns=COLUMNS.replace("[name, address, email, phone]", "[name, address]")
        ),
    },
)
path(
    "run-gate-k-anonymity-violated",
    RUN,
    4,
    {"plant.csv": PLANT, "r.yaml": recipe(SAFE_STEPS, extra="risk: {k: 5}\n")},
)
path(
    "run-gate-global-risk-too-high",
    RUN,
    4,
    {
        "plant.csv": PLANT,
        "r.yaml": recipe(SAFE_STEPS, extra="risk: {k: 1, max_global_risk: 0.001}\n"),
    },
)
path(
    "run-gate-blocked-report-elsewhere",
    (*RUN, "--gate-report", "reports/gate.json"),
    4,
    {"plant.csv": PLANT, "r.yaml": recipe(SAFE_STEPS, extra="risk: {k: 5}\n")},
)
# JSON logs and lineage events (issue 29): every event of a run, a blocked run and a broken input
JSON_RUN = ("run", "r.yaml", "--log-format", "json", "--lineage", "lineage")
path(
    "run-json-logs-and-lineage",
    JSON_RUN,
    0,
    {"plant.csv": PLANT, "r.yaml": SAFE, "lineage/.keep": ""},
)
path(
    "run-json-logs-and-lineage-blocked",
    JSON_RUN,
    4,
    {"plant.csv": PLANT, "r.yaml": recipe(SAFE_STEPS, extra="risk: {k: 5}\n"), "lineage/.keep": ""},
)
path(
    "run-json-logs-and-lineage-csv-extra-fields-debug",
    (*JSON_RUN, "--debug"),
    3,
    {"plant.csv": EXTRA_FIELDS, "r.yaml": SAFE, "lineage/.keep": ""},
)
path("scan-fail-on-findings", ("scan", "plant.csv", "--fail-on-findings"), 5, {"plant.csv": PLANT})
path(
    "scan-fail-on-findings-json",
    ("scan", "plant.csv", "--fail-on-findings", "--format", "json"),
    5,
    {"plant.csv": PLANT},
)
path(
    "risk-json",
    (
        "risk",
        "plant.csv",
        "--key-vars",
        "age,sex,pref,occupation",
        "--weight",
        "weight",
        "--household",
        "household_id",
        "--format",
        "json",
    ),
    0,
    {"plant.csv": PLANT},
)


def published_then(column: str, value: str) -> Callable[[Path, Runner], None]:
    """Publish with r.yaml, then set ``column`` of the first output record to ``value``."""

    def prepare(tmp: Path, run_tool: Runner) -> None:
        code, output = run_tool(["run", "r.yaml", "-q"])
        assert code == 0, output
        files = sorted((tmp / "out" / "leak" / "data").glob("*.csv"))
        header = pacsv.read_csv(files[0]).column_names
        table = pacsv.read_csv(
            files[0],
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header}),
        )
        values = table.column(column).to_pylist()
        values[0] = value
        table = table.set_column(header.index(column), column, pa.array(values))
        pacsv.write_csv(table, files[0])

    return prepare


path(
    "gate-only-tampered-cap",
    ("run", "r.yaml", "--gate-only", "out/leak", "--gate-report", "audit.json"),
    4,
    {"plant.csv": PLANT, "r.yaml": recipe(SAFE_STEPS)},
    prepare=published_then("income", INCOME_PLANT),
)
RECODED = recipe(
    [
        *SAFE_STEPS,
        "recode: {column: occupation, hierarchy: h.csv, level: 1}",
        "recode: {column: pref, hierarchy: jp_region, level: region, on_unknown: missing}",
    ]
)
path(
    "gate-only-tampered-recode",
    ("run", "r.yaml", "--gate-only", "out/leak", "--debug"),
    4,
    {"plant.csv": PLANT, "h.csv": OCC_HIERARCHY + "PLANTCATQX7;C;*\n", "r.yaml": RECODED},
    prepare=published_then("occupation", "PLANTCATQX7"),
)
PERTURBED = recipe(
    [
        "microaggregate: {variables: [income, age], k: 3}",
        "rank_swap: {variables: [weight], p: 20}",
        "pram: {column: occupation}",
        "add_noise: {variables: [age], noise: 10}",
    ]
)
path("run-perturbative-steps", RUN, 0, {"plant.csv": PLANT, "r.yaml": PERTURBED})
MICRO = recipe(["microaggregate: {variables: [income], k: 3}"])
path(
    "gate-only-tampered-microaggregation",
    ("run", "r.yaml", "--gate-only", "out/leak"),
    4,
    {"plant.csv": PLANT, "r.yaml": MICRO},
    prepare=published_then("income", INCOME_PLANT),
)
path(
    "gate-only-tampered-identifier",
    ("run", "r.yaml", "--gate-only", "out/leak"),
    4,
    {"plant.csv": PLANT, "r.yaml": recipe(SAFE_STEPS)},
    prepare=published_then("sex", "plantmailqx7.99@example.invalid"),
)


def rerecorded(prepare: Callable[[Path, Runner], None]) -> Callable[[Path, Runner], None]:
    """``prepare``, then the edited data file's SHA-256 written into the manifest (issue 24)."""

    def both(tmp: Path, run_tool: Runner) -> None:
        prepare(tmp, run_tool)
        out = tmp / "out" / "leak"
        manifest = json.loads((out / "manifest.json").read_text())
        for record in manifest["files"]:
            record["sha256"] = hashlib.sha256((out / record["path"]).read_bytes()).hexdigest()
        (out / "manifest.json").write_text(json.dumps(manifest))

    return both


def planted_records(tmp: Path, run_tool: Runner) -> None:
    """Publish, then plant values as keys and values in the manifest and the risk report."""
    code, output = run_tool(["run", "r.yaml", "-q"])
    assert code == 0, output
    out = tmp / "out" / "leak"
    for name in ("manifest.json", "risk_report.json"):
        data = json.loads((out / name).read_text())
        data["steps"][-1]["facts"]["PLANTCATQX7"] = "PLANTNAMEQX7 Taro01"
        data["steps"][-1]["facts"][AGE_PLANT] = float(INCOME_PLANT)
        data["utility"] = {"plantprefqx7": WEIGHT_PLANT}
        (out / name).write_text(json.dumps(data))


path(
    "gate-only-tampered-data-and-its-sha",
    ("run", "r.yaml", "--gate-only", "out/leak", "--gate-report", "audit.json"),
    4,
    {"plant.csv": PLANT, "r.yaml": recipe(SAFE_STEPS)},
    prepare=rerecorded(published_then("income", INCOME_PLANT)),
)
path(
    "gate-only-planted-manifest",
    ("run", "r.yaml", "--gate-only", "out/leak", "--gate-report", "audit.json", "--debug"),
    4,
    {"plant.csv": PLANT, "r.yaml": recipe(SAFE_STEPS)},
    prepare=planted_records,
)
path(
    "run-gate-identifier-in-output",
    RUN,
    4,
    {
        "plant.csv": PLANT,
        "r.yaml": recipe(
            SAFE_STEPS,
            columns=COLUMNS.replace("[name, address, email, phone]", "[name, address, phone]"),
            extra="scan: {undeclared: warn}\n",
        ),
    },
)

# ---- the recipient package (--package) ----------------------------------------------------


def foreign_package(tmp: Path, _: Runner) -> None:
    write(tmp / "pkg" / "notes.txt", "kept by someone else\n")


path("run-package-published", (*RUN, "--package", "pkg"), 0, {"plant.csv": PLANT, "r.yaml": SAFE})
path(
    "run-package-foreign-dir",
    (*RUN, "--package", "pkg"),
    2,
    {"plant.csv": PLANT, "r.yaml": SAFE},
    prepare=foreign_package,
)
path(
    "run-package-gate-blocked",
    (*RUN, "--package", "pkg", "--debug"),
    4,
    {
        "plant.csv": PLANT,
        "r.yaml": recipe(
            SAFE_STEPS,
            columns=COLUMNS.replace("[name, address, email, phone]", "[name, address, phone]"),
            extra="scan: {undeclared: warn}\n",
        ),
    },
)

# ---- tabulation ----------------------------------------------------------------------------

path(
    "tabulate-map-unknown",
    ("tabulate", "tab.yaml", "-q"),
    3,
    {"plant.csv": PLANT, "tab.yaml": tabulation("{'1': male, '2': female}")},
)
path(
    "tabulate-map-unknown-debug",
    ("tabulate", "tab.yaml", "-q", "--debug"),
    3,
    {"plant.csv": PLANT, "tab.yaml": tabulation("{'1': male, '2': female}")},
)
path(
    "tabulate-not-numeric",
    ("tabulate", "tab.yaml", "-q"),
    3,
    {
        "plant.csv": with_values({(2, "income"): "PLANTNUMQX7"}),
        "tab.yaml": tabulation("{'1': m, '2': f}", **{"{map:": "{on_unknown: missing, map:"}),
    },
)
path(
    "tabulate-blocked",
    ("tabulate", "tab.yaml", "-q"),
    4,
    {
        "plant.csv": PLANT,
        "tab.yaml": tabulation(
            "",
            "{threshold: 5, dominance: []}",
            **{"{column: sex, recode: {map: }}": "{column: occupation}"},
        ),
    },
    patch=(("pipeline.tabulate.protect.TOLERANCE", -1e18),),
)
path(
    "tabulate-blocked-debug",
    ("tabulate", "tab.yaml", "-q", "--debug", "--gate-report", "g.json"),
    4,
    {
        "plant.csv": PLANT,
        "tab.yaml": tabulation(
            "",
            "{threshold: 5, dominance: []}",
            **{
                "{column: sex, recode: {map: }}": "{column: occupation}",
                "statistic: sum\n    variable: income": "statistic: count",
            },
        ),
    },
    patch=(("pipeline.tabulate.protect.TOLERANCE", -1e18),),
)

# ---- Parquet -------------------------------------------------------------------------------


def mismatched_parquet(tmp: Path, _: Runner) -> None:
    table = pacsv.read_csv(
        io.BytesIO(PLANT.encode()),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in HEADER}),
    )
    (tmp / "pq").mkdir()
    pq.write_table(table.slice(0, 20), tmp / "pq" / "part-0.parquet")
    other = table.slice(20).set_column(
        HEADER.index("income"),
        "income",
        pa.array([float(v) for v in table.slice(20).column("income").to_pylist()]),
    )
    pq.write_table(other, tmp / "pq" / "part-1.parquet")


def parquet_with_inf(tmp: Path, _: Runner) -> None:
    table = pacsv.read_csv(
        io.BytesIO(PLANT.encode()),
        convert_options=pacsv.ConvertOptions(
            column_types={**{c: pa.string() for c in HEADER}, "income": pa.float64()}
        ),
    )
    income = table.column("income").to_pylist()
    income[2] = float("inf")
    table = table.set_column(HEADER.index("income"), "income", pa.array(income))
    (tmp / "pq").mkdir()
    pq.write_table(table, tmp / "pq" / "part-0.parquet")


def nested_parquet(tmp: Path, _: Runner) -> None:
    rows = planted_rows()
    table = pa.table(
        {
            "age": [r[HEADER.index("age")] for r in rows],
            "tags": [[r[HEADER.index("name")], r[HEADER.index("occupation")]] for r in rows],
        }
    )
    pq.write_table(table, tmp / "nested.parquet")


PQ_RECIPE = recipe(SAFE_STEPS, input="{path: pq}")
path("run-parquet-mismatched-schemas", RUN, 3, {"r.yaml": PQ_RECIPE}, prepare=mismatched_parquet)
path(
    "risk-parquet-mismatched-schemas",
    ("risk", "pq", "--key-vars", "age,sex", "--debug"),
    3,
    prepare=mismatched_parquet,
)
path(
    "risk-nested-parquet-column-debug",
    ("risk", "nested.parquet", "--key-vars", "age,tags", "--debug"),
    (0, 3),
    prepare=nested_parquet,
)
path(
    "scan-nested-parquet-column-debug",
    ("scan", "nested.parquet", "--debug"),
    (0, 3),
    prepare=nested_parquet,
)
path("run-parquet-inf", (*RUN, "--debug"), 3, {"r.yaml": PQ_RECIPE}, prepare=parquet_with_inf)


# --------------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------------


def test_enough_paths_and_the_plants_are_in_the_data() -> None:
    assert len(PATHS) >= 22
    assert len({p.id for p in PATHS}) == len(PATHS)
    text = PLANT
    for what, pattern in LEAK_PATTERNS.items():
        assert pattern.search(text), f"{what} is not planted"
    for column in HEADER:  # every column holds a planted value
        values = [r[HEADER.index(column)] for r in planted_rows()]
        assert any(leaks_in(v) for v in values), column


@pytest.mark.slow
@pytest.mark.parametrize("case", PATHS, ids=[p.id for p in PATHS])
def test_no_planted_value_leaks(
    case: FailurePath,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in case.env:
        monkeypatch.setenv(name, value)
    for target, value in case.patch:
        monkeypatch.setattr(target, value)
    for rel, content in case.files:
        write(tmp_path / rel, content)
    if case.prepare is not None:
        case.prepare(tmp_path, lambda argv: invoke(argv, capfd))
    before = snapshot(tmp_path)
    code, output = invoke(list(case.argv), capfd)

    leaks = [f"output: {leak}" for leak in leaks_in(output)]
    if case.env:  # a secret read from the environment is never written either
        leaks += [f"output: the key of {n}" for n, v in case.env if v.lower() in output.lower()]
    # a successful run's published files, and the data copied into its package, hold released
    # values (not a failure path's output), and so does the codebook the package copies (the
    # categories that occur in the released data); its notice and contents.json are searched
    published = [tmp_path / "out" / "leak", tmp_path / "pkg" / "data"] if code == 0 else []
    released = {tmp_path / "pkg" / f"codebook.{ext}" for ext in ("json", "md", "html")}
    for file in sorted(tmp_path.rglob("*")):
        if not file.is_file() or file.is_symlink() or before.get(file) == _stat(file):
            continue  # the inputs and every file the run did not write or change
        if any(folder in file.parents for folder in published) or (code == 0 and file in released):
            continue
        text = readable_text(file)
        rel = file.relative_to(tmp_path)
        leaks += [f"{rel}: {leak}" for leak in leaks_in(text)]
        leaks += [f"{rel}: the key of {n}" for n, v in case.env if v.lower() in text.lower()]

    shown = f"anonymize {' '.join(case.argv)} -> exit {code}"
    problems = []
    if leaks:
        problems.append(f"{case.id} leaked planted values:\n  " + "\n  ".join(leaks))
    if code not in case.codes:
        problems.append(f"expected exit {case.codes}")
    if code == 1 or (TRACEBACK in output and "--debug" not in case.argv):
        problems.append("an unexpected error (exit 1) or a Python traceback")
    assert not problems, f"{shown}\n" + "\n".join(problems) + f"\n--- output ---\n{output[-2500:]}"


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


def test_the_detector_finds_each_kind_of_value() -> None:
    """The search itself: planted values in other notations are still found."""
    samples = {
        "income": "observed 9.182736455e+08",
        "weight": "weights up to 2.618034",
        "age": "max 4,729,163",
        "phone": "09073918270",
        "planted text token": "value 'plantcatqx7'",
    }
    for what, text in samples.items():
        assert any(leak.startswith(what) for leak in leaks_in(text)), (what, leaks_in(text))
    assert not leaks_in("k_violations=4, global_risk=0.0735, sha256 9f86d081884c7d659a2feaa0")
