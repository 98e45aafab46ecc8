"""Charts for the HTML pages: matplotlib figures rendered offline to inline SVG.

Text stays text in the SVG (``svg.fonttype: none``), so the browser draws it with the page's
font and it can be searched and read by screen readers. The SVG is byte-identical for the same
data (fixed hash salt, no date).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence

from markupsafe import Markup

from pipeline.core.numbers import number, share
from pipeline.report.model import Histogram

COLORS = ("#b45309", "#2563eb", "#059669")
_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "anonymize-pipeline",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
}
_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)  # the XML declaration and doctype
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)  # RDF names, no content


def bar_chart(
    series: Sequence[tuple[str, Histogram]],
    title: str,
    xlabel: str,
    ylabel: str = "records",
    width: float = 6.2,
) -> Markup:
    """A grouped bar chart of counts (one group per label, one bar per series) as inline SVG.

    Args:
        series: (name, histogram) pairs over the same labels; a legend names them when
            there is more than one.
        title: The chart's title, drawn above it.
        xlabel: What the labels are.
        ylabel: What the counts are.
        width: Width in inches (the SVG scales down to the page's width).
    """
    values = [(name, [float(c) for c in hist.counts]) for name, hist in series]
    return _bars(list(series[0][1].labels), values, (title, xlabel, ylabel), number, width)


def share_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str = "share",
) -> Markup:
    """A grouped bar chart of shares (0-1, drawn as percentages) as inline SVG."""
    return _bars(list(labels), series, (title, xlabel, ylabel), share, 6.2, integer=False)


def _bars(
    labels: list[str],
    series: Sequence[tuple[str, Sequence[float]]],
    text: tuple[str, str, str],
    fmt: Callable[[float], str],
    width: float,
    integer: bool = True,
) -> Markup:
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    title, xlabel, ylabel = text
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(width, 3.1), layout="constrained")
        ax = fig.add_subplot()
        step = 0.8 / len(series)
        for s, (name, values) in enumerate(series):
            offset = (s - (len(series) - 1) / 2) * step
            xs = [i + offset for i in range(len(labels))]
            bars = ax.bar(xs, values, step * 0.95, label=name, color=COLORS[s % 3])
            if len(labels) * len(series) <= 30 and len(series) <= 2:  # room for values
                ax.bar_label(bars, labels=[fmt(v) for v in values], fontsize=7, padding=1)
        ax.set_xticks(range(len(labels)), labels)
        if max((len(x) for x in labels), default=0) * len(labels) > 60:
            ax.tick_params(axis="x", labelrotation=30)
            for tick in ax.get_xticklabels():
                tick.set_horizontalalignment("right")
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=integer, min_n_ticks=3))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(float(v))))
        ax.margins(y=0.12)
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        if len(series) > 1:
            ax.legend(frameon=False, fontsize=8)
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    svg = _METADATA.sub("", _PROLOGUE.sub("", out.getvalue(), count=1), count=1)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)
    return Markup(svg)


def _attr(text: str) -> str:
    return str(Markup.escape(text))
