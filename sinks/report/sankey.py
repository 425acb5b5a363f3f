"""A two-column Sankey diagram of channel transitions: where customers were (left), where they went next.

Two columns rather than one node per channel because transitions run both ways (web -> chat and
chat -> web); a bipartite layout shows every pair without cycles. Band widths are to scale on
both sides, each band is coloured by the channel it leaves and names its count on hover.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sinks.report.svg import MUTED, colour, el, num, quantity, svg, text, tooltip

LABEL_SPACE = 150
NODE_WIDTH = 14
NODE_GAP = 10
HEADER = 24


@dataclass(frozen=True)
class Flow:
    """``value`` customers' moves from ``source`` to ``target``; ``note`` adds to the hover text."""

    source: str
    target: str
    value: float
    note: str = ""


@dataclass(frozen=True)
class _Node:
    name: str
    total: float
    y: float
    height: float


def _column(totals: dict[str, float], scale: float, height: float) -> dict[str, _Node]:
    """Nodes largest first, stacked with gaps and centred in the drawing height."""
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    used = sum(max(t * scale, 1.0) for _, t in ordered) + NODE_GAP * (len(ordered) - 1)
    y = HEADER + (height - HEADER - used) / 2
    nodes = {}
    for name, total in ordered:
        h = max(total * scale, 1.0)
        nodes[name] = _Node(name, total, y, h)
        y += h + NODE_GAP
    return nodes


def _band(x0: float, y0: float, x1: float, y1: float, thickness: float) -> str:
    """A ribbon of constant thickness from (x0, y0) to (x1, y1), both its edges cubic curves."""
    mid, b0, b1 = num((x0 + x1) / 2), num(y0 + thickness), num(y1 + thickness)
    return (
        f"M{num(x0)},{num(y0)} C{mid},{num(y0)} {mid},{num(y1)} {num(x1)},{num(y1)} "
        f"L{num(x1)},{b1} C{mid},{b1} {mid},{b0} {num(x0)},{b0} Z"
    )


def sankey(flows: Sequence[Flow], *, width: int = 760, height: int = 360, label: str = "") -> str:
    """The diagram as an ``<svg>`` element; flows with no value are left out.

    Raises ValueError on no flows: whoever builds the page decides what "nothing yet" looks like.
    """
    flows = [f for f in flows if f.value > 0]
    if not flows:
        raise ValueError("a Sankey diagram needs at least one flow")
    out_totals: dict[str, float] = defaultdict(float)
    in_totals: dict[str, float] = defaultdict(float)
    for f in flows:
        out_totals[f.source] += f.value
        in_totals[f.target] += f.value
    total = sum(f.value for f in flows)
    room = height - HEADER - 4
    scale = min((room - NODE_GAP * (len(side) - 1)) / total for side in (out_totals, in_totals))
    scale = max(scale, 0.0)
    left = _column(out_totals, scale, height)
    right = _column(in_totals, scale, height)
    order = {name: i for i, name in enumerate([*left, *(n for n in right if n not in left)])}
    x_left, x_right = LABEL_SPACE, width - LABEL_SPACE - NODE_WIDTH

    body = [
        text(x_left + NODE_WIDTH / 2, 14, "from", anchor="middle", size=11, fill=MUTED),
        text(x_right + NODE_WIDTH / 2, 14, "next channel", anchor="middle", size=11, fill=MUTED),
    ]
    out_cursor = {name: node.y for name, node in left.items()}
    in_cursor = {name: node.y for name, node in right.items()}
    # Bands leave each source in the order of their targets (and arrive in the order of their
    # sources), which keeps crossings to those the data forces.
    for f in sorted(flows, key=lambda f: (list(left).index(f.source), list(right).index(f.target))):
        thickness = max(f.value * scale, 1.0)
        y0, y1 = out_cursor[f.source], in_cursor[f.target]
        out_cursor[f.source] += thickness
        in_cursor[f.target] += thickness
        hover = f"{f.source} → {f.target}: {quantity(f.value)}" + (f" ({f.note})" if f.note else "")
        body.append(
            el(
                "path",
                tooltip(hover),
                d=_band(x_left + NODE_WIDTH, y0, x_right, y1, thickness),
                fill=colour(f.source, order[f.source]),
                fill_opacity=0.45,
                class_="flow",
            )
        )
    for nodes, x, anchor, dx in ((left, x_left, "end", -6), (right, x_right, "start", NODE_WIDTH + 6)):
        for node in nodes.values():
            body.append(
                el(
                    "rect",
                    tooltip(f"{node.name}: {quantity(node.total)}"),
                    x=float(x),
                    y=node.y,
                    width=NODE_WIDTH,
                    height=node.height,
                    fill=colour(node.name, order[node.name]),
                    class_="node",
                )
            )
            body.append(
                text(
                    x + dx,
                    node.y + node.height / 2 + 4,
                    f"{node.name}  {quantity(node.total)}",
                    anchor=anchor,
                )
            )
    return svg(width, height, body, label or "Channel transitions")
