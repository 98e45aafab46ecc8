"""Render the risk report as one self-contained HTML page (inline CSS and SVG, no network)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from pipeline.report.loss_html import utility_section
from pipeline.report.model import Histogram, RiskReport

_COLORS = ("#b45309", "#2563eb")
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1000px;
color:#1f2937;line-height:1.45}h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;
margin-top:2rem;border-bottom:1px solid #e5e7eb;padding-bottom:.2rem}.meta{color:#6b7280;
font-size:.85rem}table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}td,th{border:1px
solid #e5e7eb;padding:.25rem .6rem;text-align:right}th{background:#f9fafb}td.l,th.l{text-align:
left}.ok{background:#dcfce7;color:#166534}.bad{background:#fee2e2;color:#991b1b}.verdict{display:
inline-block;padding:.4rem .8rem;border-radius:.4rem;margin:.2rem .4rem .2rem 0;font-weight:600}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 .8rem;vertical-align:
middle}.grid{display:flex;flex-wrap:wrap;gap:1rem}.grid>div{flex:1 1 300px}table.gate{font-size:
.8rem;width:100%}table.gate td{overflow-wrap:anywhere}
"""
_SUMMARY_ROWS = (
    ("records", "records"),
    ("classes", "key combinations"),
    ("sample_uniques", "sample uniques (fk = 1)"),
    ("k_violations", "records with fk < k"),
    ("expected_reidentifications", "expected re-identifications"),
    ("global_risk", "global risk"),
    ("max_individual_risk", "largest individual risk"),
    ("household_global_risk", "household global risk"),
)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    if isinstance(value, dict):
        return escape(", ".join(f"{k}={_fmt(v)}" for k, v in value.items()))
    return escape(str(value))


def bar_chart(series: list[tuple[str, Histogram]], title: str, width: int = 620) -> str:
    """Grouped bar chart as inline SVG (one group per label, one bar per series)."""
    labels = series[0][1].labels
    peak = max([max(h.counts, default=0) for _, h in series] + [1])
    height, left, bottom, top = 230, 48, 48, 24
    plot_w, plot_h = width - left - 10, height - bottom - top
    group = plot_w / max(len(labels), 1)
    bar = group * 0.8 / len(series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="15" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#9ca3af"/>',
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for i, label in enumerate(labels):
        x0 = left + i * group + group * 0.1
        for s, (_, hist) in enumerate(series):
            value = hist.counts[i]
            h = plot_h * value / peak
            x = x0 + s * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{_COLORS[s % 2]}"><title>{escape(label)}: {value}'
                "</title></rect>"
            )
        cx = left + (i + 0.5) * group
        parts.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 14}" font-size="10" text-anchor="end" '
            f'transform="rotate(-35 {cx:.1f} {top + plot_h + 14})">{escape(label)}</text>'
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span style="background:{_COLORS[s % 2]}"></span>{escape(name)}'
        for s, (name, _) in enumerate(series)
    )
    return f'<div><div class="legend">{legend}</div>{"".join(parts)}</div>'


def _summary_table(report: RiskReport) -> str:
    rows = []
    for key, label in _SUMMARY_ROWS:
        if key in report.before.summary or key in report.after.summary:
            rows.append(
                f'<tr><td class="l">{label}</td><td>{_fmt(report.before.summary.get(key, ""))}'
                f"</td><td>{_fmt(report.after.summary.get(key, ''))}</td></tr>"
            )
    head = '<tr><th class="l"></th><th>before the steps</th><th>published</th></tr>'
    return f"<table>{head}{''.join(rows)}</table>"


def _categories(report: RiskReport) -> str:
    blocks = []
    for title, items in list(report.before.risky_categories.items())[:12]:
        rows = "".join(
            f'<tr><td class="l">{escape(i.value)}</td><td>{i.records}</td></tr>' for i in items
        )
        blocks.append(
            f'<div><table><tr><th class="l">{escape(title)}</th><th>records below k</th></tr>'
            f"{rows}</table></div>"
        )
    if not blocks:
        return "<p>No category is held by k or more records below k.</p>"
    return f'<div class="grid">{"".join(blocks)}</div>'


def _ldiversity(report: RiskReport) -> str:
    if not report.after.l_diversity:
        return "<p>No sensitive variables declared.</p>"
    head = (
        '<tr><th class="l">sensitive variable</th><th>classes</th><th>min distinct l</th>'
        "<th>records in classes with one value</th><th>min entropy l</th>"
        "<th>share of classes recursive (c,l)</th></tr>"
    )
    rows = "".join(
        f'<tr><td class="l">{escape(name)}</td><td>{d.get("classes")}</td>'
        f"<td>{d.get('min_distinct_l')}</td><td>{d.get('records_in_classes_with_distinct_l_1')}"
        f"</td><td>{_fmt(d.get('min_entropy_l'))}</td>"
        f"<td>{_fmt(d.get('share_classes_recursive_cl'))} (c={d.get('recursive_c')}, "
        f"l={d.get('recursive_l')})</td></tr>"
        for name, d in report.after.l_diversity.items()
    )
    return f"<table>{head}{rows}</table>"


