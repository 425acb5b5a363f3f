"""Bar charts for the report: the journey funnel and horizontal stacked bars.

Stacked bars serve two sections: the time-to-conversion distribution (a bar per first-touch
channel, a segment per time bucket) and the broken hand-offs (a bar per kind, a segment per store),
so both read the same way: length is the count, colour the breakdown, hover gives the numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sinks.report.svg import MUTED, el, quantity, svg, text, tooltip

FUNNEL_COLOUR = "#4e79a7"
BAR_HEIGHT = 22
ROW_GAP = 10


@dataclass(frozen=True)
class FunnelStep:
    """One stage: how many journeys reached it or went further, and a note (its share) to print."""

    label: str
    value: float
    note: str = ""


@dataclass(frozen=True)
class BarRow:
    """One bar: its label and a value per series (missing series count as zero)."""

    label: str
    values: Mapping[str, float]


def funnel(steps: Sequence[FunnelStep], *, width: int = 760, label: str = "Journey funnel") -> str:
    """Centred bars narrowing with the stages, each as wide as its count relative to the first."""
    if not steps:
        raise ValueError("a funnel needs at least one step")
    row, label_space, value_space = 40, 130, 170
    height = row * len(steps) + 8
    widest = max(s.value for s in steps) or 1.0
    room = width - label_space - value_space
    centre = label_space + room / 2
    body = []
    for i, step in enumerate(steps):
        y = 4 + i * row
        w = max(room * step.value / widest, 2.0)
        body.append(
            el(
                "rect",
                tooltip(f"{step.label}: {quantity(step.value)} {step.note}".strip()),
                x=centre - w / 2,
                y=float(y),
                width=w,
                height=float(row - 8),
                rx=3,
                fill=FUNNEL_COLOUR,
                fill_opacity=1.0 - 0.15 * i,
                class_="bar",
            )
        )
        middle = y + (row - 8) / 2 + 4
        body.append(text(label_space - 10, middle, step.label, anchor="end"))
        body.append(text(width - value_space + 10, middle, quantity(step.value), font_weight="600"))
        if step.note:
            body.append(text(width - value_space + 70, middle, step.note, fill=MUTED, size=11))
    return svg(width, height, body, label)


def _legend(series: Sequence[str], colours: Sequence[str], x0: float, width: int) -> tuple[list[str], float]:
    """Swatches in rows that wrap at the chart's width; returns the elements and the height used."""
    body, x, y = [], x0, 4.0
    for name, fill in zip(series, colours, strict=True):
        span = 18 + 7 * len(name) + 16
        if x + span > width and x > x0:
            x, y = x0, y + 18
        body.append(el("rect", x=x, y=y, width=12, height=12, rx=2, fill=fill))
        body.append(text(x + 17, y + 10, name, size=11))
        x += span
    return body, y + 22


def stacked_bars(
    rows: Sequence[BarRow],
    series: Sequence[str],
    colours: Sequence[str],
    *,
    width: int = 760,
    label: str = "",
    unit: str = "",
) -> str:
    """Horizontal bars, one per row, split by series in the given order, totals at the end.

    Rows are drawn in the order given; every bar is to the same scale (the longest total).
    """
    if not rows:
        raise ValueError("a bar chart needs at least one row")
    if len(series) != len(colours):
        raise ValueError("one colour per series")
    # Room for the longest label at about 7 px a character, but never more than a third of the chart.
    label_space = min(max(80, 7 * max(len(r.label) for r in rows) + 14), width // 3)
    total_space = 70
    body, top = _legend(series, colours, float(label_space), width)
    longest = max(sum(r.values.get(s, 0.0) for s in series) for r in rows) or 1.0
    room = width - label_space - total_space
    for i, row in enumerate(rows):
        y = top + i * (BAR_HEIGHT + ROW_GAP)
        x = float(label_space)
        for name, fill in zip(series, colours, strict=True):
            value = row.values.get(name, 0.0)
            if value <= 0:
                continue
            w = room * value / longest
            hover = f"{row.label} · {name}: {quantity(value)}{unit}"
            body.append(
                el(
                    "rect",
                    tooltip(hover),
                    x=x,
                    y=float(y),
                    width=w,
                    height=float(BAR_HEIGHT),
                    fill=fill,
                    class_="segment",
                )
            )
            x += w
        middle = y + BAR_HEIGHT / 2 + 4
        body.append(text(label_space - 8, middle, row.label, anchor="end"))
        total = sum(row.values.get(s, 0.0) for s in series)
        body.append(text(x + 6, middle, f"{quantity(total)}{unit}", font_weight="600"))
    height = int(top + len(rows) * (BAR_HEIGHT + ROW_GAP) + 4)
    return svg(width, height, body, label or "Bar chart")
