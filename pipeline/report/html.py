"""Render the risk report as one self-contained HTML page (``risk_report.html.j2``).

The page is a Jinja2 template (autoescaped, :mod:`pipeline.report.render`); its charts are
SVG drawn by a template too (:mod:`pipeline.report.charts`). Nothing is fetched.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from pipeline.core.numbers import number
from pipeline.gate.judge import BLOCKED_PAGE
from pipeline.gate.model import GateReport
from pipeline.report.charts import bar_chart, share_chart
from pipeline.report.loss_html import utility_context
from pipeline.report.model import Histogram, RiskReport
from pipeline.report.render import render
from pipeline.risk.summary import RiskSummary

SHOWN_CATEGORIES = 15  # variables and pairs shown where the risk was (5 keys: all); more: JSON

_COUNTED = {"any": "matching any value", "category": "as a category of its own"}
_SUMMARY_ROWS = (
    ("records", "records"),
    ("classes", "key combinations (a missing value counted as a value)"),
    ("sample_uniques", "sample uniques (fk = 1)"),
    ("k_violations", "records with fk < k"),  # the convention's other figures follow these
    ("expected_reidentifications", "expected re-identifications"),
    ("global_risk", "global risk"),
    ("max_individual_risk", "largest individual risk"),
    ("household_global_risk", "household global risk"),
)
_MODEL_ROWS = (
    ("unique_risk", "model risk: sample uniques unique in the population (log-linear)"),
    ("match_risk", "model risk: a match of a sample unique is correct (log-linear)"),
)
_SUDA2_ROWS = (
    ("special_uniques", "SUDA2 special uniques (unique on fewer variables than the keys)"),
    ("scored", "records with a SUDA score (a minimal sample unique)"),
    ("max_score", "largest SUDA score"),
    ("max_dis_score", "largest DIS-SUDA score"),
)


def _verdicts(report: RiskReport) -> list[tuple[bool, str]]:
    out = []
    if report.gate is not None:
        ok = report.gate.passed
        out.append((ok, f"data-quality gate {'passed' if ok else 'FAILED'}"))
    t = report.targets
    if t is None or report.after is None:
        return out
    held = "holds" if t.k_reached else "does NOT hold"
    out.append((t.k_reached, f"{t.k}-anonymity {held} (missing: {report.after.summary.missing})"))
    if t.max_global_risk is not None:
        risk = number(report.after.summary.global_risk)
        sign = "≤" if t.global_risk_ok else ">"
        out.append(
            (bool(t.global_risk_ok), f"global risk {risk} {sign} {number(t.max_global_risk)}")
        )
    found = report.after.summary.suda2
    if t.suda2_ok is not None and found is not None:
        said = [
            f"{found.special_uniques} special uniques (at most {t.max_special_uniques})"
            if t.max_special_uniques is not None
            else "",
            f"largest DIS-SUDA score {number(found.max_dis_score)} (at most "
            f"{number(t.max_dis_score)})"
            if t.max_dis_score is not None
            else "",
        ]
        out.append((bool(t.suda2_ok), "SUDA2: " + "; ".join(s for s in said if s)))
    return out


def _contents(report: RiskReport) -> list[tuple[str, str]]:
    """The page's sections present in this report: (heading id, title)."""
    measured = report.targets is not None
    found = [
        ("verdict", "verdict", True),
        ("risk", "risk before and after", measured),
        ("series", "release series", report.series is not None),
        ("utility", "what the protection cost", report.utility is not None),
        ("where", "where the risk was", measured),
        ("l-diversity", "l-diversity", measured),
        ("gate", "data-quality gate", True),
        ("steps", "what each step changed", True),
    ]
    return [(id_, title) for id_, title, present in found if present]


def _convention(report: RiskReport) -> str:
    """How missing key values were counted, in words, with the other convention's figures."""
    if report.after is None:
        return ""
    summary = report.after.summary
    if summary.missing == "any":
        said = (
            "Missing key values (suppressed or not collected) match any value when records "
            "are counted for k, sample uniques and the risk (missing: any, sdcMicro's "
            "convention): a suppressed value protects its record. The key combinations and "
            "l-diversity count a missing value as a value of its own."
        )
    else:
        said = (
            "Missing key values (suppressed or not collected) count as a category of their "
            "own everywhere (missing: category): k, sample uniques, the risk, the key "
            "combinations and l-diversity alike."
        )
    other = summary.other_convention
    if other is None:
        return said
    return (
        f"{said} Counted the other way (a missing value {_COUNTED[other.missing]}), the "
        f"records would hold {number(other.sample_uniques)} sample uniques and "
        f"{number(other.k_violations)} records in classes smaller than k; the table below "
        "shows both."
    )


