"""Running analyst SQL against whichever store is configured, and printing the result.

With an embedded chDB store the running sink owns the directory, so queries go to its HTTP
endpoint; when no sink runs, the store is opened directly. A server store is always queried
directly.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.request
from typing import Any

from schemas.errors import StoreError
from sinks.query_server import bearer, run_query
from sinks.store import StoreConfig, store_session


def query(
    store: StoreConfig,
    sql: str,
    sink_url: str | None = None,
    timeout: float = 60.0,
    token: str | None = None,
) -> dict[str, Any]:
    """``{"columns", "types", "rows"}``; raises StoreError carrying the server's code on failure.

    ``token`` is the API token the running sink's /sql asks for.
    """
    result: dict[str, Any] | None = None
    if store.embedded and sink_url:
        result = _via_sink(sink_url, sql, timeout, token)
    if result is None:
        import threading

        with store_session(store) as client:
            result = run_query(client, threading.Lock(), sql)
    if "error" in result:
        raise StoreError(str(result["error"]), code=result.get("code"))
    return result


def _via_sink(sink_url: str, sql: str, timeout: float, token: str | None) -> dict[str, Any] | None:
    """The sink's answer, or None when no sink is listening (then the store is free to open)."""
    url = f"{sink_url}/sql"
    request = urllib.request.Request(url, data=sql.encode(), method="POST", headers=bearer(token))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        return dict(json.load(exc))
    except (urllib.error.URLError, ConnectionError):
        return None


def render(result: dict[str, Any], fmt: str = "table") -> str:
    """The result as an aligned text table, CSV or JSON (a list of objects)."""
    columns, rows = result["columns"], result["rows"]
    if fmt == "json":
        return json.dumps([dict(zip(columns, row, strict=True)) for row in rows], indent=2, default=str)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return out.getvalue()
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = [
        "  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(r, widths, strict=True))
        for r in cells
    ]
    return "\n".join([line, rule, *body, f"({len(rows)} row{'s' if len(rows) != 1 else ''})"])


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace("-", "", 1).isdigit()
