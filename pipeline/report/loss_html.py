"""The context of the report's "What the protection cost" section (``utility.html.j2``)."""

from __future__ import annotations

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
    ("level", "level"),
    ("height", "height"),
    ("suppressed", "suppressed"),
    ("suppressed_share", "share suppressed"),
    ("categories_before", "categories before"),
    ("categories_after", "categories after"),
    ("precision_loss", "precision loss"),
    ("loss", "loss"),
    ("hellinger", "Hellinger distance"),
)
_NUMERIC = (
    ("il1s", "IL1s"),
    ("il1s_mean", "IL1s per value"),
    ("mean_before", "mean before"),
    ("mean_after", "mean after"),
    ("mean_change", "relative change"),
    ("sd_before", "sd before"),
    ("sd_after", "sd after"),
    ("sd_change", "relative change"),
)


_SHARES = frozenset({"suppressed_share"})  # shown as percentages
_PERTURBED = (
    ("records", "records compared"),
    ("sse_sst", "SSE/SST (standardised)"),
    ("interval_disclosure", "interval disclosure: every original value within +- k sd"),
    ("interval_k", "interval half-width k (sd of the released variable)"),
    ("record_linkage", "record linkage: nearest original is the record's own"),
    ("linkage_records", "released records whose link was tried"),
)


def utility_context(found: Utility | None) -> dict[str, Any]:
    """What ``utility.html.j2`` shows of the measured loss (aggregates only)."""
    if found is None:
        return {"utility": None}
    p = found.perturbation
    return {
        "utility": found,
        "overall": [
            (label, getattr(found, key))
            for key, label in _OVERALL
            if getattr(found, key) is not None
        ],
        "tables": [
            (title, fields, items)
            for title, fields, items in (
                ("variable", _VARIABLE, found.variables),
                ("numeric variable", _NUMERIC, found.numeric),
            )
            if items
        ],
        "perturbed": [] if p is None else [(label, getattr(p, key)) for key, label in _PERTURBED],
        "analysis": found.analysis,
        "randomised": [v for v in found.variables if v.changed_share is not None],
        "shares": _SHARES,
    }
