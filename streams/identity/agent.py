"""The Faust agents of the identity stage: thin shells over the partition handler.

``intake`` reads touchpoints.<channel>, dead-letters what cannot be read, and starts each
touchpoint's walk on the routing topic. ``route`` handles routing messages on the partition owning
their key, with the two tables (identifiers, clusters) that the handler reads and writes for that
key only, and publishes resolved touchpoints and identity changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import faust

from schemas.codec import Codec
from schemas.errors import OmnijourneyError
from schemas.topics import TopicNames
from streams import metrics
from streams.dead_letters import DEAD_LETTER_NAME, dead_letter
from streams.gaps import GapFiller, Record, records_of
from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy
from streams.identity.handler import handle
from streams.identity.protocol import decode, encode
from streams.identity.state import PartitionState
from streams.identity.touchpoints import CHANGE_NAME, RESOLVED_NAME, change_record, observe, resolved_record
from streams.identity.whois_web import IdentifierHasher, RoutedState, register_whois_routes
from streams.privacy.stage_hooks import IdentityPrivacy

STAGE = "identity"
IdentityPrivacyHooks = Callable[[faust.TopicT], IdentityPrivacy]  # given the routing topic


def register(
    app: faust.App,
    topics: TopicNames,
    codec: Codec,
    gaps: GapFiller,
    policy: IdentityPolicy = DEFAULT_POLICY,
    *,
    token: str | None = None,
    hash_identifier: IdentifierHasher | None = None,
    privacy: IdentityPrivacyHooks | None = None,
) -> tuple[Any, Any]:
    """Declare the stage's topics, tables and agents on ``app``; returns the two agents.

    ``gaps`` hands each agent the records Faust skipped (see :mod:`streams.gaps`) before the
    record in hand; one filler serves both agents (they read different topics).
    """
    source = app.topic(*topics.all_touchpoints, key_serializer="raw", value_serializer="raw")
    routing = app.topic(topics.identity_routing, key_serializer="raw", value_serializer="json")
    resolved = app.topic(topics.resolved, key_serializer="raw", value_serializer="raw")
    changes = app.topic(topics.identity_changes, key_serializer="raw", value_serializer="raw")
    dead = app.topic(topics.dead_letters, key_serializer="raw", value_serializer="raw")
    json_schema: Any = faust.Schema(key_serializer="json", value_serializer="json")
    identifiers = app.Table("identity-identifiers", schema=json_schema)
    clusters = app.Table("identity-clusters", schema=json_schema)
    state = PartitionState(identifiers, clusters)
    if hash_identifier is not None:  # GET /identity/{type}/{value} (whois), routed to key owners
        tables = {"identifiers": identifiers, "clusters": clusters}
        register_whois_routes(app, RoutedState(app, routing, tables, token), hash_identifier)
    hooks = None if privacy is None else privacy(routing)  # GDPR suppressions and erasures
    intake_counts = metrics.StageMetrics("identity-intake")
    route_counts = metrics.StageMetrics("identity-route")

    async def take(msg: Record) -> None:
        intake_counts.count_in()
        try:
            start = observe(codec, msg.value, msg.topic, msg.partition, msg.offset, policy)
        except OmnijourneyError as exc:
            exc.at(msg.topic, msg.partition, msg.offset)
            record = dead_letter(STAGE, exc, msg.topic, msg.partition, msg.offset, msg.key, msg.value)
            await dead.send(key=msg.key, value=codec.encode(DEAD_LETTER_NAME, record))
            intake_counts.count_dead_letter(exc)
            return
        if hooks is not None and await hooks.suppressed_touchpoint(start.event.keys):
            return
        await routing.send(key=start.key.encode(), value=encode(start))
        intake_counts.count_out("routing")

    async def intake(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            for record in await records_of(event, gaps):
                await take(record)

    async def hop(value: bytes) -> None:
        route_counts.count_in()
        raw = json.loads(value)
        if hooks is not None and hooks.intercepts(raw):
            effects = await hooks.route(raw, state, policy)
        else:
            effects = handle(decode(raw), state, policy)
        for message in effects.messages:
            await routing.send(key=message.key.encode(), value=encode(message))
        for resolution in effects.resolved:
            record = resolved_record(codec, resolution)
            await resolved.send(key=resolution.person_id.encode(), value=codec.encode(RESOLVED_NAME, record))
        for change in effects.changes:
            await changes.send(
                key=change.person_id.encode(), value=codec.encode(CHANGE_NAME, change_record(change))
            )
        route_counts.count_out("routing", len(effects.messages))
        route_counts.count_out("resolved", len(effects.resolved))
        route_counts.count_out("changes", len(effects.changes))
        metrics.count_identity_changes(effects.changes)

    async def route(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            for record in await records_of(event, gaps):
                await hop(record.value)

    name = app.conf.id
    routing_in = app.topic(topics.identity_routing, key_serializer="raw", value_serializer="raw")
    return (
        app.agent(source, name=f"{name}.identity-intake")(intake),
        app.agent(routing_in, name=f"{name}.identity-route")(route),
    )
