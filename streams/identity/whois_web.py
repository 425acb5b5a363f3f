"""``GET /identity/{type}/{value}``: who an identifier belongs to, from whichever worker owns the keys.

:func:`streams.identity.lookup.whois` reads one state key at a time (the identifier, its cluster
chain, the person's other identifiers). Each key lives on the worker that owns its partition of the
routing topic; this module answers a key from the local table when this worker owns it and asks
the owner (``/internal/identity/{table}/{key}``, same bearer token) otherwise. ``whois`` is plain
synchronous code, so it runs in a thread with blocking reads; the tables are only read there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import faust

from schemas.errors import OmnijourneyError
from streams.identity.lookup import whois
from streams.web_routing import is_local, owner_of

INTERNAL = "/internal/identity"
IdentifierHasher = Callable[[str, str], tuple[str, str]]


class RoutedState:
    """Reads of the two identity tables, local or from the owning worker."""

    def __init__(
        self, app: faust.App, routing: faust.TopicT, tables: dict[str, Any], token: str | None
    ) -> None:
        self.app, self.routing, self.tables, self.token = app, routing, tables, token

    def read(self, table: str, key: str) -> Any:
        owner = owner_of(self.app, self.routing.get_topic_name(), key)
        if owner is None or is_local(self.app, owner):
            return self.tables[table].get(key)
        url = str(owner.with_path(f"{INTERNAL}/{table}/{quote(key, safe='')}"))
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)["value"]


def _authorized(request: faust.web.Request, token: str | None) -> bool:
    sent = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


def register_whois_routes(app: faust.App, state: RoutedState, hash_identifier: IdentifierHasher) -> None:
    """Declare the public lookup and the owner-side key reads on the worker's web server."""

    @app.page("/identity/{kind}/{value}")
    async def identity(web: faust.web.View, request: faust.web.Request, kind: str, value: str) -> Any:
        if not _authorized(request, state.token):
            return web.json({"error": "unauthorized"}, status=401)
        try:
            if kind in ("email", "phone"):  # raw, as a clerk types it: hashed as the SDK does
                kind, value = hash_identifier(kind, value)
        except (ValueError, OmnijourneyError) as exc:
            return web.json({"error": "bad_identifier", "message": str(exc)}, status=400)
        found = await asyncio.to_thread(
            whois, kind, value, lambda k: state.read("identifiers", k), lambda k: state.read("clusters", k)
        )
        return web.json(dataclasses.asdict(found), status=404 if found.status == "unknown" else 200)

    @app.page(INTERNAL + "/{table}/{key}")
    async def internal(web: faust.web.View, request: faust.web.Request, table: str, key: str) -> Any:
        if not _authorized(request, state.token):
            return web.json({"error": "unauthorized"}, status=401)
        if table not in state.tables:
            return web.json({"error": "not_found"}, status=404)
        return web.json({"value": state.tables[table].get(key)})
