"""HTTP endpoint of the sink process: health, and SQL against the store it owns.

chDB lets one process hold its directory, and while the pipeline runs that is the sink, so
``omnijourney sql`` and the report reach the embedded store through here. Read-only queries only:
every query runs with ``readonly=2``. The tables hold personal data (hashed identifiers, journeys
of named customers), so /sql asks for the same bearer token as the workers' APIs; /health and
/metrics stay open for probes and Prometheus, and say nothing about a customer.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sinks import metrics as sink_metrics
from sinks.connection import StoreConnection
from sinks.store import to_store_error

MAX_QUERY_BYTES = 1 << 20


def run_query(client: Any, lock: threading.Lock, sql: str) -> dict[str, Any]:
    """Columns, rows (JSON-friendly) and the store's error code when it fails."""
    try:
        with lock:
            result = client.query(sql, settings={"readonly": 2})
    except Exception as exc:
        error = to_store_error(exc, "query failed")
        return {"error": error.message, "code": error.code}
    rows = [[_jsonable(v) for v in row] for row in result.result_rows]
    return {
        "columns": list(result.column_names),
        "types": [t.name for t in result.column_types],
        "rows": rows,
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def bearer(token: str | None) -> dict[str, str]:
    """The request header a client of /sql sends (none when the deployment has no token)."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def make_server(
    host: str,
    port: int,
    store: StoreConnection,
    health: Callable[[], dict[str, Any]],
    token: str | None = None,
) -> ThreadingHTTPServer:
    """A server (not yet serving) with GET /health, GET /metrics and POST /sql (body: the query text).

    /sql answers 401 without ``Authorization: Bearer <token>`` (when ``token`` is set), and 503
    while the sink has not opened its store (it is degraded and retrying).
    """
    expected = f"Bearer {token}".encode() if token else None

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any]) -> None:
            self._send_bytes(status, json.dumps(body).encode(), "application/json")

        def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                state = health()
                self._send(200 if state.get("state") in ("ok", "degraded", "starting") else 503, state)
            elif self.path == "/metrics":
                self._send_bytes(200, *sink_metrics.exposition())
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            if self.path != "/sql":
                self._send(404, {"error": "not found"})
                return
            sent = (self.headers.get("Authorization") or "").encode()
            if expected is not None and not hmac.compare_digest(sent, expected):
                self._send(401, {"error": "unauthorized: send 'Authorization: Bearer <API token>'"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_QUERY_BYTES:
                self._send(413, {"error": "query too large"})
                return
            sql = self.rfile.read(length).decode("utf-8")
            client = store.client
            if client is None:
                state = health()
                self._send(503, {"error": f"store not open: {state.get('last_error')}", "code": None})
                return
            result = run_query(client, store.lock, sql)
            self._send(400 if "error" in result else 200, result)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: requests are not worth a log line each."""

    return ThreadingHTTPServer((host, port), Handler)
