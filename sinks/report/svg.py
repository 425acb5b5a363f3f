"""SVG building blocks for the report's charts: escaped elements, number formats and colours.

Hand-written rather than a charting library because the report must be one file that opens
anywhere, offline, without scripts or a CDN; a handful of helpers keeps each chart readable.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

# One colour per channel, the same in every chart, so a reader learns them once.
CHANNEL_COLOURS = {
    "web": "#4e79a7",
    "app": "#f28e2b",
    "ads": "#e15759",
    "social": "#76b7b2",
    "email": "#59a14f",
    "chat": "#edc948",
    "call_center": "#b07aa1",
    "store": "#ff9da7",
    "pos": "#9c755f",
    "other": "#bab0ac",
}
CATEGORICAL = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#9c755f",
    "#bab0ac",
)
# Light to dark blue: for ordered categories such as time buckets, where darker means longer.
SEQUENTIAL = ("#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b")
TEXT = "#1f2933"
MUTED = "#616e7c"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def num(value: float) -> str:
    """A coordinate: one decimal is finer than a pixel and keeps the file small."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def el(tag: str, content: str = "", **attrs: object) -> str:
    """An element; ``fill_opacity`` becomes ``fill-opacity``, None drops the attribute, text is escaped."""
    parts = [tag]
    for name, value in attrs.items():
        if value is None:
            continue
        shown = num(value) if isinstance(value, float) else str(value)
        parts.append(f'{name.rstrip("_").replace("_", "-")}="{esc(shown)}"')
    opening = " ".join(parts)
    return f"<{opening}>{content}</{tag}>" if content else f"<{opening}/>"


def text(x: float, y: float, label: object, *, anchor: str = "start", size: int = 12, **attrs: object) -> str:
    attrs.setdefault("fill", TEXT)
    return el("text", esc(label), x=float(x), y=float(y), text_anchor=anchor, font_size=size, **attrs)


def tooltip(label: object) -> str:
    """A native hover title: works in every browser with no script."""
    return f"<title>{esc(label)}</title>"


def svg(width: int, height: int, body: Sequence[str], label: str) -> str:
    """A chart that scales to its container (viewBox) and names itself for screen readers."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{esc(label)}" style="max-width:{width}px;{FONT}">'
        f"<title>{esc(label)}</title>{''.join(body)}</svg>"
    )


def colour(name: str, index: int) -> str:
    """A channel's own colour, otherwise the categorical palette by position."""
    return CHANNEL_COLOURS.get(name, CATEGORICAL[index % len(CATEGORICAL)])


def sequential(count: int) -> list[str]:
    """``count`` colours from light to dark, spread over the sequential scale."""
    if count <= 1:
        return [SEQUENTIAL[-2]] * count
    last = len(SEQUENTIAL) - 1
    return [SEQUENTIAL[round(i * last / (count - 1))] for i in range(count)]


def quantity(value: float) -> str:
    """A count or measure as people read it: thousands separated, at most one decimal."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"
