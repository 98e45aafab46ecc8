"""Malformed recipes, inputs and command lines: a named error and its exit code, never a crash.

Issue 12 ("trust"): every way a user can get something wrong ends in a message that names the
file (with its line where one is known), the key path or the column, and in the documented exit
code: 2 recipe or usage error, 3 input problem, 4 blocked by the gate, 5 findings, 6 locked.
Exit code 1 is reserved for real bugs and a Python traceback is never shown.

Each case writes its files into ``tmp_path`` and runs ``anonymize`` in-process through
``pipeline.cli.entry.main`` (the console entry point), with the output captured at the file
descriptor level. The output-safety cases also check that nothing that existed before the run
changed (only the run's own lock file ``.NAME.lock`` may appear beside the output).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.malformed import (
    COLUMNS,
    HEADER,
    ROWS,
    STEP_LINE,
    TABULATION,
    TRACEBACK,
    Case,
    Expect,
    at,
    cli,
    csv_text,
    good_rows,
    invoke,
    judged,
    parquet_table,
    recipe_text,
    run,
    scenario,
    tabulation,
    tree,
    untouched,
    validate,
    write,
    write_parquet,
)

# --------------------------------------------------------------------------------------------
# Running the command in-process
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Test data: a tiny census-like CSV and a recipe with fixed line numbers
# --------------------------------------------------------------------------------------------


def with_value(column: str, records: dict[int, str]) -> str:
    """The good CSV with ``column`` set to the given text in the given 1-based records."""
    rows = good_rows()
    index = HEADER.index(column)
    for record, value in records.items():
        rows[record - 1][index] = value
    return csv_text(rows)


OCC_HIERARCHY = "A01;A;*\nA02;A;*\nB05;B;*\nB06;B;*\n"


def named(path: str) -> re.Pattern[str]:
    """A short path as a word of its own (``d`` must not match any letter d)."""
    return re.compile(rf"(?<![\w.-]){re.escape(path)}(?![\w-])")


def any_of(*options: str | re.Pattern[str]) -> tuple[str | re.Pattern[str], ...]:
    return options


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


CASES: list[Case] = []


def case(
    id: str,
    setup: Callable[[Path], list[str]],
    code: int | tuple[int, ...],
    *expect: Expect,
    **kwargs: Any,
) -> None:
    CASES.append(Case(id, setup, code, tuple(expect), **kwargs))


# ---- recipes: YAML ---------------------------------------------------------------------------

case(
    "recipe-not-yaml",
    validate("version: 1\nname: [unclosed\nseed: 1\n"),
    2,
    any_of(at("r.yaml", 2), at("r.yaml", 3)),
    "YAML",
)
case(
    "recipe-not-yaml-run",
    run("version: 1\ninput: {path: in.csv\n"),
    2,
    any_of(at("r.yaml", 2), at("r.yaml", 3)),
    "YAML",
)
case("recipe-not-a-mapping-list", validate("- version\n- 1\n"), 2, "r.yaml", "mapping")
case("recipe-not-a-mapping-scalar", validate("just some text\n"), 2, "r.yaml", "mapping")
case("recipe-empty-file", validate(""), 2, "r.yaml")
case("recipe-only-comments", validate("# nothing here\n"), 2, "r.yaml")
case(
    "recipe-tabs",
    validate(recipe_text().replace("  direct_identifiers", "\tdirect_identifiers")),
    2,
    at("r.yaml", 7),
)
case(
    "recipe-duplicate-key",
    validate(recipe_text(extra="seed: 2\n")),
    2,
    at("r.yaml", 12),
    "duplicate key 'seed'",
)
case(
    "recipe-duplicate-key-nested",
    validate(recipe_text(input="{path: in.csv, path: other.csv}")),
    2,
    at("r.yaml", 3),
    "'path'",
)
case(
    "recipe-python-tag",
    validate(recipe_text(extra="description: !!python/object/apply:os.system ['true']\n")),
    2,
    at("r.yaml", 12),
)

# ---- recipes: keys and types --------------------------------------------------------------

case(
    "recipe-unknown-top-key",
    validate(recipe_text().replace("seed: 1", "seeds: 1")),
    2,
    at("r.yaml", 5),
    "seeds",
    "did you mean 'seed'",
)
case(
    "recipe-unknown-input-key",
    validate(recipe_text(input="{path: in.csv, encodng: utf-8}")),
    2,
    at("r.yaml", 3),
    "input.encodng",
    "did you mean 'encoding'",
)
case(
    "recipe-unknown-columns-key",
    validate(recipe_text(columns=COLUMNS.replace("key_variables", "key_variable"))),
    2,
    at("r.yaml", 9),
    "columns.key_variable",
    "did you mean 'key_variables'",
)
case(
    "recipe-unknown-step-key",
    validate(recipe_text(["  - top_code: {column: age, abve: 60}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code.abve",
    "did you mean 'above'",
)
case(
    "recipe-missing-version",
    validate(recipe_text().replace("version: 1\n", "")),
    2,
    "r.yaml",
    "version",
)
case("recipe-version-2", validate(recipe_text(version="2")), 2, at("r.yaml", 1), "version")
case("recipe-version-text", validate(recipe_text(version="one")), 2, at("r.yaml", 1), "version")
case("recipe-seed-text", validate(recipe_text(seed="abc")), 2, at("r.yaml", 5), "seed")
case("recipe-seed-negative", validate(recipe_text(seed="-1")), 2, at("r.yaml", 5), "seed")
case("recipe-seed-huge", validate(recipe_text(seed="1" * 40)), 2, at("r.yaml", 5), "seed")
# a boolean is never a number (issue 24: `k: true` was read as k = 1, no protection)
BOOLEAN = "expected a number, not true/false"
case(
    "recipe-risk-k-true",
    run(recipe_text(extra="risk: {k: true}\n")),
    2,
    at("r.yaml", 12),
    "risk.k",
    BOOLEAN,
)
case(
    "recipe-risk-k-yes-validate",
    validate(recipe_text(extra="risk: {k: yes}\n")),
    2,
    at("r.yaml", 12),
    "risk.k",
    BOOLEAN,
)
case("recipe-seed-true", validate(recipe_text(seed="true")), 2, at("r.yaml", 5), "seed", BOOLEAN)
case("recipe-version-true", validate(recipe_text(version="true")), 2, at("r.yaml", 1), "version")
case(
    "recipe-step-k-on",
    run(recipe_text(["  - local_suppression: {k: on}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].local_suppression.k",
    BOOLEAN,
)
case(
    "recipe-top-code-above-false",
    run(recipe_text(["  - top_code: {column: age, above: false}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code.above",
    BOOLEAN,
)
case(
    "recipe-bands-with-a-boolean",
    run(recipe_text(["  - recode: {column: age, bands: [0, true, 40]}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode.bands",
    BOOLEAN,
)
case(
    "recipe-scan-sample-true",
    validate(recipe_text(extra="scan: {sample: true}\n")),
    2,
    "scan.sample",
    BOOLEAN,
)
case(
    "recipe-utility-limit-true",
    validate(recipe_text(extra="utility: {limits: {max_precision_loss: true}}\n")),
    2,
    "utility.limits.max_precision_loss",
    BOOLEAN,
)
case(
    "recipe-output-rows-per-file-true",
    validate(recipe_text(output="{dir: out/t, format: csv, rows_per_file: true}")),
    2,
    at("r.yaml", 4),
    "output.rows_per_file",
    BOOLEAN,
)
case("recipe-seed-float", validate(recipe_text(seed="1.5")), 2, at("r.yaml", 5), "seed")
case("recipe-name-path", validate(recipe_text(name="'../evil'")), 2, at("r.yaml", 2), "name")
case("recipe-name-empty", validate(recipe_text(name="''")), 2, at("r.yaml", 2), "name")
case("recipe-name-internal", validate(recipe_text(name="__anon_x")), 2, at("r.yaml", 2), "name")
case("recipe-name-list", validate(recipe_text(name="[a, b]")), 2, at("r.yaml", 2), "name")
case("recipe-input-not-mapping", validate(recipe_text(input="in.csv")), 2, at("r.yaml", 3), "input")
case(
    "recipe-input-no-path",
    validate(recipe_text(input="{format: csv}")),
    2,
    at("r.yaml", 3),
    "input.path",
)
case(
    "recipe-input-bad-encoding",
    validate(recipe_text(input="{path: in.csv, encoding: bogus}")),
    2,
    at("r.yaml", 3),
    "input.encoding",
)
case(
    "recipe-input-bad-format",
    validate(recipe_text(input="{path: in.csv, format: xlsx}")),
    2,
    at("r.yaml", 3),
    "input.format",
)
case(
    "recipe-input-delimiter-two-chars",
    validate(recipe_text(input="{path: in.csv, delimiter: ';;'}")),
    2,
    at("r.yaml", 3),
    "input.delimiter",
)
case(
    "recipe-input-non-finite-bogus",
    validate(recipe_text(input="{path: in.csv, non_finite: zero}")),
    2,
    at("r.yaml", 3),
    "input.non_finite",
)
case(
    "recipe-output-bad-format",
    validate(recipe_text(output="{dir: out/t, format: xlsx}")),
    2,
    at("r.yaml", 4),
    "output.format",
)
case(
    "recipe-output-rows-per-file-0",
    validate(recipe_text(output="{dir: out/t, rows_per_file: 0}")),
    2,
    at("r.yaml", 4),
    "output.rows_per_file",
)
case(
    "recipe-identifiers-not-a-list",
    validate(recipe_text(columns=COLUMNS.replace("[name]", "{a: b}"))),
    2,
    at("r.yaml", 7),
    "columns.direct_identifiers",
)
case(
    "recipe-column-two-roles",
    validate(recipe_text(columns=COLUMNS.replace("[age, sex]", "[age, sex, name]"))),
    2,
    "r.yaml",
    "'name'",
)
case(
    "recipe-step-uses-identifier",
    validate(recipe_text(["  - top_code: {column: name, above: 1}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code",
)
case(
    "recipe-linking-id-bad-method",
    validate(recipe_text(columns=COLUMNS.replace("pid: drop", "pid: shred"))),
    2,
    at("r.yaml", 8),
    "columns.linking_ids.pid",
)
case(
    "recipe-keyed-hash-without-key-env",
    validate(recipe_text(columns=COLUMNS.replace("pid: drop", "pid: {method: keyed_hash}"))),
    2,
    at("r.yaml", 8),
    "columns.linking_ids.pid",
    "key_env",
)
case(
    "recipe-keyed-hash-env-unset",
    validate(
        recipe_text(
            columns=COLUMNS.replace(
                "pid: drop", "pid: {method: keyed_hash, key_env: ANON_MALFORMED_UNSET_KEY}"
            )
        )
    ),
    2,
    at("r.yaml", 8),
    "ANON_MALFORMED_UNSET_KEY",
)
case(
    "recipe-steps-not-a-list",
    validate(recipe_text([" top_code: {column: age, above: 60}"])),
    2,
    "r.yaml",
    "steps",
)

# ---- recipes: steps ---------------------------------------------------------------------

case(
    "recipe-step-empty-entry",
    validate(recipe_text(["  -"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0]",
)
case(
    "recipe-step-empty-mapping",
    validate(recipe_text(["  - {}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0]",
)
case(
    "recipe-step-is-text",
    validate(recipe_text(["  - top_code"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0]",
)
case(
    "recipe-unknown-step",
    validate(recipe_text(["  - top_cod: {column: age, above: 60}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_cod",
    "did you mean 'top_code'",
)
case(
    "recipe-two-steps-in-one-entry",
    validate(recipe_text(["  - {top_code: {column: age, above: 60}, shuffle_records: {}}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0]",
)
case(
    "recipe-automatic-step-listed",
    validate(recipe_text(["  - drop_identifiers: {}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].drop_identifiers",
)
case(
    "recipe-step-params-not-mapping",
    validate(recipe_text(["  - top_code: [age, 60]"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code",
)
case(
    "recipe-top-code-above-text",
    validate(recipe_text(["  - top_code: {column: age, above: ninety}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code.above",
)
case(
    "recipe-top-code-above-inf",
    validate(recipe_text(["  - top_code: {column: age, above: .inf}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code.above",
)
case(
    "recipe-top-code-above-minus-inf",
    validate(recipe_text(["  - top_code: {column: age, above: -.inf}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code.above",
)
case(
    "recipe-top-code-above-nan",
    validate(recipe_text(["  - top_code: {column: age, above: .nan}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code.above",
)
case(
    "recipe-top-code-above-nan-run",
    run(recipe_text(["  - top_code: {column: age, above: .nan}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code.above",
)
case(
    "recipe-top-code-replace-with-inf",
    validate(recipe_text(["  - top_code: {column: age, above: 60, replace_with: .inf}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code.replace_with",
)
case(
    "recipe-bottom-code-below-nan",
    validate(recipe_text(["  - bottom_code: {column: age, below: .NaN}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].bottom_code.below",
)
case(
    "recipe-top-code-quantile-1.5",
    validate(recipe_text(["  - top_code: {column: income, quantile: 1.5}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code.quantile",
)
case(
    "recipe-top-code-above-and-quantile",
    validate(recipe_text(["  - top_code: {column: income, above: 5, quantile: 0.9}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code",
)
case(
    "recipe-subsample-fraction-2",
    validate(recipe_text(["  - subsample: {fraction: 2}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].subsample.fraction",
)
case(
    "recipe-bands-inf",
    validate(recipe_text(["  - recode: {column: age, bands: [0, .inf]}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode.bands",
)
case(
    "recipe-bands-not-increasing",
    validate(recipe_text(["  - recode: {column: age, bands: [0, 30, 20]}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode.bands",
)
case(
    "recipe-bands-repeated-edge",
    validate(recipe_text(["  - recode: {column: age, bands: [0, 30, 30]}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode.bands",
)
case(
    "recipe-bands-labels-count",
    validate(recipe_text(["  - recode: {column: age, bands: [0, 30], labels: [young]}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode",
)
case(
    "recipe-recode-two-methods",
    validate(recipe_text(["  - recode: {column: sex, bands: [0, 2], map: {'1': m}}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode",
)
case(
    "recipe-map-on-unknown-value-without-unknown-value",
    validate(recipe_text(["  - recode: {column: sex, map: {'1': m, '2': f}, on_unknown: value}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode",
    "unknown_value",
)
case(
    "recipe-map-on-unknown-bogus",
    validate(recipe_text(["  - recode: {column: sex, map: {'1': m}, on_unknown: ignore}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode.on_unknown",
)
case(
    "recipe-risk-k-huge",
    validate(recipe_text(extra="risk: {k: 100000000000000000000000}\n")),
    2,
    at("r.yaml", 12),
    "risk.k",
)
case(
    "recipe-risk-k-zero",
    validate(recipe_text(extra="risk: {k: 0}\n")),
    2,
    at("r.yaml", 12),
    "risk.k",
)
case(
    "recipe-risk-k-huge-run",
    run(recipe_text(extra="risk: {k: 100000000000000000000000}\n")),
    2,
    at("r.yaml", 12),
    "risk.k",
)
case(
    "recipe-risk-max-global-risk-2",
    validate(recipe_text(extra="risk: {max_global_risk: 2}\n")),
    2,
    at("r.yaml", 12),
    "risk.max_global_risk",
)
case(
    "recipe-risk-without-key-variables",
    validate(
        recipe_text(
            columns=COLUMNS.replace("  key_variables: [age, sex]\n", ""), extra="risk: {k: 3}\n"
        )
    ),
    2,
    "r.yaml",
    "risk",
)
case(
    "recipe-local-suppression-k-1",
    validate(recipe_text(["  - local_suppression: {k: 1}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].local_suppression.k",
)
case(
    "recipe-local-suppression-unknown-importance",
    validate(recipe_text(["  - local_suppression: {k: 2, importance: [agee]}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].local_suppression",
)
case(
    "recipe-scan-off-unquoted-accepted",
    validate(recipe_text(extra="scan: {undeclared: off}\n")),
    0,
    "valid",
)
case(
    "recipe-scan-undeclared-bogus",
    validate(recipe_text(extra="scan: {undeclared: maybe}\n")),
    2,
    at("r.yaml", 12),
    "scan.undeclared",
)
case(
    "recipe-scan-min-confidence-0",
    validate(recipe_text(extra="scan: {min_confidence: 0}\n")),
    2,
    at("r.yaml", 12),
    "scan.min_confidence",
)

# ---- recipes: contracts and hierarchies ----------------------------------------------------

case(
    "recipe-contract-missing",
    validate(recipe_text(extra="contracts: {input: nope.odcs.yaml}\n")),
    2,
    at("r.yaml", 12),
    "contracts.input",
    "nope.odcs.yaml",
)
case(
    "recipe-contract-is-folder",
    validate(recipe_text(extra="contracts: {output: cdir}\n"), files={"cdir/x": "x"}),
    2,
    at("r.yaml", 12),
    "contracts.output",
    named("cdir"),
)
case(
    "recipe-contract-not-yaml",
    validate(
        recipe_text(extra="contracts: {input: c.yaml}\n"),
        files={"c.yaml": "apiVersion: v3.0.2\nkind: DataContract\nschema: [\n"},
    ),
    2,
    "c.yaml",
)
CONTRACT_SQL = """\
apiVersion: v3.0.2
kind: DataContract
id: urn:x
version: 1.0.0
status: active
schema:
  - name: t
    properties:
      - name: age
        quality:
          - {type: sql, query: "SELECT 1", mustBe: 1}
