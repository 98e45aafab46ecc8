"""``--gate-only``, the facts: what the manifest says, recomputed from the files and the recipe.

Without the input, a published output still says much about itself. Each check names the facts
that disagree (by key path, never a value) and fails with ``manifest_inconsistent``:

* ``manifest.recipe_facts``: the seed, the name, the removed columns and every step's name and
  parameters are the recipe's;
* ``manifest.rows``: each data file has the rows recorded for it, they add up to ``rows_out``,
  and the steps' row counts chain from ``rows_in`` to ``rows_out``;
* ``manifest.columns``: the published columns (and, for Parquet, their types) are those recorded;
* ``manifest.risk_after``: the risk of the published files, measured again, is the one recorded;
* ``manifest.utility``: what the released data alone tells of the information loss (records,
  categories left per key variable, values missing at least as many as suppressed);
* ``manifest.gate``: the recorded verdict is a passed gate of this run;
* ``risk_report.json``: the report is the one rebuilt from the manifest, the recipe and the
  risk measured again (its steps, facts, utility, gate, files, targets, run and recipe);
* ``public_notice.md``: the notice is the one written again from the manifest and the recipe;
* ``codebook.json`` / ``codebook.md``: the codebook is the one rebuilt from the files;
* ``series.state`` (a release of a series): its state fits the files (``audit_series``).

An edit of one record is caught by another that holds the same fact; an edit of them all
together only by the signature (``output.signing_key_env``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.engine.audit_diff import differences, shown_path
from pipeline.engine.audit_files import Listing
from pipeline.gate.catalog import CheckKind, RanStep, register
from pipeline.gate.checks import table_result
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.io.dataset import Dataset, type_names
from pipeline.manifest import Manifest
from pipeline.recipe.loader import LoadedRecipe, StepCall
from pipeline.recipe.models import Recipe
from pipeline.report.codebook import (
    CODEBOOK_JSON,
    CODEBOOK_MD,
    CODEBOOK_PAGE,
    build_codebook,
    codebook_markdown,
    codebook_page,
)
from pipeline.report.model import RiskReport, Snapshot
from pipeline.report.notice import NOTICE, NOTICE_PAGE, notice_page, notice_text
from pipeline.report.profile import Profile
from pipeline.report.write import REPORT_JSON, build_report
from pipeline.risk.summary import RiskSummary


@dataclass
class Audited:
    """A published output under audit: its manifest, its data and what was measured again."""

    loaded: LoadedRecipe
    recipe: Recipe
    manifest: Manifest
    data: Dataset
    after: Snapshot | None
    out_dir: Path
    steps: list[RanStep]
    first: list[StepCall]  # the steps run before the recipe's (identifiers, series)
    last: list[StepCall]  # the step run after them (a series')
    listing: Listing  # the output's files and folders
    raw: dict[str, Any]  # manifest.json as read (for its signature)
    series_state: CheckResult | None = None  # a release of a series: its state fits the files
    profile: Profile | None = None  # what the files hold, column by column (the codebook's)

    def check(self, id_: str, description: str, wrong: list[str]) -> CheckResult:
        """A fact check: passed when nothing is ``wrong`` (key paths, shown without values)."""
        names = {*self.recipe.columns.roles(), *self.data.columns, REPORT_JSON, NOTICE}
        return _check(id_, description, wrong, names)


def _check(id_: str, description: str, wrong: list[str], names: set[str]) -> CheckResult:
    wrong = list(dict.fromkeys(shown_path(w, names) for w in wrong))
    shown = f" (differs: {', '.join(wrong[:6])}{', ...' if len(wrong) > 6 else ''})"
    return table_result(
        "output",
        id_,
        Reason.MANIFEST_INCONSISTENT,
        description + (shown if wrong else ""),
        len(wrong),
        "0 facts differ",
        not wrong,
    )


def _as_json(model: Any) -> Any:
    return json.loads(model.model_dump_json())


def recipe_facts(audit: Audited) -> CheckResult:
    """The seed, name, removed columns and the steps as they were called are the recipe's."""
    m, recipe = audit.manifest, audit.recipe
    wrong = differences(
        {
            "seed": recipe.seed,
            "recipe_name": recipe.name,
            "columns_removed": recipe.columns.removed(),
        },
        {"seed": m.seed, "recipe_name": m.recipe_name, "columns_removed": m.columns_removed},
    )
    calls = [*audit.first, *audit.loaded.steps, *audit.last]
    expected = [
        {"name": c.spec.name, "automatic": c.spec.automatic, "params": _as_json(c.params)}
        for c in calls
    ]
    found = [{"name": r.name, "automatic": r.automatic, "params": r.params} for r in m.steps]
    wrong += differences(expected, found, "steps")
    return audit.check(
        "manifest.recipe_facts",
        "the seed, the removed columns and every step's "
        "parameters in manifest.json are the recipe's",
        wrong,
    )


