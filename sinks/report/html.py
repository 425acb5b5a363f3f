"""The report page: one HTML document with its CSS inline, sections of a chart and a table each.

Inline everything (no CDN, no fonts, no scripts) so the file can be mailed, archived or opened
on a machine with no network and still look the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sinks.report.svg import esc

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f5f7fa;color:#1f2933;
 font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
main{max-width:1040px;margin:0 auto;padding:24px 20px 48px}
header h1{margin:0 0 4px;font-size:26px}
header p{margin:0;color:#616e7c}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:20px 0}
.card{flex:1 1 118px;background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:12px 14px}
.card b{display:block;font-size:24px}
.card span{color:#616e7c;font-size:13px}
.notice{background:#fffbea;border:1px solid #f0b429;border-radius:8px;padding:14px 16px;margin:16px 0}
.error{background:#ffeeee;border:1px solid #e12d39;border-radius:6px;padding:10px 12px;color:#780a0f}
section{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:16px 18px;margin:18px 0}
section h2{margin:0 0 2px;font-size:19px}
section p.about{margin:0 0 12px;color:#616e7c;font-size:13px}
.empty{color:#616e7c;font-style:italic;padding:18px 0}
table{border-collapse:collapse;width:100%;margin-top:12px;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid #e4e7eb;text-align:left;white-space:nowrap}
th{background:#f5f7fa;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
footer{color:#9aa5b1;font-size:12px;margin-top:28px}
"""

_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(\.\d+)?)?(\+00:00|Z)?$")


@dataclass(frozen=True)
class Card:
    """A headline number at the top of the report."""

    label: str
    value: str


def cell(value: Any) -> tuple[str, bool]:
    """A value as shown in a table, and whether it is a number (right-aligned)."""
    if value is None:
        return "—", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, int):
        return f"{value:,}", True
    if isinstance(value, float):
        return (f"{value:,.2f}".rstrip("0").rstrip("."), True) if value == value else ("—", False)
    if isinstance(value, list | tuple):
        return ", ".join(cell(v)[0] for v in value), False
    shown = str(value)
    match = _TIMESTAMP.match(shown)
    if match:
        return f"{match.group(1)} {match.group(2)}", False
    return shown, False


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return '<p class="empty">No rows yet.</p>'
    # A column is numeric when its first value that is not NULL is: its heading aligns with it.
    numeric_columns = [
        next((cell(row[i])[1] for row in rows if row[i] is not None), False) for i in range(len(columns))
    ]
    head = "".join(
        f'<th class="n">{esc(c)}</th>' if n else f"<th>{esc(c)}</th>"
        for c, n in zip(columns, numeric_columns, strict=True)
    )
    body = []
    for row in rows:
        cells = []
        for value, numeric_column in zip(row, numeric_columns, strict=True):
            shown, numeric = cell(value)
            right = numeric or (value is None and numeric_column)
            cells.append(f'<td class="n">{esc(shown)}</td>' if right else f"<td>{esc(shown)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    rows_html = "".join(body)
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows_html}</tbody></table></div>'
    )


def empty(message: str) -> str:
    return f'<p class="empty">{esc(message)}</p>'


def error(name: str, message: str) -> str:
    return f'<p class="error">The analysis {esc(name)} failed: {esc(message)}</p>'


def section(title: str, about: str, *parts: str, anchor: str = "") -> str:
    """A titled block; ``parts`` are already-rendered HTML (charts, tables, notes)."""
    ident = f' id="{esc(anchor)}"' if anchor else ""
    return f'<section{ident}><h2>{esc(title)}</h2><p class="about">{esc(about)}</p>{"".join(parts)}</section>'


def page(title: str, subtitle: str, cards: Sequence[Card], notice: str, sections: Sequence[str]) -> str:
    """The whole document; ``notice`` (plain text) is shown above the sections when not empty."""
    card_html = "".join(
        f'<div class="card"><b>{esc(c.value)}</b><span>{esc(c.label)}</span></div>' for c in cards
    )
    notice_html = f'<p class="notice">{esc(notice)}</p>' if notice else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f'<div class="cards">{card_html}</div>{notice_html}{"".join(sections)}'
        "<footer>Generated by omnijourney from the saved analyses in sinks/queries/ "
        "(run any of them with <code>omnijourney sql --saved NAME</code>).</footer>"
        "</main></body></html>\n"
    )
