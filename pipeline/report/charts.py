"""Charts for the HTML pages: grouped bar charts drawn as inline SVG by a Jinja2 template.

The geometry (scale, ticks, bars, where labels go) is computed here; ``chart.svg.j2`` draws
it. Text stays text in the SVG, so the browser draws it with the page's font and it can be
searched and read by screen readers; every bar carries its value as a tooltip. The SVG is
byte-identical for the same data. A chart costs well under a millisecond (matplotlib took
0.1-0.3 s each, most of a page's rendering time).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from pipeline.core.numbers import number, share
from pipeline.report.model import Histogram
from pipeline.report.render import render

COLORS = ("#b45309", "#2563eb", "#059669")
WIDTH, HEIGHT = 620.0, 310.0  # the viewBox; the page scales the SVG down to its width
_FONT = 9.0  # px: tick labels (value labels 7, the title 11)
_TOP, _RIGHT = 34.0, 12.0
_LABEL = 28  # characters of a category label drawn (the tooltip has it whole)


@dataclass(frozen=True)
class Bar:
    """One bar: its box, colour, value label and tooltip."""

    x: float
    y: float
    width: float
    height: float
    color: str
    label: str
    tooltip: str


@dataclass(frozen=True)
class Tick:
    """A tick on an axis: where it is and its label."""

    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    """What ``chart.svg.j2`` draws: the plot area, ticks, bars, legend and texts."""

    title: str
    xlabel: str
    ylabel: str
    left: float
    bottom: float
    right: float
    yticks: list[Tick]
    xticks: list[Tick]
    rotate: bool
    bars: list[Bar]
    legend: list[tuple[str, str]]
    values: bool
    width: float = WIDTH
    height: float = HEIGHT
    top: float = _TOP


def bar_chart(
    series: Sequence[tuple[str, Histogram]],
    title: str,
    xlabel: str,
    ylabel: str = "records",
) -> Markup:
    """A grouped bar chart of counts (one group per label, one bar per series) as inline SVG.

    Args:
        series: (name, histogram) pairs over the same labels; a legend names them when
            there is more than one.
        title: The chart's title, drawn above it.
        xlabel: What the labels are.
        ylabel: What the counts are.
    """
    values = [(name, [float(c) for c in hist.counts]) for name, hist in series]
    return _bars(list(series[0][1].labels), values, (title, xlabel, ylabel), number, True)


def share_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    title: str,
    xlabel: str,
    ylabel: str = "share",
) -> Markup:
    """A grouped bar chart of shares (0-1, drawn as percentages) as inline SVG."""
    return _bars(list(labels), series, (title, xlabel, ylabel), share, False)


def nice_ticks(top: float, integer: bool, at_least: int = 3) -> list[float]:
    """Round tick values from 0 to at least ``top``: steps of 1, 2, 2.5 or 5 times a power of 10.

    Args:
        top: The largest value drawn (0 or more).
        integer: Whether ticks must be whole numbers (counts).
        at_least: The fewest ticks, 0 included.
    """
    if not math.isfinite(top) or top <= 0:
        top = 1.0
    top = max(top, 1e-300)  # a power of 10 below a subnormal value would underflow to 0
    raw = top / 5
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    count = max(at_least - 1, math.ceil(top / step - 1e-9))
    ticks = [float(f"{i * step:.12g}") for i in range(count + 1)]  # 1e-05, not 9.99...e-06
    if ticks[-1] < top:  # the last tick covers the largest value, whatever the rounding
        ticks.append(float(f"{(count + 1) * step:.12g}"))
    return ticks


def _width(text: str, size: float) -> float:
    """The drawn width of ``text`` in px, from its characters (wide CJK ones count double)."""
    units = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)
    return units * size


def _bars(
    labels: list[str],
    series: Sequence[tuple[str, Sequence[float]]],
    text: tuple[str, str, str],
    fmt: Callable[[float], str],
    integer: bool,
) -> Markup:
    title, xlabel, ylabel = text
    ticks = nice_ticks(max((v for _, vs in series for v in vs), default=0.0), integer)
    shown = [x if len(x) <= _LABEL else x[: _LABEL - 1] + "…" for x in labels]
    left = 30.0 + max(_width(fmt(t), _FONT) for t in ticks)
    longest = max((_width(x, _FONT) for x in shown), default=0.0)
    slot = (WIDTH - _RIGHT - left) / max(1, len(labels))
    rotate = longest > slot * 0.95
    if rotate:  # the first label, slanted, must not run off the left edge
        left = max(left, longest * 0.87 - slot / 2 + 4)
        slot = (WIDTH - _RIGHT - left) / max(1, len(labels))
    bottom = HEIGHT - (34.0 + (longest * 0.5 + _FONT if rotate else _FONT))
    legend_room = 14.0 if len(series) > 1 else 0.0
    top, scale = _TOP + legend_room, (bottom - _TOP - legend_room) / ticks[-1]
    step = 0.8 / len(series)
    bars = []
    for s, (name, values) in enumerate(series):
        for i, value in enumerate(values):
            x = left + slot * (i + 0.1 + s * step)
            height = max(0.0, value) * scale
            bars.append(
                Bar(
                    x,
                    bottom - height,
                    slot * step * 0.95,
                    height,
                    COLORS[s % 3],
                    fmt(value),
                    f"{name}, {labels[i]}: {fmt(value)}",
                )
            )
    chart = Chart(
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
        left=left,
        bottom=bottom,
        right=WIDTH - _RIGHT,
        yticks=[Tick(bottom - t * scale, fmt(t)) for t in ticks],
        xticks=[Tick(left + slot * (i + 0.5), x) for i, x in enumerate(shown)],
        rotate=rotate,
        bars=bars,
        legend=[(name, COLORS[s % 3]) for s, (name, _) in enumerate(series)]
        if len(series) > 1
        else [],
        values=len(labels) * len(series) <= 30 and len(series) <= 2,  # room for values
        top=top,
    )
    return Markup(render("chart.svg.j2", chart=chart))