def _file_rows(data: Dataset, path: Path) -> int | None:
    try:
        return data.file_rows(path)
    except Exception:  # noqa: BLE001 - an unreadable file is a difference, never a crash
        return None


def rows_facts(audit: Audited) -> CheckResult:
    """Each file's rows, their sum, the chain of the steps' rows and the other row counts."""
    m = audit.manifest
    wrong = [
        f"files[{i}].rows"
        for i, f in enumerate(m.files)
        if _file_rows(audit.data, audit.out_dir / f.path) != f.rows
    ]
    if sum(f.rows for f in m.files) != m.rows_out:
        wrong.append("rows_out")
    previous = m.rows_in
    for i, step in enumerate(m.steps):
        if step.rows_in != previous:
            wrong.append(f"steps[{i}].rows_in")
        previous = step.rows_out
    if m.steps and previous != m.rows_out:
        wrong.append(f"steps[{len(m.steps) - 1}].rows_out")
    if m.utility is not None and m.utility.records != m.rows_out:
        wrong.append("utility.records")
    for name, risk, rows in (
        ("risk_before", m.risk_before, m.rows_in),
        ("risk_after", m.risk_after, m.rows_out),
    ):
        if risk is not None and risk.records != rows:
            wrong.append(f"{name}.records")
    return audit.check(
        "manifest.rows",
        "the rows of each data file, rows_out and the steps' row "
        "counts in manifest.json agree with the files",
        wrong,
    )


def columns_facts(audit: Audited) -> CheckResult:
    """The published columns (and Parquet types) are those recorded."""
    m, data = audit.manifest, audit.data
    wrong = differences(m.columns_out, data.columns, "columns_out")
    if data.format == "parquet":
        wrong += differences(m.column_types, type_names(data.schema), "column_types")
    return audit.check(
        "manifest.columns",
        "the columns (and their types) in manifest.json are those of the data files",
        wrong,
    )


def risk_facts(audit: Audited) -> CheckResult:
    """The risk measured again on the published files is the risk recorded."""
    recorded = audit.manifest.risk_after
    measured = audit.after.summary if audit.after is not None else None
    wrong = differences(_plain(measured), _plain(recorded), "risk_after")
    return audit.check(
        "manifest.risk_after",
        "the risk of the published files, measured again, is the one in manifest.json",
        wrong,
    )


def _plain(value: RiskSummary | None) -> Any:
    return json.loads(value.model_dump_json()) if value is not None else None


def utility_facts(audit: Audited) -> CheckResult:
    """What the released data says of the loss: categories left, values missing."""
    utility, wrong = audit.manifest.utility, []
    keys = audit.after.summary.key_variables if audit.after is not None else {}
    for i, variable in enumerate(utility.variables if utility is not None else []):
        found = keys.get(variable.column)
        if found is None:
            continue
        if variable.categories_after != found.categories:
            wrong.append(f"utility.variables[{i}].categories_after")
        if variable.suppressed > found.missing:
            wrong.append(f"utility.variables[{i}].suppressed")
    return audit.check(
        "manifest.utility",
        "the information-loss figures in manifest.json fit the "
        "released data (records, categories, missing values)",
        wrong,
    )


