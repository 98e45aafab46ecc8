"""The report's "What the protection cost" section: information loss, aggregates only."""

from __future__ import annotations

from html import escape
from typing import Any

from pipeline.utility.model import Utility

_OVERALL = (
    ("records", "records released"),
    ("records_removed", "records not released (sampling, deletion)"),
    ("suppressed_records", "records with every key value suppressed"),
    ("precision_loss", "precision loss (0 = as before, 1 = all suppressed)"),
    ("loss", "loss (ARX: share of the domain merged)"),
    ("discernibility", "discernibility"),
    ("classes", "equivalence classes"),
    ("c_avg", "average class size / k (C_avg)"),
    ("entropy", "non-uniform entropy (bits)"),
    ("il1s", "IL1s of the numeric variables (sdcMicro's, a sum)"),
    ("il1s_mean", "IL1s per value compared"),
    ("correlation_change", "largest change of a correlation"),
)
_VARIABLE = (
    ("level", "level"), ("height", "height"), ("suppressed", "suppressed"),
    ("suppressed_share", "share suppressed"), ("categories_before", "categories before"),
    ("categories_after", "categories after"), ("precision_loss", "precision loss"),
    ("loss", "loss"), ("hellinger", "Hellinger distance"),
)  # fmt: skip
_NUMERIC = (
    ("il1s", "IL1s"), ("il1s_mean", "IL1s per value"), ("mean_before", "mean before"),
    ("mean_after", "mean after"),
    ("mean_change", "relative change"), ("sd_before", "sd before"), ("sd_after", "sd after"),
    ("sd_change", "relative change"),
)  # fmt: skip


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return escape(str(value))


def _rows(items: list[Any], fields: tuple, name: str) -> str:
    head = f'<tr><th class="l">{name}</th>' + "".join(f"<th>{t}</th>" for _, t in fields)
    rows = "".join(
        f'<tr><td class="l">{escape(getattr(i, "column", ""))}</td>'
        + "".join(f"<td>{_fmt(getattr(i, f))}</td>" for f, _ in fields)
        + "</tr>"
        for i in items
    )
    return f"<table>{head}</tr>{rows}</table>"


def utility_section(found: Utility | None) -> str:
    """The section's HTML (a sentence when nothing was measured)."""
    if found is None:
        return "<h2>What the protection cost</h2><p>No variables were measured.</p>"
    overall = "".join(
        f'<tr><td class="l">{label}</td><td>{_fmt(getattr(found, key))}</td></tr>'
        for key, label in _OVERALL
        if getattr(found, key) is not None
    )
    warn = "".join(f'<li class="bad">{escape(w)}</li>' for w in found.warnings)
    parts = [
        "<h2>What the protection cost</h2>",
        "<p>Each released record compared with itself before the steps (whole file). "
        f"C_avg is measured against k = {found.k}.</p>",
        f"<ul>{warn}</ul>" if warn else "",
        f"<table>{overall}</table>",
        _rows(found.variables, _VARIABLE, "variable"),
    ]
    if found.numeric:
        parts.append(_rows(found.numeric, _NUMERIC, "numeric variable"))
    if found.tables:
        rows = "".join(
            f'<tr><td class="l">{escape(" x ".join(t.columns))}</td><td>{_fmt(t.tvd)}</td>'
            f"<td>{t.cells_before}</td><td>{t.cells_after}</td></tr>"
            for t in found.tables
        )
        parts.append(
            '<table><tr><th class="l">table</th><th>total-variation distance</th>'
            f"<th>cells before</th><th>cells after</th></tr>{rows}</table>"
        )
    parts.append(_perturbed(found))
    return "".join(parts)


_PERTURBED = (
    ("records", "records compared"),
    ("sse_sst", "SSE/SST (standardised)"),
    ("interval_disclosure", "interval disclosure: every original value within +- k sd"),
    ("interval_k", "interval half-width k (sd of the released variable)"),
    ("record_linkage", "record linkage: nearest original is the record's own"),
    ("linkage_records", "released records whose link was tried"),
)


def _perturbed(found: Utility) -> str:
    """The perturbed numeric variables' risk and loss, and PRAM's changed shares."""
    out = ""
    p = found.perturbation
    if p is not None:
        rows = "".join(
            f'<tr><td class="l">{label}</td><td>{_fmt(getattr(p, key))}</td></tr>'
            for key, label in _PERTURBED
        )
        out += (
            f"<h3>Perturbed numeric variables ({escape(', '.join(p.variables))})</h3>"
            f"<table>{rows}</table>"
        )
    randomised = [v for v in found.variables if v.changed_share is not None]
    if randomised:
        rows = "".join(
            f'<tr><td class="l">{escape(v.column)}</td><td>{_fmt(v.changed_share)}</td>'
            f"<td>{escape(', '.join(_fmt(c) for c in v.changed_by_category or []))}</td></tr>"
            for v in randomised
        )
        out += (
            '<h3>Randomised variables (PRAM)</h3><table><tr><th class="l">variable</th>'
            "<th>share changed</th><th>per category (sorted order)</th></tr>"
            f"{rows}</table>"
        )
    return out
