"""The Faust agents of the identity stage: thin shells over the partition handler.

``intake`` reads touchpoints.<channel>, dead-letters what cannot be read, and starts each
touchpoint's walk on the routing topic. ``route`` handles routing messages on the partition owning
their key, with the two tables (identifiers, clusters) that the handler reads and writes for that
key only, and publishes resolved touchpoints and identity changes.

Both work a batch at a time (``take_events``): the routing messages a batch sends to one partition
travel packed in one Kafka message (:mod:`streams.identity.wire`), those its own partition owns are
handled at once in process (:mod:`streams.identity.batch`), each changed key is written to its
table once per batch (:mod:`streams.identity.writeback`), and the batch's offsets are released for
commit only once all of its outputs are handed to the producer (:mod:`streams.faust_batch`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust

from schemas.codec import Codec
from schemas.errors import OmnijourneyError
from schemas.topics import TopicNames
from streams import metrics
from streams.dead_letters import DEAD_LETTER_NAME, dead_letter
from streams.faust_batch import BATCH_MAX, BATCH_WITHIN, HeldAcks, KeyPartitions, event_context, take_events
from streams.gaps import GapFiller, Record, records_of
from streams.identity.batch import Item, Outputs, run_partition
from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy
from streams.identity.handler import handle
from streams.identity.protocol import Effects, decode, encode
from streams.identity.splice import ResolvedEncoder
from streams.identity.state import PartitionState
from streams.identity.touchpoints import CHANGE_NAME, change_record, observe
from streams.identity.whois_web import IdentifierHasher, RoutedState, register_whois_routes
from streams.identity.wire import unpack
from streams.identity.writeback import BatchState
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
    if hash_identifier is not None:  # GET /identity/{type}/{value} (whois), routed to key owners
        tables = {"identifiers": identifiers, "clusters": clusters}
        register_whois_routes(app, RoutedState(app, routing, tables, token), hash_identifier)
    hooks = None if privacy is None else privacy(routing)  # GDPR suppressions and erasures
    intake_counts = metrics.StageMetrics("identity-intake")
    route_counts = metrics.StageMetrics("identity-route")

    partition_of = KeyPartitions(app, topics.identity_routing)
    resolved_value = ResolvedEncoder(codec)
    routing_out = app.topic(topics.identity_routing, key_serializer="raw", value_serializer="raw")

    async def send(out: Outputs, counts: metrics.StageMetrics) -> None:
        """Hand the batch's outputs to the producer (awaited: then its offsets may be committed).

        Through Faust's ``send``, not as record batches (:mod:`streams.batch_send`, as the stateless
        strongest stage does): a record batch goes out at once, while the batch's table writes
        wait out the producer's linger, so a worker killed in between had sent routing messages
        whose state was never written. The replays that follow gave a different identity map
        after a SIGKILL in 2 of 12 runs of ``test_identity_map_equals_reference[sigkill-restart]``
        (0 of 12 this way).
        """
        values = 0
        for partition, key, value in out.values():
            await routing_out.send(key=key.encode(), value=value, partition=partition)
            values += 1
        for resolution in out.resolved:
            await resolved.send(key=resolution.person_id.encode(), value=resolved_value.encode(resolution))
        for change in out.changes:
            value = codec.encode(CHANGE_NAME, change_record(change))
            await changes.send(key=change.person_id.encode(), value=value)
        counts.count_out("routing", out.routed)
        counts.count_out("routing_values", values)  # Kafka messages: routing messages travel packed
        if out.resolved or out.changes:
            counts.count_out("resolved", len(out.resolved))
            counts.count_out("changes", len(out.changes))
            metrics.count_identity_changes(out.changes)

    async def take(msg: Record, out: Outputs) -> None:
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
        out.route(partition_of(start.key), start)

    async def intake(stream: faust.StreamT[bytes]) -> None:
        await partition_of.ready()
        async for events in take_events(stream, BATCH_MAX, BATCH_WITHIN):
            held, out = HeldAcks(events), Outputs()
            intake_counts.count_batch()
            for event in events:
                for record in await records_of(event, gaps):
                    await take(record, out)
            await send(out, intake_counts)
            held.release()

    async def step(item: Item, state: PartitionState) -> Effects:
        route_counts.count_in()
        if isinstance(item, dict):
            if hooks is not None and hooks.intercepts(item):
                return await hooks.route(item, state, policy)
            return handle(decode(item), state, policy)
        if hooks is not None and hooks.screening:
            return await hooks.route(encode(item), state, policy)
        return handle(item, state, policy)

    async def route(stream: faust.StreamT[bytes]) -> None:
        await partition_of.ready()
        async for events in take_events(stream, BATCH_MAX, BATCH_WITHIN):
            held, out = HeldAcks(events), Outputs()
            route_counts.count_batch()
            by_partition: dict[int, list[Any]] = {}
            for event in events:
                by_partition.setdefault(event.message.partition, []).append(event)
            for partition, group in by_partition.items():
                with event_context(group[-1]):  # table reads and writes of this partition's keys
                    items: list[Item] = []
                    for event in group:
                        for record in await records_of(event, gaps):
                            items.extend(unpack(record.value))
                    batch = BatchState(identifiers, clusters)
                    await run_partition(partition, items, batch, partition_of, step, out)
                    batch.flush()
            await send(out, route_counts)
            held.release()

    name = app.conf.id
    routing_in = app.topic(topics.identity_routing, key_serializer="raw", value_serializer="raw")
    return (
        app.agent(source, name=f"{name}.identity-intake")(intake),
        app.agent(routing_in, name=f"{name}.identity-route")(route),
    )