def gate_facts(audit: Audited) -> CheckResult:
    """The recorded verdict is a passed gate of this very run and recipe."""
    m, wrong = audit.manifest, []
    gate = m.gate
    if gate is None:
        wrong.append("gate")
    else:
        wrong += differences(
            {
                "outcome": "published",
                "passed": True,
                "run_id": m.run_id,
                "recipe_sha256": m.recipe.sha256,
            },
            {
                "outcome": gate.outcome,
                "passed": gate.passed,
                "run_id": gate.run_id,
                "recipe_sha256": gate.recipe_sha256,
            },
            "gate",
        )
        wrong += [
            f"gate.output.checks[{i}]"
            for i, c in enumerate(gate.output.checks if gate.output else [])
            if not c.passed
        ]
    return audit.check("manifest.gate", "manifest.json records a passed gate of this run", wrong)


def report_facts(audit: Audited) -> CheckResult:
    """``risk_report.json`` is the report rebuilt from the manifest, recipe and the files."""
    m = audit.manifest
    try:
        text = (audit.out_dir / REPORT_JSON).read_text(encoding="utf-8")
        found = json.loads(text)
        report = RiskReport.model_validate(found)
    except (OSError, ValueError, RecursionError):
        return audit.check(f"{REPORT_JSON}", f"{REPORT_JSON} is a risk report", [REPORT_JSON])
    after = audit.after if audit.after is not None else report.after
    rebuilt = build_report(m, audit.recipe, report.before, after, m.gate, report.series)
    wrong = differences(_as_json(rebuilt), found)
    before = report.before.summary if report.before is not None else None
    wrong += differences(_plain(before), _plain(m.risk_before), "risk_before")
    what = "agrees with manifest.json and the files (steps, facts, utility, gate, files, risk)"
    return audit.check(REPORT_JSON, f"{REPORT_JSON} {what}", wrong)


def notice_facts(audit: Audited) -> CheckResult:
    """``public_notice.md`` and its page are the notice written again from the manifest."""
    expected = notice_text(audit.manifest, audit.recipe, audit.steps, audit.loaded.base_dir)
    wrong = _unlike(audit.out_dir / NOTICE, expected)
    wrong += _unlike(audit.out_dir / NOTICE_PAGE, notice_page(expected, audit.manifest.run_id))
    return audit.check(
        NOTICE, f"{NOTICE} and its page are the notice of this run's columns and steps", wrong
    )


def _unlike(path: Path, expected: str) -> list[str]:
    """``[path's name]`` unless the file holds exactly ``expected``."""
    try:
        same = path.read_text(encoding="utf-8") == expected
    except (OSError, ValueError):
        same = False
    return [] if same else [path.name]


def codebook_facts(audit: Audited) -> CheckResult:
    """``codebook.json`` and ``codebook.md`` are the codebook rebuilt from the files."""
    m, data = audit.manifest, audit.data
    profile = audit.profile or Profile()
    rebuilt = build_codebook(
        m, audit.recipe, audit.steps, audit.loaded.base_dir, data.schema, profile
    )
    wrong: list[str] = []
    try:
        found = json.loads((audit.out_dir / CODEBOOK_JSON).read_text(encoding="utf-8"))
        wrong += differences(_as_json(rebuilt), found)
    except (OSError, ValueError, RecursionError):
        wrong.append(CODEBOOK_JSON)
    text = codebook_markdown(rebuilt)
    wrong += _unlike(audit.out_dir / CODEBOOK_MD, text)
    wrong += _unlike(audit.out_dir / CODEBOOK_PAGE, codebook_page(text, m.run_id))
    what = "agree with the published files (columns, categories, missing values, weight)"
    return audit.check(CODEBOOK_JSON, f"{CODEBOOK_JSON}, {CODEBOOK_MD} and its page {what}", wrong)


def fact_checks(audit: Audited) -> list[CheckResult]:
    """Every fact check of the manifest (see the module's documentation)."""
    return [
        recipe_facts(audit),
        rows_facts(audit),
        columns_facts(audit),
        risk_facts(audit),
        utility_facts(audit),
        gate_facts(audit),
        report_facts(audit),
        notice_facts(audit),
        codebook_facts(audit),
        *([audit.series_state] if audit.series_state is not None else []),
    ]


register(
    CheckKind(
        name="manifest_facts",
        summary="what manifest.json, the risk report, the notice and a series' state say of the "
        "output agrees with its files and its recipe (measured again)",
        reasons=(Reason.MANIFEST_INCONSISTENT,),
        reads=("published",),
        audit=True,
        table=lambda ev: fact_checks(ev.published),
    )
)
