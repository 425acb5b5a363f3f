"""``POST /privacy/erase`` on the worker: take stock of a person's state and start its erasure.

Why the worker and not the command: the erase messages must land on the partitions that own each
key, partitioned exactly as Faust partitions them, and the state to take stock of is read from
whichever worker owns each key (the routed reads of whois and the continuity API). The command
(:mod:`streams.privacy.command`) sends the plan; this endpoint

1. drops from the plan any person id that still names someone else's identifier (see
   :func:`streams.privacy.plan.without_live`),
2. counts the state entries that hold the person, per table,
3. unless ``dry_run``: publishes the suppression records, then the erase messages: ``erase-id``
   on the identity routing topic per identifier, an ``erasure`` identity change per person id
   (the journey stage deletes that person's state), and an empty ``journeys.index`` value per
   identifier (the index entry's tombstone).

Body and answer are JSON; same bearer token as the continuity API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import uuid
from typing import Any

import faust

from schemas.codec import Codec
from schemas.topics import TopicNames
from streams.identity.lookup import MAX_ALIAS_HOPS
from streams.identity.state import ClusterRecord, IdentifierRecord
from streams.identity.whois_web import RoutedState
from streams.journeys.lookup import RoutedContinuityLookup
from streams.privacy.guard import PrivacyGuard
from streams.privacy.identity import Erase
from streams.privacy.plan import ErasurePlan, suppressions, without_live

PATH = "/privacy/erase"
SUPPRESSION_NAME = "io.omnijourney.Suppression"
CHANGE_NAME = "io.omnijourney.IdentityChange"
_CHANGE_NAMESPACE = uuid.UUID("0b6f6c38-7c55-4a0e-9a2f-5e1d1b5b7e44")


class Eraser:
    """What the endpoint needs: topics to publish to and the routed state of the stages this worker runs."""

    def __init__(
        self,
        app: faust.App,
        topics: TopicNames,
        codec: Codec,
        guard: PrivacyGuard,
        identity: RoutedState | None,
        journeys: RoutedContinuityLookup | None,
    ) -> None:
        self.codec, self.guard, self.identity, self.journeys = codec, guard, identity, journeys
        raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
        self.suppressions = app.topic(topics.suppressions, config={"cleanup.policy": "compact"}, **raw)
        self.routing = app.topic(topics.identity_routing, **raw)
        self.changes = app.topic(topics.identity_changes, **raw)
        self.index = app.topic(topics.journey_index, **raw)

    # -- the identity state ----------------------------------------------------------------------

    def _clusters(self, identifiers: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
        """The cluster records that hold the identifiers, and the root labels (blocking reads)."""
        assert self.identity is not None
        read = self.identity.read
        holding: set[str] = set()
        labels: dict[str, str] = {}
        for key in identifiers:
            raw = read("identifiers", key)
            cluster = None if raw is None else IdentifierRecord.from_json(raw).cluster
            for _ in range(MAX_ALIAS_HOPS):
                found = None if cluster is None else read("clusters", cluster)
                if found is None or cluster is None:
                    break
                record = ClusterRecord.from_json(found)
                if set(record.members) & set(identifiers):
                    holding.add(cluster)
                if record.alias is None:
                    labels.update(record.labels)
                    for absorbed in record.absorbed:
                        copy = read("clusters", absorbed)
                        if copy is not None and set(ClusterRecord.from_json(copy).members) & set(identifiers):
                            holding.add(absorbed)
                    break
                cluster = record.alias
        return sorted(holding), labels

    def inventory_identity(self, plan: ErasurePlan) -> tuple[ErasurePlan, dict[str, int]]:
        if self.identity is None:
            return plan, {}
        present = [k for k in plan.identifiers if self.identity.read("identifiers", k) is not None]
        holding, labels = self._clusters(plan.identifiers)
        persons = without_live(plan.persons, plan.identifiers, labels)
        plan = ErasurePlan(plan.erasure_id, plan.requested, plan.identifiers, persons, plan.survivor)
        return plan, {"identity-identifiers": len(present), "identity-clusters": len(holding)}

    async def inventory_journeys(self, plan: ErasurePlan) -> dict[str, int]:
        if self.journeys is None:
            return {}
        stage = self.journeys.stage
        persons = [p for p in plan.persons if await self.journeys._ask(stage.resolved, p, "card") is not None]
        index = [k for k in plan.identifiers if await self.journeys._ask(stage.index_topic, k, "person")]
        return {"journey-persons": len(persons), "journey-index": len(index)}

    # -- publishing ------------------------------------------------------------------------------

    async def publish(self, plan: ErasurePlan, requested_at: dt.datetime) -> dict[str, int]:
        """Suppressions first, then the erase messages; returns how many of each were delivered."""
        self.guard.add_local(plan.identifiers, plan.persons)
        pending = []
        records = suppressions(plan, requested_at)
        for record in records:
            value = self.codec.encode(SUPPRESSION_NAME, record.to_avro())
            pending.append(await self.suppressions.send(key=record.key.encode(), value=value))
        await asyncio.gather(*pending)
        pending = []
        millis = int(requested_at.timestamp() * 1000)
        for key in plan.identifiers:
            erase = Erase("erase-id", key, plan.identifiers, plan.persons, plan.erasure_id, millis)
            pending.append(
                await self.routing.send(key=key.encode(), value=json.dumps(erase.to_json()).encode())
            )
            pending.append(await self.index.send(key=key.encode(), value=b""))
        for person in plan.persons:
            change = self.codec.encode(CHANGE_NAME, erasure_change(plan, person, requested_at))
            pending.append(await self.changes.send(key=person.encode(), value=change))
        await asyncio.gather(*pending)
        return {
            "suppressions": len(records),
            "identity-erase": len(plan.identifiers),
            "journey-index-tombstones": len(plan.identifiers),
            "erasure-changes": len(plan.persons),
        }


def erasure_change(plan: ErasurePlan, person: str, requested_at: dt.datetime) -> dict[str, Any]:
    """The identity.changes record telling the journey stage to delete ``person``'s state.

    It names no identifier: the sink drops it anyway (its person is suppressed); the ledger in
    ClickHouse is the record of the erasure.
    """
    return {
        "change_id": str(uuid.uuid5(_CHANGE_NAMESPACE, f"{plan.erasure_id}|{person}")),
        "kind": "erasure",
        "person_id": person,
        "survivor_person_id": None,
        "related_person_ids": [],
        "event_id": None,
        "identifiers": [],
        "rule": "erasure_request",
        "reason": f"GDPR erasure {plan.erasure_id}",
        "event_time": requested_at,
        "changed_at": dt.datetime.now(dt.UTC),
    }


def register_privacy_routes(app: faust.App, eraser: Eraser, token: str | None) -> None:
    @app.page(PATH)
    class Erasure(faust.web.View):
        async def post(self, request: faust.web.Request) -> faust.web.Response:
            sent = request.headers.get("Authorization", "")
            if not token or not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                return self.json({"error": "unauthorized"}, status=401)
            try:
                body = await request.json()
                plan = ErasurePlan(
                    str(uuid.UUID(body["erasure_id"])),
                    str(body["requested"]),
                    tuple(sorted({str(k) for k in body["identifiers"]})),
                    tuple(sorted({str(p) for p in body["persons"]})),
                    body.get("survivor"),
                )
                requested_at = dt.datetime.fromtimestamp(int(body["requested_at"]) / 1000, dt.UTC)
                dry_run = bool(body.get("dry_run", False))
            except (KeyError, TypeError, ValueError) as exc:
                return self.json({"error": "bad_request", "message": str(exc)}, status=400)
            plan, state = await asyncio.to_thread(eraser.inventory_identity, plan)
            state.update(await eraser.inventory_journeys(plan))
            published = {} if dry_run else await eraser.publish(plan, requested_at)
            answer = {"identifiers": list(plan.identifiers), "persons": list(plan.persons)}
            return self.json({**answer, "state": state, "published": published, "dry_run": dry_run})


def register(
    app: faust.App,
    topics: TopicNames,
    codec: Codec,
    guard: PrivacyGuard,
    token: str | None,
    journeys: RoutedContinuityLookup | None,
) -> Eraser:
    """The erasure endpoint, with routed reads of whichever stages this worker runs."""
    identity = None
    if "identity-identifiers" in app.tables and "identity-clusters" in app.tables:
        tables = {
            "identifiers": app.tables["identity-identifiers"],
            "clusters": app.tables["identity-clusters"],
        }
        routing = app.topic(topics.identity_routing, key_serializer="raw", value_serializer="raw")
        identity = RoutedState(app, routing, tables, token)
    eraser = Eraser(app, topics, codec, guard, identity, journeys)
    register_privacy_routes(app, eraser, token)
    return eraser
