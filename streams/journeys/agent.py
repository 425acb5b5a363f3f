"""The Faust agents of the journey stage: thin shells over :mod:`streams.journeys.stage`.

``journeys`` consumes, keyed by person_id and so co-partitioned: ``touchpoints.resolved`` (fold a
touchpoint), ``identity.changes`` (a merge, keyed by the merged-away person: its state leaves for
the survivor's partition) and ``journeys.handoff`` (a merged state arriving, or a touchpoint still
keyed by a merged-away person, forwarded). The table value of a person is its whole stage state,
or ``{"alias": survivor}`` once merged away.

``index`` consumes ``journeys.index`` (keyed by identifier) into a table identifier -> person, so
the continuity API finds a card by any identifier the person has shown.

Batches: the ``journeys`` agent takes up to :data:`BATCH_MAX` events at a time and works each
partition's events in order, as one event at a time would, with that partition's event current
(:func:`streams.faust_batch.event_context`: table writes go to its changelog partition) and the
persons table behind a write-back cache (:mod:`streams.journeys.person_cache`: one write per
changed person and batch; kept from batch to batch until a rebalance, so a person is loaded from
the table once, not once per batch). Outputs are collected in order and handed to the
producer after the table writes, as one record batch run per topic partition
(:class:`streams.batch_send.BatchSender`); the batch's offsets are released for commit only then
(:class:`streams.faust_batch.HeldAcks`). The ``index`` agent works in batches the same way: one
write per identifier and batch (:class:`streams.writeback.WriteBack`).

Time: each partition's stream time (newest event time consumed) is its watermark, and a
:class:`DueIndex` per partition remembers which person needs a tick when. Only persons of the
partition being processed are ticked, because Faust writes a table change to the changelog
partition of the event in hand.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterable
from typing import Any

import faust

from schemas.codec import Codec
from schemas.errors import OmnijourneyError
from schemas.topics import TopicNames
from streams import metrics
from streams.batch_send import BatchSender, Output
from streams.dead_letters import DEAD_LETTER_NAME, dead_letter
from streams.faust_batch import BATCH_MAX, BATCH_WITHIN, HeldAcks, event_context, take_events
from streams.gaps import GapFiller, Record, records_of
from streams.journeys.journey_config import DEFAULT_CONFIG, JourneyConfig
from streams.journeys.journey_driver import DueIndex
from streams.journeys.person_cache import PersonCache
from streams.journeys.stage import Emitted, PersonStage, on_merge, on_tick, on_touch
from streams.journeys.timeline import to_ms
from streams.journeys.touch import touch_from_resolved
from streams.json_table import JsonValues
from streams.privacy.stage_hooks import JourneyPrivacy
from streams.writeback import WriteBack

log = logging.getLogger(__name__)
STAGE = "journeys"
JOURNEY_NAME = "io.omnijourney.Journey"
SESSION_NAME = "io.omnijourney.Session"
ALERT_NAME = "io.omnijourney.Alert"
RESOLVED_NAME = "io.omnijourney.ResolvedTouchpoint"
MAX_ALIAS_HOPS = 20
CACHED_PERSONS = 2_000  # persons a partition's cache keeps between batches at most (~12 KiB each loaded)


class JourneyStage:
    """The stage's topics, tables and agents on one Faust app, and the state lookups the API uses."""

    def __init__(
        self,
        app: faust.App,
        topics: TopicNames,
        codec: Codec,
        gaps: GapFiller,
        cfg: JourneyConfig = DEFAULT_CONFIG,
        privacy: JourneyPrivacy | None = None,
    ) -> None:
        self.app, self.topics, self.codec, self.cfg, self.gaps = app, topics, codec, cfg, gaps
        self.privacy = privacy  # GDPR: suppressed persons dropped, erased persons' state deleted
        raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
        self.resolved = app.topic(topics.resolved, **raw)
        self.changes = app.topic(topics.identity_changes, **raw)
        self.index_topic = app.topic(topics.journey_index, **raw)
        self.outputs = {  # topic names: outputs go out through self.sender
            "journeys": topics.journeys,
            "sessions": topics.sessions,
            "alerts": topics.alerts,
            "dead": topics.dead_letters,
        }
        json_schema: Any = faust.Schema(key_serializer="json", value_serializer="json")
        raw_values: Any = faust.Schema(key_serializer="json", value_serializer="raw")
        # Values dumped once by JsonValues, not twice by Faust (store and changelog): same bytes.
        # (A table's store takes its serializers from key_type/value_type, its changelog from schema.)
        self.persons = JsonValues(app.Table("journey-persons", schema=raw_values, value_type=bytes))
        self.index = app.Table("journey-index", schema=json_schema)
        self.watermarks: dict[int, int] = {}
        self.store = PersonCache(self.persons)  # the batch's view of the persons table
        self.sends: list[Output] = []  # the batch's outputs, in the order the steps produced them
        self.sender = BatchSender(app)
        self.dues: dict[int, tuple[int, DueIndex]] = {}
        self.caches: dict[int, tuple[int, PersonCache]] = {}  # partition -> (generation, its persons)
        self.unfinished = False  # a batch started and not done (it failed): its caches are dropped
        self.counts = metrics.StageMetrics(STAGE)
        name = app.conf.id
        source = app.topic(topics.resolved, topics.identity_changes, topics.journey_handoff, **raw)
        app.agent(source, name=f"{name}.journeys")(self._journeys)
        app.agent(self.index_topic, name=f"{name}.journey-index")(self._index)

    # -- agents ---------------------------------------------------------------------------------

    async def _journeys(self, stream: faust.StreamT[bytes]) -> None:
        async for events in take_events(stream, BATCH_MAX, BATCH_WITHIN):
            held, self.sends = HeldAcks(events), []  # no output of an earlier, failed batch goes out
            self.counts.count_batch()
            self._begin_batch()
            for group in by_partition(events):
                with event_context(group[-1]):  # table reads and writes of this partition's persons
                    await self._work_partition(group)
            await self._send_all()
            held.release()
            self.unfinished = False

    def _begin_batch(self) -> None:
        """A batch starts. If the last one never finished (it failed), the persons it changed may
        hold steps that were never written back: every cache starts anew from the table."""
        if self.unfinished:
            self.caches.clear()
        self.unfinished = True

    async def _work_partition(self, group: list[Any]) -> None:
        """One partition's events of a batch, in order, through its write-back cache, written back
        at the end."""
        self.store = self._persons(group[0].message.partition)
        for event in group:
            for record in await records_of(event, self.gaps):
                await self._take(record)
        self.store.flush()

    def _persons(self, partition: int) -> PersonCache:
        """The partition's write-back cache, kept from batch to batch: a person is loaded from the
        table once, not once per batch. Everything in it was written back at the end of the last
        batch, and only this worker writes the partition's persons while it owns the partition:
        it starts empty after a rebalance (as :meth:`_due` does) and when it holds too many."""
        generation = int(self.app.consumer_generation_id or 0)
        held = self.caches.get(partition)
        if held is None or held[0] != generation or held[1].cached > CACHED_PERSONS:
            held = self.caches[partition] = (generation, PersonCache(self.persons))
        return held[1]

    def _emit(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Collect one output; :meth:`_send_all` hands them to the producer after the table writes."""
        self.sends.append((topic, key, value))

    async def _send_all(self) -> None:
        """Hand the batch's outputs to the producer, each partition's in order (then its offsets
        may be committed)."""
        sends, self.sends = self.sends, []
        await self.sender.send(sends)

    async def _take(self, msg: Record) -> None:
        self.counts.count_in()
        if self.privacy is not None:
            await self.privacy.ready()
        try:
            if msg.topic == self.topics.journey_handoff:
                self._on_handoff(json.loads(msg.value), msg.partition)
            elif msg.topic == self.topics.identity_changes:
                self._on_change(self.codec.decode(msg.value).record, msg.partition)
            else:
                self._on_resolved(msg.value, msg.partition)
        except OmnijourneyError as exc:
            exc.at(msg.topic, msg.partition, msg.offset)
            record = dead_letter(STAGE, exc, msg.topic, msg.partition, msg.offset, msg.key, msg.value)
            dead = self.codec.encode(DEAD_LETTER_NAME, record)
            self._emit(self.outputs["dead"], msg.key, dead)
            self.counts.count_dead_letter(exc)

    async def _index(self, stream: faust.StreamT[bytes]) -> None:
        async for events in take_events(stream, BATCH_MAX, BATCH_WITHIN):
            held = HeldAcks(events)  # committable once the table writes are queued
            for group in by_partition(events):
                with event_context(group[-1]):  # each partition's keys to its changelog partition
                    self._index_partition(group)
            held.release()

    def _index_partition(self, group: list[Any]) -> None:
        """One partition's ``journeys.index`` events, in order, each identifier written once."""
        index = WriteBack(self.index)
        for event in group:
            index_event(index, event.message.key.decode(), event.value, self.privacy)
        index.flush()

    # -- steps ------------------------------------------------------------------------------------

    def _on_resolved(self, value: bytes, partition: int, hops: int = 0, to: str | None = None) -> None:
        record = self.codec.decode(value).record
        touch = touch_from_resolved(record)
        person_id = to or touch.person_id
        alias = self.store.alias(person_id)
        if alias is not None:
            if hops < MAX_ALIAS_HOPS:
                forward = {"kind": "touch", "to": alias, "hops": hops + 1}
                forward["record"] = base64.b64encode(value).decode()
                self._emit(self.topics.journey_handoff, alias.encode(), json.dumps(forward).encode())
                return
            log.warning("alias chain from %s longer than %d hops; folding here", person_id, hops)
        if self.privacy is not None and self.privacy.drops((person_id, touch.person_id), touch.identifiers):
            return
        if person_id != touch.person_id:
            touch = dataclasses.replace(touch, person_id=person_id)
        watermark = self._advance_watermark(partition, to_ms(touch.event_time))
        stage = self.store.stage(person_id) or PersonStage.new(person_id)
        self._settle(stage, on_touch(stage, touch, watermark, _now(), self.cfg), partition)
        self._tick(partition)

    def _on_change(self, record: dict[str, Any], partition: int) -> None:
        if record["kind"] == "erasure" and self.privacy is not None:
            if self.privacy.erase(self.store, record["person_id"]):
                self._due(partition).set(record["person_id"], None)
            return
        if record["kind"] != "merge" or not record.get("survivor_person_id"):
            return
        loser, survivor = record["person_id"], record["survivor_person_id"]
        if self.privacy is not None and self.privacy.drops((loser, survivor)):
            return
        if self.store.alias(loser) is not None:
            return  # this merge was already handled (a replay)
        stored = self.store.get(loser)
        self.store.set_alias(loser, survivor)
        self._due(partition).set(loser, None)
        if stored is not None:
            absorb = {"kind": "absorb", "from": loser, "to": survivor, "state": stored}
            self._emit(self.topics.journey_handoff, survivor.encode(), json.dumps(absorb).encode())

    def _on_handoff(self, message: dict[str, Any], partition: int) -> None:
        hops = int(message.get("hops", 0))
        if message["kind"] == "touch":
            to = message.get("to")
            self._on_resolved(base64.b64decode(message["record"]), partition, hops, to)
            return
        survivor_id = str(message["to"])
        if self.privacy is not None and self.privacy.drops((survivor_id, str(message["from"]))):
            return
        alias = self.store.alias(survivor_id)
        if alias is not None:  # the survivor was merged away since: pass it on
            if hops < MAX_ALIAS_HOPS and alias != message["from"]:
                onward = {**message, "to": alias, "hops": hops + 1}
                self._emit(self.topics.journey_handoff, alias.encode(), json.dumps(onward).encode())
                return
            log.warning(
                "merge of %s into %s meets an alias cycle; %s keeps it",
                message["from"],
                survivor_id,
                survivor_id,
            )
        loser = PersonStage.load(message["from"], message["state"])
        survivor = self.store.stage(survivor_id) or PersonStage.new(survivor_id)
        self._settle(survivor, on_merge(survivor, loser, _now(), self.cfg), partition)

    def _tick(self, partition: int) -> None:
        watermark = self.watermarks[partition]
        for person_id in self._due(partition).pop_due(watermark):
            stage = self.store.stage(person_id)
            if stage is None:
                continue
            self._settle(stage, on_tick(stage, watermark, _now(), self.cfg), partition)

    def _settle(self, stage: PersonStage, out: Emitted, partition: int) -> None:
        person_id = stage.journey.person_id
        self.store.put(person_id, stage)
        self._due(partition).set(person_id, stage.next_due_ms(self.cfg))
        key = person_id.encode()
        self._publish("sessions", SESSION_NAME, key, out.sessions)
        self._publish("journeys", JOURNEY_NAME, key, out.journeys)
        self._publish("alerts", ALERT_NAME, key, out.alerts)
        for kind, value in out.new_identifiers:
            self._emit(self.topics.journey_index, f"{kind}:{value}".encode(), key)

    def _publish(self, output: str, name: str, key: bytes, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self._emit(self.outputs[output], key, self.codec.encode(name, record))
            self.counts.count_out(output)

    # -- time -------------------------------------------------------------------------------------

    def _advance_watermark(self, partition: int, event_ms: int) -> int:
        """Stream time, capped at the wall clock: one future-dated event must not seal everything."""
        capped = min(event_ms, to_ms(_now()))
        mark = max(self.watermarks.get(partition, capped), capped)
        self.watermarks[partition] = mark
        return mark

    def _due(self, partition: int) -> DueIndex:
        """The partition's deadlines, rebuilt from the table after every rebalance (the heap is
        memory only: another worker may have changed these persons while it owned them)."""
        generation = int(self.app.consumer_generation_id or 0)
        held = self.dues.get(partition)
        if held is None or held[0] != generation:
            held = self.dues[partition] = (generation, self._rebuild_due(partition))
        return held[1]

    def _rebuild_due(self, partition: int) -> DueIndex:
        """After a start or rebalance: the deadlines of this partition's persons, from the table."""
        due = DueIndex()
        for person_id, stored in self.persons.items():
            if "alias" in stored or self.partition_of(person_id) != partition:
                continue
            due.set(person_id, PersonStage.load(person_id, stored).next_due_ms(self.cfg))
        for person_id, stage in self.store.pending():  # this batch's changes, not in the table yet
            if self.partition_of(person_id) == partition:
                due.set(person_id, stage.next_due_ms(self.cfg))
        return due

    def partition_of(self, person_id: str) -> int:
        return int(self.app.producer.key_partition(self.topics.resolved, person_id.encode()).partition)

    # -- lookups (continuity API) -----------------------------------------------------------------

    def local_person(self, identifier_key: str) -> str | None:
        value = self.index.get(identifier_key)
        return None if value is None else str(value)

    def local_card(self, person_id: str) -> dict[str, Any] | str | None:
        """The card, or the survivor's id when ``person_id`` was merged away, or None."""
        stored = self.persons.get(person_id)
        if stored is None:
            return None
        if "alias" in stored:
            return str(stored["alias"])
        return PersonStage.load(person_id, stored).card()


def index_event(index: Any, key: str, value: bytes, privacy: JourneyPrivacy | None) -> None:
    """One ``journeys.index`` message into the identifier table (or a store in front of it)."""
    if privacy is not None and privacy.index(index, key, value):
        return
    index[key] = value.decode()


def by_partition(events: Iterable[Any]) -> list[list[Any]]:
    """A batch's events grouped by partition, each group in consumption order (a partition's
    events must be folded in order; partitions are independent of one another)."""
    groups: dict[int, list[Any]] = {}
    for event in events:
        groups.setdefault(event.message.partition, []).append(event)
    return list(groups.values())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