def _steps(report: RiskReport) -> str:
    head = (
        '<tr><th>#</th><th class="l">step</th><th>rows in</th><th>rows out</th>'
        '<th class="l">what it computed / changed</th></tr>'
    )
    rows = "".join(
        f'<tr><td>{s.index + 1}</td><td class="l">{escape(s.name)}</td><td>{s.rows_in}</td>'
        f'<td>{s.rows_out}</td><td class="l">{_fmt({**s.facts, **s.metrics})}</td></tr>'
        for s in report.steps
    )
    return f"<table>{head}{rows}</table>"


def _gate(report: RiskReport) -> str:
    gate = report.gate
    if gate is None:
        return "<p>No gate result.</p>"
    parts = []
    for result in (gate.input, gate.output):
        if result is None:
            continue
        head = (
            '<tr><th class="l">check · reason code</th><th class="l">what</th>'
            '<th class="l">engine</th><th>observed</th><th class="l">required</th><th>result</th>'
            "</tr>"
        )
        rows = "".join(
            f'<tr><td class="l">{escape(c.id)}<br><small>{escape(c.reason)}</small></td>'
            f'<td class="l">{escape(c.description)}</td><td class="l">'
            f"{escape(c.expectation or c.engine)}</td>"
            f"<td>{'' if c.observed is None else _fmt(c.observed)}</td>"
            f'<td class="l">{escape(c.threshold)}</td>'
            f'<td class="{"ok" if c.passed else "bad"}">{"pass" if c.passed else "FAIL"}</td></tr>'
            for c in sorted(result.checks, key=lambda c: c.passed)  # failures first
        )
        parts.append(
            f"<p><b>{escape(result.stage)} stage</b>: {len(result.checks)} checks, "
            f"{len(result.failures)} failed; {result.rows} rows in {result.batches} batches "
            f'validated in {result.seconds:.2f} s.</p><table class="gate">{head}{rows}</table>'
        )
    return "".join(parts)


def _gate_verdict(report: RiskReport) -> str:
    if report.gate is None:
        return ""
    ok = report.gate.passed
    return (
        f'<span class="verdict {"ok" if ok else "bad"}">data-quality gate '
        f"{'passed' if ok else 'FAILED'}</span>"
    )


def render_html(report: RiskReport) -> str:
    """The whole report page."""
    if report.targets is None or report.before is None or report.after is None:
        body = (
            f"<h1>Disclosure risk report: {escape(report.recipe_name)}</h1>"
            "<p>The recipe declares no key variables, so disclosure risk was not measured.</p>"
            f"<h2>Verdict</h2><div>{_gate_verdict(report)}</div>"
            f"{utility_section(report.utility)}"
            f"<h2>Data-quality gate</h2>{_gate(report)}"
            f"<h2>What each step changed</h2>{_steps(report)}"
        )
        return _page(report, body)
    t = report.targets
    verdicts = [
        _gate_verdict(report),
        f'<span class="verdict {"ok" if t.k_reached else "bad"}">{t.k}-anonymity '
        f"{'holds' if t.k_reached else 'does NOT hold'}</span>",
    ]
    if t.max_global_risk is not None:
        verdicts.append(
            f'<span class="verdict {"ok" if t.global_risk_ok else "bad"}">global risk '
            f"{_fmt(report.after.summary.get('global_risk'))} "
            f"{'<=' if t.global_risk_ok else '>'} {t.max_global_risk:g}</span>"
        )
    both = [("before the steps", report.before), ("published", report.after)]
    charts = bar_chart(
        [(n, s.class_sizes) for n, s in both], "Records by class size fk"
    ) + bar_chart([(n, s.individual_risk) for n, s in both], "Records by individual risk rk")
    if report.suppressions:
        supp = Histogram(
            labels=list(report.suppressions), counts=list(report.suppressions.values())
        )
        charts += bar_chart([("suppressed values", supp)], "Local suppressions per key variable")
    body = f"""<h1>Disclosure risk report: {escape(report.recipe_name)}</h1>
<div class="meta">run {escape(report.run_id)} · generated {escape(report.generated_at)} ·
recipe sha256 {escape(report.recipe_sha256[:16])}… · schema {escape(report.schema_version)}</div>
<h2>Verdict</h2><div>{"".join(verdicts)}</div>
<p>Key variables: {escape(", ".join(report.key_variables))}; weight:
{escape(report.weight or "none")}; missing key values:
{escape(str(report.after.summary.get("missing")))}.</p>
<h2>Risk before and after</h2>{_summary_table(report)}
<div class="grid">{charts}</div>
{utility_section(report.utility)}
<h2>Where the risk was (input, aggregates only)</h2>
<p>Categories held by records below k before the steps. A category is named only when at
least k such records hold it; no record-level values are shown.</p>{_categories(report)}
<h2>l-diversity of sensitive variables (published data)</h2>{_ldiversity(report)}
<h2>Data-quality gate</h2>{_gate(report)}
<h2>What each step changed</h2>{_steps(report)}"""
    return _page(report, body)


def _page(report: RiskReport, body: str) -> str:
    data = escape(json.dumps({"run_id": report.run_id, "schema_version": report.schema_version}))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Risk report '
        f"{escape(report.recipe_name)}</title><style>{_CSS}</style></head><body "
        f"data-report='{data}'>{body}</body></html>\n"
    )