"""
case(
    "recipe-contract-sql-rule",
    validate(recipe_text(extra="contracts: {input: c.yaml}\n"), files={"c.yaml": CONTRACT_SQL}),
    2,
    at("c.yaml", 11),
    "sql",
)


def recode_occupation(hierarchy: str, level: str = "1") -> str:
    step = f"  - recode: {{column: occupation, hierarchy: {hierarchy}, level: {level}}}"
    return recipe_text([step])


case(
    "hierarchy-missing",
    validate(recode_occupation("h/none.csv")),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode.hierarchy",
    "none.csv",
)
case(
    "hierarchy-missing-run",
    run(recode_occupation("h/none.csv")),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode.hierarchy",
    "none.csv",
)
case(
    "hierarchy-is-folder",
    validate(recode_occupation("h"), files={"h/occ.csv": OCC_HIERARCHY}),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode.hierarchy",
)
case(
    "hierarchy-empty",
    validate(recode_occupation("h/occ.csv"), files={"h/occ.csv": ""}),
    2,
    "occ.csv",
    "steps[0].recode.hierarchy",
)
case(
    "hierarchy-blank-lines",
    validate(recode_occupation("h/occ.csv"), files={"h/occ.csv": "\n\n"}),
    2,
    "occ.csv",
    "steps[0].recode.hierarchy",
)
case(
    "hierarchy-ragged-rows",
    validate(recode_occupation("h/occ.csv"), files={"h/occ.csv": "A01;A;*\nA02;A;*\nB05;B\n"}),
    2,
    at("occ.csv", 3),
    "steps[0].recode.hierarchy",
)
case(
    "hierarchy-one-level",
    validate(recode_occupation("h/occ.csv", "0"), files={"h/occ.csv": "A01\nA02\n"}),
    2,
    "occ.csv",
    "steps[0].recode",
)
case(
    "hierarchy-not-utf8-line-3",
    validate(
        recode_occupation("h/occ.csv"),
        files={"h/occ.csv": b"A01;A;*\nA02;A;*\nB05;" + "事務".encode("cp932") + b";*\n"},
    ),
    2,
    at("occ.csv", 3),
    "UTF-8",
)
case(
    "hierarchy-value-twice",
    validate(recode_occupation("h/occ.csv"), files={"h/occ.csv": "A01;A;*\nA01;B;*\n"}),
    2,
    at("occ.csv", 2),
)
case(
    "hierarchy-level-out-of-range",
    validate(recode_occupation("h/occ.csv", "5"), files={"h/occ.csv": OCC_HIERARCHY}),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode.level",
)
case(
    "hierarchy-level-negative",
    validate(recode_occupation("h/occ.csv", "-1"), files={"h/occ.csv": OCC_HIERARCHY}),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode.level",
)
case(
    "hierarchy-jp-region-unknown-level",
    validate(recipe_text(["  - recode: {column: pref, hierarchy: jp_region, level: city}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode.level",
)
case(
    "hierarchy-without-level",
    validate(recode_occupation("h/occ.csv", "null"), files={"h/occ.csv": OCC_HIERARCHY}),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].recode",
)

# ---- recipes: the file itself ------------------------------------------------------------------

case("recipe-file-missing", cli("validate", "nope.yaml"), 2, "nope.yaml")
case("recipe-file-missing-run", cli("run", "nope.yaml"), 2, "nope.yaml")
case("recipe-file-is-folder", cli("run", "rdir", files={"rdir/x.yaml": "x: 1"}), 2, named("rdir"))
case(
    "recipe-file-is-folder-validate",
    cli("validate", "rdir", files={"rdir/x.yaml": "x: 1"}),
    2,
    named("rdir"),
)
case(
    "recipe-file-not-utf8",
    scenario(
        argv=("validate", "r.yaml"),
        files={"r.yaml": recipe_text(extra="description: 住所\n").encode("cp932")},
    ),
    2,
    at("r.yaml", 12),
    "UTF-8",
)


SEXX = tabulation().replace("column: sex", "column: sexx")
case("recipe-tabulation-given-to-run", run(tabulation()), 2, "r.yaml", "anonymize tabulate")
case(
    "recipe-microdata-given-to-tabulate",
    cli("tabulate", "r.yaml", files={"r.yaml": recipe_text()}),
    2,
    "r.yaml",
)

# ---- inputs ----------------------------------------------------------------------------

case("input-missing", run(csv=False), 3, "in.csv", "not found")
case("input-missing-validate", validate(recipe_text(), csv=False), 3, "in.csv", "not found")
case("input-override-missing", run(None, "--input", "other.csv"), 3, "other.csv", "not found")
case(
    "input-csv-is-folder",
    run(recipe_text(input="{path: d.csv}"), files={"d.csv/x": "x"}),
    3,
    "d.csv",
    "directory",
)
case(
    "input-csv-is-folder-validate",
    validate(recipe_text(input="{path: d.csv}"), files={"d.csv/x": "x"}),
    3,
    "d.csv",
)
case("input-empty-file", run(data=""), 3, "in.csv", "empty")
case("input-empty-file-validate", validate(recipe_text(), data=""), 3, "in.csv", "empty")
case("input-header-only", run(data=csv_text([])), (0, 3), when={3: ("in.csv",)})
case("input-blank-lines-only", run(data="\n\n\n"), 3, "in.csv")
case(
    "input-row-with-more-fields",
    run(data=csv_text(good_rows()).replace("\n5,", "\n5,EXTRA,", 1)),
    3,
    at("in.csv", 6),
    "fields",
)
case(
    "input-row-with-fewer-fields",
    run(data=csv_text([r[:-1] if i == 3 else r for i, r in enumerate(good_rows())])),
    3,
    at("in.csv", 5),
    "fields",
)
case(
    "input-unclosed-quote", run(data=csv_text(good_rows()).replace("\n7,", '\n7,"', 1)), 3, "in.csv"
)
case(
    "input-nul-byte",
    run(data=csv_text(good_rows()).replace("\n9,", "\n9\x00,", 1)),
    (0, 3),
    when={3: ("in.csv",)},
)
case("input-bom", run(data="\ufeff" + csv_text(good_rows())), 0)
case(
    "input-bom-validate", validate(recipe_text(), data="\ufeff" + csv_text(good_rows())), 0, "valid"
)
case(
    "input-duplicate-column-names",
    run(data=csv_text(good_rows(), header=[*HEADER[:-1], "income"])),
    (2, 3),
    "income",
)

NFC_NAME = "データ"  # デ is one code point in NFC
NFD_NAME = "データ".replace("デ", "テ\u3099")
NFD_CSV = csv_text([[*r, "1"] for r in good_rows()], header=[*HEADER, NFD_NAME])
NFD_RECIPE = recipe_text(columns=COLUMNS.replace("[age, sex]", f"[age, sex, {NFC_NAME}]"))
case(
    "input-nfd-header",
    run(NFD_RECIPE, data=NFD_CSV),
    (0, 3),
    when={3: ("in.csv", any_of("NFC", "Unicode", "normaliz"))},
)
case(
    "input-nfd-header-validate",
    validate(NFD_RECIPE, data=NFD_CSV),
    (0, 3),
    when={3: ("in.csv", any_of("NFC", "Unicode", "normaliz"))},
)
case(
    "input-semicolon-separated",
    run(data=csv_text(good_rows(), sep=";")),
    3,
    "in.csv",
    "';'",
    "input.delimiter",
)
case(
    "input-semicolon-separated-validate",
    validate(recipe_text(), data=csv_text(good_rows(), sep=";")),
    3,
    "';'",
    "input.delimiter",
)
CP932_CSV = csv_text(good_rows()).replace("A02", "会社員").encode("cp932")
case("input-cp932-read-as-utf8", run(data=CP932_CSV), 3, "in.csv", "encoding")
case(
    "input-cp932-read-as-utf8-validate",
    validate(recipe_text(), data=CP932_CSV),
    3,
    "in.csv",
    "encoding",
)
case(
    "input-cp932-late-row",
    run(data=csv_text(good_rows()).encode() + "31,x,40,1,13101,事務,5,1.5\n".encode("cp932")),
    3,
    "in.csv",
    "encoding",
)


def huge_field(path: Path) -> None:
    rows = good_rows(5)
    rows[1][1] = "x" * (40 * 1024 * 1024)  # record 2, line 3: a 40 MB name
    write(path, csv_text(rows))


case(
    "input-40mb-field",
    run(csv=False, files={"in.csv": huge_field}),
    (0, 3),
    when={3: (at("in.csv", 3),)},
)
case(
    "input-numeric-column-with-text",
    run(data=with_value("age", {3: "abc", 7: "n/a"})),
    3,
    "'age'",
    re.compile(r"records?\b[^\n]*\b3\b[^\n]*\b7\b"),
)

TOP_INCOME = recipe_text(["  - top_code: {column: income, above: 1000}"])
for token in ("inf", "-inf", "Infinity", "nan", "NaN"):
    case(
        f"input-text-{token}-in-numeric-column",
        run(TOP_INCOME, data=with_value("income", {4: token})),
        3,
        "'income'",
    )
case(
    "input-inf-in-weight",
    run(recipe_text(columns=COLUMNS + "  weight: weight\n"), data=with_value("weight", {2: "inf"})),
    3,
    "'weight'",
)
case(
    "input-inf-read-as-missing",
    run(
        recipe_text(
            ["  - top_code: {column: income, above: 1000}"],
            input="{path: in.csv, non_finite: missing}",
        ),
        data=with_value("income", {4: "inf"}),
    ),
    0,
)
case(
    "input-nan-text-with-non-finite-missing",
    run(
        recipe_text(
            ["  - top_code: {column: income, above: 1000}"],
            input="{path: in.csv, non_finite: missing}",
        ),
        data=with_value("income", {4: "nan"}),
    ),
    3,
    "'income'",
)
case(
    "input-inf-in-input-numeric",
    run(
        recipe_text(input="{path: in.csv, numeric: [income]}"),
        data=with_value("income", {5: "-Infinity"}),
    ),
    3,
    "'income'",
)


def parquet_folder(*names: str) -> Callable[[Path], object]:
    def make(folder: Path) -> None:
        for name in names:
            write_parquet(folder / name)

    return make


PQ_RECIPE = recipe_text(input="{path: pq}")


def with_zero_byte(folder: Path) -> None:
    write_parquet(folder / "part-0.parquet")
    write(folder / "part-1.parquet", b"")


def with_other_schema(folder: Path) -> None:
    write_parquet(folder / "part-0.parquet")
    write_parquet(folder / "part-1.parquet", parquet_table().drop(["income"]))


def with_csv_beside(folder: Path) -> None:
    write_parquet(folder / "part-0.parquet")
    write(folder / "notes.csv", "a,b\n1,2\n")


def with_corrupt(folder: Path) -> None:
    write_parquet(folder / "part-0.parquet")
    good = (folder / "part-0.parquet").read_bytes()
    write(folder / "part-1.parquet", good[:50] + b"\x00garbage" * 20 + good[-30:])


def empty_folder(folder: Path) -> None:
    folder.mkdir(parents=True)


for label, maker, names in (
    ("zero-byte-file", with_zero_byte, ("part-1.parquet",)),
    ("two-schemas", with_other_schema, ("part-1.parquet", "income")),
    ("csv-beside", with_csv_beside, ("notes.csv",)),
    ("corrupt-file", with_corrupt, ("part-1.parquet",)),
    ("empty-folder", empty_folder, (named("pq"),)),
):
    case(f"input-parquet-{label}", run(PQ_RECIPE, csv=False, files={"pq": maker}), 3, *names)
    case(
        f"input-parquet-{label}-validate",
        validate(PQ_RECIPE, csv=False, files={"pq": maker}),
        3,
        *names,
    )
case(
    "input-parquet-inf",
    run(
        recipe_text(["  - top_code: {column: weight, above: 3}"], input="{path: pq}"),
        csv=False,
        files={
            "pq/part-0.parquet": lambda p: write_parquet(
                p,
                parquet_table().set_column(
                    7, "weight", pa.array([float("inf")] + [1.5] * (ROWS - 1))
                ),
            )
        },
    ),
    3,
    "'weight'",
)

MARITAL_HEADER = [*HEADER, "marital-status"]
MARITAL_CSV = csv_text([[*r, "1"] for r in good_rows()], header=MARITAL_HEADER)
MARITAL_RECIPE = recipe_text(columns=COLUMNS.replace("[age, sex]", "[age, sex, marital_status]"))
case(
    "input-missing-column-did-you-mean",
    run(MARITAL_RECIPE, data=MARITAL_CSV),
    3,
    "'marital_status'",
    "did you mean 'marital-status'",
    "'occupation'",
)
case(
    "input-missing-column-did-you-mean-validate",
    validate(MARITAL_RECIPE, data=MARITAL_CSV),
    3,
    "'marital_status'",
    "did you mean 'marital-status'",
    "'occupation'",
)
case(
    "input-missing-identifier-column",
    run(recipe_text(columns=COLUMNS.replace("[name]", "[name, email]"))),
    3,
    "'email'",
    "columns.direct_identifiers",
)
case(
    "input-missing-step-column",
    run(recipe_text(["  - top_code: {column: incme, above: 5}"])),
    3,
    "'incme'",
    "steps[0].top_code.column",
    "did you mean 'income'",
)

# ---- inputs: values the steps and the gate refuse ------------------------------------------

case(
    "values-outside-map",
    run(recipe_text(["  - recode: {column: sex, map: {'1': m}}"])),
    3,
    "'sex'",
    "steps[0].recode",
)
case(
    "values-outside-hierarchy",
    run(recode_occupation("h/occ.csv"), files={"h/occ.csv": "A01;A;*\nA02;A;*\n"}),
    3,
    "'occupation'",
    "steps[0].recode",
)
case(
    "values-below-first-band",
    run(recipe_text(["  - recode: {column: age, bands: [30, 40]}"])),
    3,
    "'age'",
    "steps[0].recode",
)
case(
    "values-outside-jp-region",
    run(
        recipe_text(["  - recode: {column: pref, hierarchy: jp_region, level: prefecture}"]),
        data=with_value("pref", {3: "99999"}),
    ),
    3,
    "'pref'",
)
CONTRACT_AGE = """\
apiVersion: v3.0.2
kind: DataContract
id: urn:x
version: 1.0.0
status: active
schema:
  - name: t
    properties:
      - name: age
        logicalType: integer
        logicalTypeOptions: {maximum: 40}
