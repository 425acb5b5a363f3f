"""Finding a continuity card from any identifier, on whichever worker owns each key.

Two hops: the identifier's index entry lives on the worker owning the identifier's partition of
``journeys.index``; the person's state on the worker owning the person's partition of
``touchpoints.resolved``. Each hop is answered from the local table when this worker owns the
key, else by an internal GET to the owner (found in Faust's assignment metadata), with the same
bearer token. A merged-away person forwards to its survivor.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp
import faust

from streams.journeys.agent import MAX_ALIAS_HOPS, JourneyStage
from streams.web_routing import is_local, owner_of

INTERNAL = "/internal/journeys"


class RoutedContinuityLookup:
    """:class:`streams.journeys.web.ContinuityLookup` over the stage's tables on every worker."""

    def __init__(self, stage: JourneyStage, token: str | None) -> None:
        self.stage, self.token = stage, token

    async def card_for(self, identifier_type: str, value: str) -> dict[str, Any] | None:
        key = f"{identifier_type}:{value}"
        person = await self._ask(self.stage.index_topic, key, "person")
        for _ in range(MAX_ALIAS_HOPS):
            if not isinstance(person, str):
                return None
            answer = await self._ask(self.stage.resolved, person, "card")
            if isinstance(answer, dict):
                return answer
            person = answer  # merged away: ask the survivor
        return None

    async def _ask(self, topic: faust.TopicT, key: str, what: str) -> Any:
        owner = owner_of(self.stage.app, topic.get_topic_name(), key)
        if owner is None or is_local(self.stage.app, owner):
            return self.local(what, key)
        url = owner.with_path(f"{INTERNAL}/{what}/{quote(key, safe='')}")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, headers=headers) as r:
            r.raise_for_status()
            return (await r.json())["answer"]

    def local(self, what: str, key: str) -> Any:
        if what == "person":
            return self.stage.local_person(key)
        return self.stage.local_card(key)


def register_internal_routes(app: faust.App, lookup: RoutedContinuityLookup) -> None:
    """The owner side of :meth:`RoutedContinuityLookup._ask` (same bearer token as the API)."""
    import hmac

    @app.page(INTERNAL + "/{what}/{key}")
    async def internal(web: faust.web.View, request: faust.web.Request, what: str, key: str) -> Any:
        sent = request.headers.get("Authorization", "")
        if not lookup.token or not hmac.compare_digest(sent.encode(), f"Bearer {lookup.token}".encode()):
            return web.json({"error": "unauthorized"}, status=401)
        if what not in ("person", "card"):
            return web.json({"error": "not_found"}, status=404)
        return web.json({"answer": lookup.local(what, key)})