def _charts(report: RiskReport, after: str) -> list[tuple[Markup, str]]:
    if report.before is None or report.after is None:
        return []
    both = [("before the steps", report.before), (after, report.after)]
    charts = [
        (
            bar_chart(
                [(n, s.class_sizes) for n, s in both],
                "Records by class size fk",
                "size fk of the record's class (records sharing its key values)",
            ),
            "Records in classes smaller than k are at risk; k is the recipe's target.",
        ),
        (
            bar_chart(
                [(n, s.individual_risk) for n, s in both],
                "Records by individual risk rk",
                "individual re-identification risk rk",
            ),
            "rk is sdcMicro's individual risk (the record's chance of being re-identified).",
        ),
    ]
    if report.suppressions:
        supp = Histogram(
            labels=list(report.suppressions), counts=list(report.suppressions.values())
        )
        charts.append(
            (
                bar_chart(
                    [("suppressed values", supp)],
                    "Local suppressions per key variable",
                    "key variable",
                    "values set missing",
                ),
                "Values set missing by local suppression, per key variable.",
            )
        )
    return charts


def _loss_chart(report: RiskReport) -> list[tuple[Markup, str]]:
    found = report.utility
    if found is None or not found.variables:
        return []
    labels = [v.column for v in found.variables]
    series = [
        ("precision loss", [v.precision_loss for v in found.variables]),
        ("share suppressed", [v.suppressed_share for v in found.variables]),
        ("ARX loss", [v.loss for v in found.variables]),
    ]
    chart = share_chart(labels, series, "What each variable lost", "variable")
    caption = (
        "Precision loss: level / height of the released value, 1 when suppressed; "
        "ARX loss: the share of the domain merged into the released value."
    )
    return [(chart, caption)]


def _summary_rows(before: RiskSummary, after: RiskSummary) -> list[tuple[str, Any, Any]]:
    """The risk table's rows: the figures under the run's convention, then the other's."""
    rows = [
        (label, getattr(before, key), getattr(after, key))
        for key, label in _SUMMARY_ROWS
        if getattr(before, key) is not None or getattr(after, key) is not None
    ]
    other_b, other_a = before.other_convention, after.other_convention
    if other_b is not None and other_a is not None:
        said = f"(a missing value {_COUNTED[other_a.missing]})"
        rows[4:4] = [  # after the run's own sample uniques and records below k
            (f"sample uniques {said}", other_b.sample_uniques, other_a.sample_uniques),
            (f"records with fk < k {said}", other_b.k_violations, other_a.k_violations),
        ]
    if before.model_risk is not None and after.model_risk is not None:
        rows += [
            (label, getattr(before.model_risk, key), getattr(after.model_risk, key))
            for key, label in _MODEL_ROWS
        ]
    if before.population is not None and after.population is not None:
        rows.append(
            (
                f"population uniques, estimated ({after.population.dankar_model}; Dankar's rule)",
                before.population.dankar,
                after.population.dankar,
            )
        )
    if before.suda2 is not None and after.suda2 is not None:
        rows += [
            (label, getattr(before.suda2, key), getattr(after.suda2, key))
            for key, label in _SUDA2_ROWS
        ]
    return rows


def render_html(report: RiskReport, blocked: str | None = None) -> str:
    """The whole report page.

    ``blocked``: where the run would have published (a blocked run's page: marked not
    published, its failed checks first).
    """
    label = "not published" if blocked is not None else "published"
    context: dict[str, Any] = {
        "report": report,
        "contents": _contents(report),
        "notes": list(report.utility.warnings) if report.utility else [],
        "convention": _convention(report),
        "shown_categories": SHOWN_CATEGORIES,
        "blocked": blocked is not None,
        "where": blocked or "",
        "data": {"run_id": report.run_id, "schema_version": report.schema_version},
        "verdicts": _verdicts(report),
        "charts": _charts(report, label),
        "after_label": label,
        "summary_rows": [],
        "loss_charts": _loss_chart(report),
        **utility_context(report.utility),
    }
    if report.before is not None and report.after is not None:
        context["summary_rows"] = _summary_rows(report.before.summary, report.after.summary)
    if blocked is not None:
        context["page_kind"] = BLOCKED_PAGE
    return render("risk_report.html.j2", **context)


def render_blocked(gate: GateReport, where: str) -> str:
    """A blocked run's page without a risk report (a tabulation's): its gate, failed first."""
    data = {"run_id": gate.run_id, "schema_version": gate.schema_version}
    return render("blocked.html.j2", gate=gate, where=where, data=data, page_kind=BLOCKED_PAGE)