"""
case(
    "values-break-input-contract",
    run(recipe_text(extra="contracts: {input: c.yaml}\n"), files={"c.yaml": CONTRACT_AGE}),
    3,
    "age",
)
case(
    "values-undeclared-identifier",
    run(
        recipe_text(),
        data=csv_text(
            [[*r, f"user{i}@example.com"] for i, r in enumerate(good_rows())],
            header=[*HEADER, "contact"],
        ),
    ),
    3,
    "contact",
)

# ---- command lines ------------------------------------------------------------------------

case("cli-run-partitions-huge", run(None, "--partitions", "1000000000"), 2, "--partitions")
case("cli-run-partitions-zero", run(None, "--partitions", "0"), 2, "--partitions")
case("cli-run-partitions-text", run(None, "--partitions", "many"), 2, "--partitions")
case("cli-run-output-empty", run(None, "--output", ""), 2, "--output")
case("cli-run-input-empty", run(None, "--input", ""), 2, "--input")
case("cli-run-gate-report-empty", run(None, "--gate-report", ""), 2, "--gate-report")
case("cli-run-scheduler-gpu", run(None, "--scheduler", "gpu"), 2, "gpu", "threads")
case("cli-run-wait-negative", run(None, "--wait", "-1"), 2, "--wait")
case(
    "cli-run-gate-report-is-folder",
    run(None, "--gate-report", "gr", files={"gr/x": "x"}),
    2,
    named("gr"),
)
case("cli-run-unknown-option", run(None, "--frobnicate"), 2, "--frobnicate")
case("cli-unknown-command", cli("frobnicate"), 2, "frobnicate")
case(
    "cli-validate-unknown-option",
    cli("validate", "r.yaml", "--fast", files={"r.yaml": recipe_text()}),
    2,
    "--fast",
)
case(
    "cli-run-gate-only-missing-output",
    run(None, "--gate-only", "out/none"),
    3,
    "out/none does not exist",
)
case("cli-steps-unknown", cli("steps", "nope"), 2, "nope")
case("cli-risk-without-key-vars", cli("risk", "in.csv"), 2, "--key-vars")
case("cli-risk-key-vars-empty", cli("risk", "in.csv", "--key-vars", ","), 2, "--key-vars")
case("cli-risk-k-zero", cli("risk", "in.csv", "--key-vars", "age,sex", "--k", "0"), 2, "--k")
case(
    "cli-risk-k-huge",
    cli("risk", "in.csv", "--key-vars", "age,sex", "--k", "100000000000000000000000"),
    2,
    "--k",
)
case(
    "cli-risk-weight-names",
    cli("risk", "in.csv", "--key-vars", "age,sex", "--weight", "name"),
    3,
    "'name'",
    check=lambda tmp, code, out: _no_names(out),
)
case(
    "cli-risk-weight-inf",
    cli(
        "risk",
        "in.csv",
        "--key-vars",
        "age,sex",
        "--weight",
        "weight",
        data=with_value("weight", {3: "inf"}),
    ),
    3,
    "'weight'",
)
case("cli-risk-missing-file", cli("risk", "none.csv", "--key-vars", "age"), 3, "none.csv")
case(
    "cli-risk-missing-key-column",
    cli("risk", "in.csv", "--key-vars", "age,sexx"),
    3,
    "sexx",
    "did you mean 'sex'",
)
case(
    "cli-risk-encoding-bogus",
    cli("risk", "in.csv", "--key-vars", "age", "--encoding", "bogus"),
    2,
    "bogus",
)
case(
    "cli-risk-delimiter-two-chars",
    cli("risk", "in.csv", "--key-vars", "age", "--delimiter", ";;"),
    2,
    "--delimiter",
)
case(
    "cli-risk-missing-mode-bogus",
    cli("risk", "in.csv", "--key-vars", "age", "--missing", "skip"),
    2,
    "--missing",
)
case(
    "cli-risk-row-with-more-fields",
    cli(
        "risk",
        "in.csv",
        "--key-vars",
        "age,sex",
        data=csv_text(good_rows()).replace("\n5,", "\n5,EXTRA,", 1),
    ),
    3,
    at("in.csv", 6),
)
case(
    "cli-risk-cp932",
    cli("risk", "in.csv", "--key-vars", "age,occupation", data=CP932_CSV),
    3,
    "in.csv",
    "encoding",
)
case(
    "cli-risk-parquet-two-schemas",
    cli("risk", "pq", "--key-vars", "age,sex", csv=False, files={"pq": with_other_schema}),
    3,
    "part-1.parquet",
)
case("cli-scan-encoding-bogus", cli("scan", "in.csv", "--encoding", "bogus"), 2, "bogus")
case("cli-scan-sample-zero", cli("scan", "in.csv", "--sample", "0"), 2, "--sample")
case(
    "cli-scan-min-confidence-2",
    cli("scan", "in.csv", "--min-confidence", "2"),
    2,
    "--min-confidence",
)
case("cli-scan-folder-without-parquet", cli("scan", "d", files={"d/a.txt": "hello"}), 3, named("d"))
case("cli-scan-empty-folder", cli("scan", "d", files={"d": empty_folder}), 3, named("d"))
case("cli-scan-missing-file", cli("scan", "none.csv"), 3, "none.csv")
case(
    "cli-scan-missing-column",
    cli("scan", "in.csv", "--columns", "nmae"),
    3,
    "nmae",
    "did you mean 'name'",
)
case(
    "cli-scan-row-with-fewer-fields",
    cli(
        "scan",
        "in.csv",
        data=csv_text([r[:-2] if i == 6 else r for i, r in enumerate(good_rows())]),
    ),
    3,
    at("in.csv", 8),
)
case("cli-scan-empty-file", cli("scan", "in.csv", data=""), 3, "in.csv")
case("cli-scan-unknown-option", cli("scan", "in.csv", "--deep"), 2, "--deep")
case(
    "cli-demo-data-onto-folder",
    cli("demo-data", "d", files={"d/keep.txt": "keep"}),
    (2, 3),
    named("d"),
    safety=True,
    lock_of="d",
)
case(
    "cli-demo-data-encoding-bogus",
    cli("demo-data", "f.csv", "--encoding", "bogus"),
    2,
    "bogus",
    check=lambda tmp, code, out: _absent(tmp / "f.csv"),
)
case(
    "cli-demo-data-rows-zero",
    cli("demo-data", "f.csv", "--rows", "0"),
    2,
    "--rows",
    check=lambda tmp, code, out: _absent(tmp / "f.csv"),
)
case(
    "cli-demo-data-onto-existing-file",
    cli("demo-data", "in.csv", "--rows", "5"),
    2,
    "in.csv",
    check=lambda tmp, code, out: _unchanged(tmp / "in.csv", csv_text(good_rows()).encode()),
)
case(
    "cli-tabulate-microdata-recipe",
    cli("tabulate", "r.yaml", files={"r.yaml": recipe_text()}),
    2,
    "r.yaml",
)
case(
    "cli-tabulate-missing-input",
    cli("tabulate", "r.yaml", csv=False, files={"r.yaml": tabulation()}),
    3,
    "in.csv",
)
case("cli-tabulate-missing-recipe", cli("tabulate", "none.yaml"), 2, "none.yaml")


def _no_names(out: str) -> None:
    leaked = [r[1] for r in good_rows() if r[1] in out] + (["Yamada"] if "Yamada" in out else [])
    assert not leaked, f"names in the output: {leaked[:3]}"


def _unchanged(path: Path, content: bytes) -> None:
    assert path.read_bytes() == content, f"{path} changed"


def _absent(path: Path) -> None:
    assert not os.path.lexists(path), f"{path} was written"


# ---- output safety -------------------------------------------------------------------------

BLOCKED = recipe_text(extra="risk: {k: 5}\n")  # ages are unique: k-anonymity fails


def foreign_output(tmp: Path) -> None:
    write(tmp / "out/t/manifest.json", '{"name": "webapp"}')
    write(tmp / "out/t/index.html", "<h1>home</h1>")


def symlinked_output(tmp: Path) -> None:
    write(tmp / "target/keep.txt", "keep")
    (tmp / "out").mkdir()
    (tmp / "out/t").symlink_to(tmp / "target")


def planted_report_link(tmp: Path) -> None:
    write(tmp / "victim.json", '{"precious": true}')
    (tmp / "out").mkdir()
    (tmp / "out/t.gate_report.json").symlink_to(tmp / "victim.json")


def planted_lock_link(tmp: Path) -> None:
    write(tmp / "victim.txt", "precious")
    (tmp / "out").mkdir()
    (tmp / "out/.t.lock").symlink_to(tmp / "victim.txt")


case(
    "safety-output-non-empty-folder",
    run(files={"out/t/notes.txt": "mine", "out/t/data/x.csv": "a\n1\n"}),
    2,
    "out/t",
    safety=True,
)
case("safety-output-foreign-manifest", run(prepare=foreign_output), 2, "out/t", safety=True)
case("safety-output-is-a-file", run(files={"out/t": "a file"}), 2, "out/t", safety=True)
case("safety-output-symlink-to-folder", run(prepare=symlinked_output), 2, "out/t", safety=True)
case(
    "safety-gate-report-foreign-file",
    run(BLOCKED, "--gate-report", "notes.json", files={"notes.json": '{"a": 1}'}),
    2,
    "notes.json",
    safety=True,
)
case(
    "safety-default-gate-report-symlink-blocked",
    run(BLOCKED, prepare=planted_report_link),
    (2, 4),
    safety=True,
)
case(
    "safety-lock-file-is-symlink",
    run(None, prepare=planted_lock_link),
    (2, 6),
    ".t.lock",
    safety=True,
)
case(
    "safety-output-inside-parquet-input",
    run(
        recipe_text(input="{path: pq}", output="{dir: pq/out, format: csv}"),
        csv=False,
        files={"pq": parquet_folder("part-0.parquet")},
    ),
    (2, 3),
    "pq/out",
    safety=True,
    lock_of="pq/out",
)
case(
    "safety-tabulate-output-non-empty-folder",
    cli("tabulate", "r.yaml", files={"r.yaml": tabulation(), "out/tt/notes.txt": "mine"}),
    2,
    "out/tt",
    safety=True,
    lock_of="out/tt",
)


def _gate_report_at_input(tmp: Path, code: int, out: str) -> None:
    assert (tmp / "in.csv").read_bytes() == csv_text(good_rows()).encode()


case(
    "safety-gate-report-at-input-passing-run",
    run(None, "--gate-report", "in.csv"),
    (0, 2),
    check=_gate_report_at_input,
    safety=True,
)


def planted_old_link(tmp: Path) -> None:
    write(tmp / "victim/manifest.json", "{}")
    write(tmp / "victim/keep.txt", "keep")
    (tmp / "out").mkdir()
    (tmp / "out" / f".t.old-{'0' * 32}").symlink_to(tmp / "victim")


def _old_link_kept(tmp: Path, code: int, out: str) -> None:
    planted = tmp / "out" / f".t.old-{'0' * 32}"
    assert planted.is_symlink(), "the planted symlink was removed or renamed"
    assert os.readlink(planted) == str(tmp / "victim")
    assert tree(tmp / "victim") == {"keep.txt": _sha(b"keep"), "manifest.json": _sha(b"{}")}
    output = tmp / "out" / "t"
    assert output.is_dir() and not output.is_symlink(), "the output is not a real folder"
    assert (output / "manifest.json").is_file()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


case(
    "safety-planted-old-symlink",
    run(None, prepare=planted_old_link),
    0,
    check=_old_link_kept,
    safety=True,
)

# ---- tabulation --------------------------------------------------------------------------

case(
    "tabulate-map-misses-values",
    cli("tabulate", "r.yaml", files={"r.yaml": tabulation("{'1': male}")}),
    3,
    "'sex'",
    check=lambda tmp, code, out: _absent(tmp / "out" / "tt"),
)


def _published_tables(tmp: Path, code: int, out: str) -> None:
    assert (tmp / "out" / "tt" / "manifest.json").is_file()


case(
    "tabulate-map-misses-values-on-unknown-missing",
    cli(
        "tabulate",
        "r.yaml",
        files={"r.yaml": tabulation("{'1': male}", extra="on_unknown: missing, ")},
    ),
    3,
    "r.yaml",
    "no value for sex",
)
case(
    "tabulate-map-misses-values-not-stated-category",
    cli(
        "tabulate",
        "r.yaml",
        files={
            "r.yaml": tabulation("{'1': male}", extra="on_unknown: missing, ").replace(
                "{column: sex,", "{column: sex, missing: category,"
            )
        },
    ),
    0,
    check=_published_tables,
)
case(
    "tabulate-hierarchy-missing",
    cli(
        "tabulate",
        "r.yaml",
        files={"r.yaml": TABULATION.replace("{map: MAP}", "{hierarchy: h/none.csv, level: 1}")},
    ),
    2,
    "r.yaml",
    "none.csv",
)
case("tabulate-missing-column", cli("tabulate", "r.yaml", files={"r.yaml": SEXX}), 3, "'sexx'")
case(
    "tabulate-statistic-max",
    cli(
        "tabulate",
        "r.yaml",
        files={
            "r.yaml": tabulation().replace(
                "statistic: count", "statistic: max\n    variable: income"
            )
        },
    ),
    2,
    at("r.yaml", 10),
    "max",
)
case(
    "tabulate-sum-of-text",
    cli(
        "tabulate",
        "r.yaml",
        files={
            "r.yaml": tabulation().replace(
                "statistic: count", "statistic: sum\n    variable: income"
            )
        },
        data=with_value("income", {2: "lots"}),
    ),
    3,
    "'income'",
)
case(
    "tabulate-sum-of-inf",
    cli(
        "tabulate",
        "r.yaml",
        files={
            "r.yaml": tabulation().replace(
                "statistic: count", "statistic: sum\n    variable: income"
            )
        },
        data=with_value("income", {2: "inf"}),
    ),
    3,
    "'income'",
)
case(
    "tabulate-unknown-key",
    cli("tabulate", "r.yaml", files={"r.yaml": tabulation().replace("rules:", "rulez:")}),
    2,
    at("r.yaml", 6),
    "did you mean 'rules'",
)
case(
    "tabulate-validate-unknown-key",
    cli("validate", "r.yaml", files={"r.yaml": tabulation().replace("rules:", "rulez:")}),
    2,
    at("r.yaml", 6),
)


# ---- more recipes ----------------------------------------------------------------------

case(
    "recipe-output-dir-empty",
    validate(recipe_text(output="{dir: ''}")),
    2,
    at("r.yaml", 4),
    "output.dir",
)
case(
    "recipe-output-dir-empty-run",
    run(recipe_text(output="{dir: ''}")),
    2,
    at("r.yaml", 4),
    "output.dir",
    safety=True,
    lock_of=".",
)
case(
    "recipe-na-values-not-a-list",
    validate(recipe_text(input="{path: in.csv, na_values: NA}")),
    2,
    at("r.yaml", 3),
    "input.na_values",
)
case(
    "recipe-key-variables-numbers",
    validate(recipe_text(columns=COLUMNS.replace("[age, sex]", "[age, 7]"))),
    2,
    at("r.yaml", 9),
    "columns.key_variables",
)
case(
    "recipe-risk-household-deleted",
    validate(recipe_text(extra="risk: {k: 2, household: name}\n")),
    2,
    at("r.yaml", 12),
    "risk.household",
)
case(
    "recipe-keyed-hash-key-too-short",
    validate(
        recipe_text(
            columns=COLUMNS.replace(
                "pid: drop", "pid: {method: keyed_hash, key_env: ANON_MALFORMED_SHORT_KEY}"
            )
        )
    ),
    2,
    at("r.yaml", 8),
    "ANON_MALFORMED_SHORT_KEY",
)
CONTRACT_BAD_TYPE = CONTRACT_AGE.replace("logicalType: integer", "logicalType: integr")
case(
    "recipe-contract-unknown-logical-type",
    validate(
        recipe_text(extra="contracts: {input: c.yaml}\n"), files={"c.yaml": CONTRACT_BAD_TYPE}
    ),
    2,
    at("c.yaml", 10),
    "logicalType",
)
case(
    "recipe-contract-empty",
    validate(recipe_text(extra="contracts: {input: c.yaml}\n"), files={"c.yaml": ""}),
    2,
    "c.yaml",
)
case(
    "recipe-contract-not-utf8",
    validate(
        recipe_text(extra="contracts: {input: c.yaml}\n"),
        files={"c.yaml": (CONTRACT_AGE + "description: 年齢\n").encode("cp932")},
    ),
    2,
    at("c.yaml", 12),
)
case(
    "recipe-contract-between-one-bound",
    validate(
        recipe_text(extra="contracts: {input: c.yaml}\n"),
        files={
            "c.yaml": CONTRACT_AGE + "        quality:\n"
            "          - {type: library, metric: nullValues, mustBeBetween: [1]}\n"
        },
    ),
    2,
    at("c.yaml", 13),
    "mustBeBetween",
)

# ---- more inputs -----------------------------------------------------------------------

case(
    "input-quoted-newline-in-field",
    run(data=csv_text(good_rows()).replace("Yamada Taro04", '"Yamada\nTaro04"')),
    (0, 3),
    when={3: ("in.csv",)},
)
case("input-crlf-line-ends", run(data=csv_text(good_rows()).replace("\n", "\r\n")), 0)
case(
    "input-quoted-separator-in-field",
    run(data=csv_text(good_rows()).replace("Yamada Taro04", '"Yamada, Taro04"')),
    0,
)
case(
    "input-number-overflowing-to-inf",
    run(TOP_INCOME, data=with_value("income", {6: "1e400"})),
    3,
    "'income'",
)
case(
    "input-integer-beyond-int64",
    run(data=with_value("age", {6: "99999999999999999999999"})),
    (0, 3),
    when={3: ("'age'",)},
)
case(
    "input-full-width-digits",
    run(data=with_value("age", {2: "３４"})),
    (0, 3),
    when={3: ("'age'",)},
)
case("input-utf16", run(data=csv_text(good_rows()).encode("utf-16")), 3, "in.csv", "encoding")
case(
    "input-gzip-named-csv",
    run(data=__import__("gzip").compress(csv_text(good_rows()).encode(), mtime=0)),
    3,
    "in.csv",
)
case(
    "input-parquet-named-csv",
    run(csv=False, files={"in.csv": lambda p: write_parquet(p)}),
    3,
    "in.csv",
)
case(
    "input-csv-named-parquet",
    run(recipe_text(input="{path: in.parquet}"), files={"in.parquet": csv_text(good_rows())}),
    3,
    "in.parquet",
)
case(
    "input-override-folder-of-csv",
    run(None, "--input", "d", files={"d/a.csv": "a\n1\n"}),
    3,
    "a.csv",
)
case(
    "input-empty-header-name",
    run(data=csv_text([[*r, "x"] for r in good_rows()], header=[*HEADER, ""])),
    (0, 3),
    when={3: ("in.csv",)},
)
CONTRACT_MISSING_COLUMN = CONTRACT_AGE.replace("name: age", "name: birth_year")
case(
    "values-contract-column-not-in-input",
    run(
        recipe_text(extra="contracts: {input: c.yaml}\n"), files={"c.yaml": CONTRACT_MISSING_COLUMN}
    ),
    3,
    "birth_year",
)

# ---- more command lines -------------------------------------------------------------------

case("cli-run-output-dot", run(None, "--output", "."), 2, safety=True, lock_of=".")
case(
    "cli-run-output-is-input-file",
    run(None, "--output", "in.csv"),
    2,
    "in.csv",
    safety=True,
    lock_of="in.csv",
)
case(
    "cli-run-input-inside-output",
    run(
        recipe_text(input="{path: sub/in.csv}"),
        "--output",
        "sub",
        csv=False,
        files={"sub/in.csv": csv_text(good_rows())},
    ),
    2,
    named("sub"),
    safety=True,
    lock_of="sub",
)
case("cli-run-scheduler-bad-url", run(None, "--scheduler", "tcp://"), 2, "--scheduler")
case(
    "cli-run-gate-only-foreign-folder",
    run(None, "--gate-only", "web", files={"web/index.html": "<h1>home</h1>"}),
    4,
    "holds no manifest.json",
    safety=True,
)
case(
    "cli-risk-header-only",
    cli("risk", "in.csv", "--key-vars", "age,sex", data=csv_text([])),
    (0, 3),
)
case(
    "cli-risk-household-missing",
    cli("risk", "in.csv", "--key-vars", "age,sex", "--household", "hh"),
    3,
    "hh",
)
case(
    "cli-risk-format-bogus",
    cli("risk", "in.csv", "--key-vars", "age", "--format", "xml"),
    2,
    "--format",
)
case(
    "cli-risk-unclosed-quote",
    cli(
        "risk",
        "in.csv",
        "--key-vars",
        "age,sex",
        data=csv_text(good_rows()).replace("\n7,", '\n7,"', 1),
    ),
    3,
    "in.csv",
)
case("cli-scan-header-only", cli("scan", "in.csv", data=csv_text([])), (0, 3))
case(
    "cli-scan-unclosed-quote",
    cli("scan", "in.csv", data=csv_text(good_rows()).replace("\n7,", '\n7,"', 1)),
    3,
    "in.csv",
)
case(
    "cli-scan-40mb-field",
    cli("scan", "in.csv", csv=False, files={"in.csv": huge_field}),
    (0, 3),
    when={3: (at("in.csv", 3),)},
)
case("cli-scan-format-bogus", cli("scan", "in.csv", "--format", "xml"), 2, "--format")
case(
    "cli-demo-data-seed-negative",
    cli("demo-data", "f.csv", "--seed", "-1"),
    2,
    "--seed",
    check=lambda tmp, code, out: _absent(tmp / "f.csv"),
)

# ---- more tabulation ---------------------------------------------------------------------

case(
    "tabulate-validate-missing-column",
    cli("validate", "r.yaml", files={"r.yaml": SEXX}),
    3,
    "'sexx'",
)
case(
    "tabulate-weight-text",
    cli(
        "tabulate",
        "r.yaml",
        files={
            "r.yaml": tabulation().replace("statistic: count", "statistic: count\n    weight: name")
        },
    ),
    3,
    "'name'",
    check=lambda tmp, code, out: _no_names(out),
)
case(
    "tabulate-bands-on-text",
    cli(
        "tabulate",
        "r.yaml",
        files={
            "r.yaml": TABULATION.replace(
                "{column: sex, recode: {map: MAP}}", "{column: age, recode: {bands: [0, 40]}}"
            )
        },
        data=with_value("age", {3: "old"}),
    ),
    3,
    "'age'",
)
case(
    "tabulate-dominance-n-3",
    cli(
        "tabulate",
        "r.yaml",
        files={"r.yaml": tabulation().replace("dominance: []", "dominance: [{n: 3, k: 70}]")},
    ),
    2,
    at("r.yaml", 6),
    "rules.dominance",
)
case(
    "tabulate-unit-missing",
    cli(
        "tabulate",
        "r.yaml",
        files={
            "r.yaml": tabulation().replace(
                "statistic: count", "statistic: count\n    unit: household"
            )
        },
    ),
    3,
    "'household'",
)


# ---- numbers too large, empty results, odd files ---------------------------------------

case(
    "recipe-local-suppression-k-huge",
    validate(recipe_text(["  - local_suppression: {k: 100000000000000000000000}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].local_suppression.k",
)
case(
    "recipe-risk-step-k-huge",
    validate(recipe_text(["  - risk: {k: 100000000000000000000000}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].risk.k",
)
case(
    "recipe-top-code-above-overflows-to-inf",
    validate(recipe_text(["  - top_code: {column: age, above: 1.0e+309}"])),
    2,
    at("r.yaml", STEP_LINE),
    "steps[0].top_code.above",
)
case(
    "recipe-rows-per-file-huge-run",
    run(recipe_text(output="{dir: out/t, format: csv, rows_per_file: 100000000000000000000000}")),
    (0, 2),
    when={2: (at("r.yaml", 4), "output.rows_per_file")},
)
case(
    "recipe-scan-sample-huge-run",
    run(recipe_text(extra="scan: {sample: 100000000000000000000000}\n")),
    (0, 2),
    when={2: (at("r.yaml", 12), "scan.sample")},
)
case(
    "recipe-yaml-alias-bomb",
    validate(
        recipe_text(
            extra="description: &a [x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"x{i}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 8) + "]\n"
                for i in range(6)
            )
        )
    ),
    2,
    "r.yaml",
)
case(
    "input-tab-separated", run(data=csv_text(good_rows(), sep="\t")), 3, "in.csv", "input.delimiter"
)
case(
    "input-header-with-trailing-space",
    run(data=csv_text(good_rows(), header=[h + " " if h == "age" else h for h in HEADER])),
    3,
    "'age'",
    "'age '",
)


def _internal_name_kept(tmp: Path, code: int, out: str) -> None:
    if code == 0:  # published: the user's column is in the output like any other column
        header = next((tmp / "out/t/data").glob("*.csv")).read_text().splitlines()[0]
        assert "__anon_row" in header.split(","), f"the column vanished: {header}"


case(
    "input-column-with-internal-name",
    run(data=csv_text([[*r, "x"] for r in good_rows()], header=[*HEADER, "__anon_row"])),
    (0, 2, 3),
    check=_internal_name_kept,
)
case(
    "input-row-with-more-fields-partitions",
    run(None, "--partitions", "4", data=csv_text(good_rows()).replace("\n25,", "\n25,EXTRA,", 1)),
    3,
    at("in.csv", 26),
)
case(
    "input-semicolon-declared-row-with-extra-field",
    run(
        recipe_text(input="{path: in.csv, delimiter: ';'}"),
        data=csv_text(good_rows(), sep=";").replace("\n12;", "\n12;x;", 1),
    ),
    3,
    at("in.csv", 13),
)
case(
    "input-header-only-with-quantile",
    run(recipe_text(["  - top_code: {column: income, quantile: 0.9}"]), data=csv_text([])),
    (0, 3),
)
case(
    "input-all-missing-with-quantile",
    run(
        recipe_text(["  - top_code: {column: income, quantile: 0.9}"]),
        data=with_value("income", {i: "" for i in range(1, ROWS + 1)}),
    ),
    (0, 3),
)
case(
    "input-subsample-to-nothing",
    run(
        recipe_text(
            ["  - subsample: {fraction: 0.001}", "  - top_code: {column: income, quantile: 0.9}"]
        )
    ),
    (0, 3, 4),
)
case(
    "input-zero-weights",
    run(
        recipe_text(columns=COLUMNS + "  weight: weight\n", extra="risk: {k: 1}\n"),
        data=with_value("weight", {i: "0" for i in range(1, ROWS + 1)}),
    ),
    (0, 3, 4),
)
case(
    "input-negative-weights",
    run(
        recipe_text(columns=COLUMNS + "  weight: weight\n", extra="risk: {k: 1}\n"),
        data=with_value("weight", {3: "-2"}),
    ),
    (0, 3, 4),
)
case(
    "input-local-suppression-k-above-records",
    run(recipe_text(["  - local_suppression: {k: 50}"], extra="risk: {k: 50}\n")),
    (3, 4),
)
case(
    "cli-risk-zero-weights",
    cli(
        "risk",
        "in.csv",
        "--key-vars",
        "age,sex",
        "--weight",
        "weight",
        data=with_value("weight", {i: "0" for i in range(1, ROWS + 1)}),
    ),
    (0, 3),
)
case(
    "cli-risk-negative-weight",
    cli(
        "risk",
        "in.csv",
        "--key-vars",
        "age,sex",
        "--weight",
        "weight",
        data=with_value("weight", {2: "-1.5"}),
    ),
    (0, 3),
)
case(
    "cli-risk-nested-parquet-column",
    cli(
        "risk",
        "n.parquet",
        "--key-vars",
        "age,tags",
        csv=False,
        files={
            "n.parquet": lambda p: write_parquet(
                p, parquet_table().append_column("tags", pa.array([[1, 2]] * ROWS))
            )
        },
    ),
    (0, 3),
)
case(
    "cli-scan-binary-parquet-column",
    cli(
        "scan",
        "b.parquet",
        csv=False,
        files={
            "b.parquet": lambda p: write_parquet(
                p, parquet_table().append_column("blob", pa.array([b"\x00\xff"] * ROWS))
            )
        },
    ),
    (0, 3),
)
case(
    "cli-demo-data-parent-is-a-file",
    cli("demo-data", "in.csv/x.csv", "--rows", "5"),
    (2, 3),
    "in.csv",
)
case(
    "cli-run-output-parent-is-a-file",
    run(None, "--output", "notes.txt/out", files={"notes.txt": "mine"}),
    (2, 3),
    "notes.txt",
    safety=True,
    lock_of="notes.txt/out",
)
case(
    "cli-run-gate-report-parent-is-a-file",
    run(BLOCKED, "--gate-report", "notes.txt/g.json", files={"notes.txt": "mine"}),
    (2, 3, 4),
    "notes.txt",
    safety=True,
)


# ---- the same problems through the other commands ------------------------------------------

BOM_CSV = "\ufeff" + csv_text(good_rows())
case("cli-risk-bom-first-column", cli("risk", "in.csv", "--key-vars", "pid,sex", data=BOM_CSV), 0)
case("cli-scan-bom-first-column", cli("scan", "in.csv", "--columns", "pid", data=BOM_CSV), 0)
case(
    "cli-risk-nfd-header",
    cli("risk", "in.csv", "--key-vars", f"age,{NFC_NAME}", data=NFD_CSV),
    (0, 3),
    when={3: (any_of("NFC", "Unicode", "normaliz"),)},
)
case(
    "cli-risk-semicolon-separated",
    cli("risk", "in.csv", "--key-vars", "age,sex", data=csv_text(good_rows(), sep=";")),
    3,
    "';'",
    "delimiter",
)
case("cli-scan-cp932", cli("scan", "in.csv", data=CP932_CSV), 3, "in.csv", "encoding")
case(
    "cli-tabulate-semicolon-separated",
    cli("tabulate", "r.yaml", files={"r.yaml": tabulation()}, data=csv_text(good_rows(), sep=";")),
    3,
    "';'",
    "input.delimiter",
)
case(
    "cli-tabulate-output-empty",
    cli("tabulate", "r.yaml", "--output", "", files={"r.yaml": tabulation()}),
    2,
    "--output",
)
case(
    "cli-tabulate-gate-report-is-folder",
    cli("tabulate", "r.yaml", "--gate-report", "gr", files={"r.yaml": tabulation(), "gr/x": "x"}),
    2,
    named("gr"),
)
case(
    "cli-tabulate-output-symlink",
    cli(
        "tabulate",
        "r.yaml",
        "--output",
        "out/t",
        files={"r.yaml": tabulation()},
        prepare=symlinked_output,
    ),
    2,
    "out/t",
    safety=True,
)


def published(tmp: Path) -> None:
    """Publish out/t with r.yaml (in-process; its output is dropped by the next invoke)."""
    from pipeline.cli import entry

    saved, sys.argv = sys.argv, ["anonymize", "run", "r.yaml", "-q"]
    try:
        entry.main()
    except SystemExit as exc:
        assert exc.code in (0, None), f"the setup run failed with exit {exc.code}"
    finally:
        sys.argv = saved
    assert (tmp / "out/t/manifest.json").is_file()


case(
    "cli-gate-only-gate-report-is-folder",
    run(
        None, "--gate-only", "out/t", "--gate-report", "gr", files={"gr/x": "x"}, prepare=published
    ),
    2,
    named("gr"),
    safety=True,
)
case(
    "cli-validate-input-override-missing",
    cli("validate", "r.yaml", "--input", "nope.csv", files={"r.yaml": recipe_text()}),
    3,
    "nope.csv",
)
case(
    "input-broken-symlink",
    run(csv=False, prepare=lambda tmp: (tmp / "in.csv").symlink_to(tmp / "gone.csv")),
    3,
    "in.csv",
)
case(
    "recipe-broken-symlink",
    cli("validate", "r.yaml", prepare=lambda tmp: (tmp / "r.yaml").symlink_to(tmp / "gone.yaml")),
    2,
    "r.yaml",
)
case(
    "hierarchy-broken-symlink",
    validate(
        recode_occupation("h/occ.csv"),
        prepare=lambda tmp: (tmp / "h").mkdir() or (tmp / "h/occ.csv").symlink_to(tmp / "x"),
    ),
    2,
    at("r.yaml", STEP_LINE),
    "occ.csv",
)
case(
    "recipe-contract-duplicate-key",
    validate(
        recipe_text(extra="contracts: {input: c.yaml}\n"),
        files={"c.yaml": CONTRACT_AGE + "        logicalType: string\n"},
    ),
    2,
    at("c.yaml", 12),
    "logicalType",
)
case(
    "input-keyed-hash-column-missing",
    run(
        recipe_text(
            columns=COLUMNS.replace(
                "pid: drop", "pid: drop, hh: {method: keyed_hash, key_env: ANON_MALFORMED_LONG_KEY}"
            )
        )
    ),
    3,
    "'hh'",
    "columns.linking_ids",
)


# ---- more output safety ------------------------------------------------------------------


def symlink_in_earlier_output(tmp: Path) -> None:
    published(tmp)
    write(tmp / "victim.txt", "precious")
    (tmp / "out/t/data/evil.csv").symlink_to(tmp / "victim.txt")


def planted_leftovers(tmp: Path) -> None:
    write(tmp / f"out/.t.staging-{'0' * 32}/notes.txt", "not the tool's")
    write(tmp / f"out/.t.old-{'1' * 32}/manifest.json", '{"name": "webapp"}')


case(
    "safety-symlink-inside-earlier-output",
    run(None, prepare=symlink_in_earlier_output),
    (0, 2),
    check=lambda tmp, code, out: _unchanged(tmp / "victim.txt", b"precious"),
)
case("safety-unmarked-leftovers-kept", run(None, prepare=planted_leftovers), 0, safety=True)
case(
    "safety-gate-report-symlink-to-input-blocked",
    run(
        BLOCKED,
        "--gate-report",
        "g.json",
        prepare=lambda tmp: (tmp / "g.json").symlink_to(tmp / "in.csv"),
    ),
    2,
    "g.json",
    safety=True,
)
case(
    "safety-default-gate-report-is-folder-blocked",
    run(BLOCKED, files={"out/t.gate_report.json/keep.txt": "keep"}),
    2,
    "t.gate_report.json",
    safety=True,
)


# --------------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------------


def test_cases_are_many_and_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    assert len(CASES) >= 110


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANON_MALFORMED_UNSET_KEY", raising=False)
    monkeypatch.setenv("ANON_MALFORMED_SHORT_KEY", "short")
    monkeypatch.setenv("ANON_MALFORMED_LONG_KEY", "a-key-that-is-long-enough-for-hmac")
    argv = case.setup(tmp_path)
    before = tree(tmp_path) if case.safety else {}
    code, output = invoke(argv, capfd)
    shown = f"anonymize {' '.join(argv)} -> exit {code}\n{output[-3000:]}"
    judged(case, code, output, shown)
    if case.safety:
        untouched(case, before, tmp_path, code, shown)
    if case.check is not None:
        case.check(tmp_path, code, output)


# ---- two runs on one output: the lock ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("wait", [None, "1"], ids=["at-once", "wait-1s"])
def test_locked_output_exits_6(
    wait: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = run(None, *(("--wait", wait) if wait else ()))(tmp_path)
    (tmp_path / "out").mkdir()
    lock = tmp_path / "out" / ".t.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        before = tree(tmp_path)
        start = time.monotonic()
        code, output = invoke(argv, capfd)
        elapsed = time.monotonic() - start
    finally:
        os.close(fd)
    shown = f"anonymize {' '.join(argv)} -> exit {code} after {elapsed:.1f} s\n{output[-3000:]}"
    assert TRACEBACK not in output, shown
    assert code == 6, shown
    assert ".t.lock" in output, shown
    if wait:
        assert 0.9 <= elapsed < 30, shown
    assert tree(tmp_path) == before, shown


def test_locked_tabulation_exits_6(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = cli("tabulate", "r.yaml", files={"r.yaml": tabulation()})(tmp_path)
    (tmp_path / "out").mkdir()
    fd = os.open(tmp_path / "out" / ".tt.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, output = invoke(argv, capfd)
    finally:
        os.close(fd)
    assert TRACEBACK not in output and code == 6 and ".tt.lock" in output, (code, output[-2000:])
    assert not (tmp_path / "out" / "tt").exists()
