"""A safety net under Faust's consumer: records it skipped are read again, never lost.

faust-streaming 0.15.3 drops records it fetched during a rebalance and counts on seeking back to
the committed offset to fetch them again (see :mod:`streams.faust_fixes` for the case that fix
covers). Under load on the real broker a few touchpoints per thousand still went missing after
a rebalance: their offsets were committed (later records of the partition were acknowledged) but
the agent never saw them. Our input topics are neither compacted nor transactional, so their
offsets are contiguous: an agent can tell a skipped record from the offsets it is handed.

:class:`GapFiller` remembers, per topic-partition and consumer generation, the next offset the
agent should see (at the first record after an assignment: the group's committed offset, or the
partition's start when nothing was committed). A record beyond that means records were skipped;
they are read directly from the broker and handed to the agent first. Processing them late is
fine for every stage (identity is order-independent, journeys tolerate out-of-order input within
the grace period), and reading one twice is the usual at-least-once case. Each fill is logged
and counted, so the day Faust stops skipping, the counter says so.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from faust.types import TP, AppT

from schemas.topics import KafkaOptions

log = logging.getLogger(__name__)
READ_TIMEOUT_S = 30.0
OUTAGE_S = 300.0  # how long a read of the broker is retried while the broker is away
T = TypeVar("T")


def retrying(read: Callable[[], T], what: str, outage_s: float = OUTAGE_S) -> T:
    """``read()``, retried while the broker is unreachable (restarting, a network blip).

    The reads here run inside an agent: an exception would end the worker (exit 70), so a broker
    restart -- which Faust's own consumer and producer ride out by retrying -- must not surface
    as one. Only an outage longer than ``outage_s`` does.
    """
    deadline, pause = time.monotonic() + outage_s, 0.5
    while True:
        try:
            return read()
        except KafkaException as exc:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("%s failed (%s); retrying in %.1f s", what, exc, pause)
            time.sleep(pause)
            pause = min(pause * 2, 10.0)


SWEEP_INTERVAL_S = 5.0
STUCK_SWEEPS = 3  # a partition whose committed offset stood still with lag this many sweeps running


@dataclass(frozen=True, slots=True)
class Record:
    """One input record, whichever consumer read it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class GapFiller:
    """Per-partition offset bookkeeping for one agent, and the reads that fill a gap."""

    def __init__(self, kafka: KafkaOptions, group_id: str) -> None:
        self._kafka, self._group = kafka, group_id
        self._expected: dict[tuple[str, int], int] = {}
        self._generation: int | None = None
        self.filled = 0

    async def before(
        self,
        topic: str,
        partition: int,
        offset: int,
        generation: int,
        peers: Callable[[], Iterable[tuple[str, int]]] | None = None,
    ) -> list[Record]:
        """Records of ``topic``/``partition`` that should have come before ``offset`` and did not.

        ``peers`` lists the other partitions this worker was assigned: the first record of a
        generation looks up where each of them starts in the same request. One lookup per
        partition (a consumer made, a coordinator found, ~50 ms each) held a worker that owns the
        40 partitions of ten touchpoint topics to a trickle of one event every 50 ms for its first
        two seconds after every rebalance.
        """
        if generation != self._generation:  # a rebalance: positions may have moved, start afresh
            self._expected.clear()
            self._generation = generation
        key = (topic, partition)
        expected = self._expected.get(key)
        if expected is None:
            others = peers() if peers else ()
            wanted = [key, *(tp for tp in others if tp not in self._expected and tp != key)]
            starts = await asyncio.to_thread(
                retrying, lambda: self._starts_of(wanted), f"committed offsets of {len(wanted)} partition(s)"
            )
            # Only this worker commits the partitions it owns, and it has acknowledged none of a
            # peer's records yet: each start read now is the one its first record would read.
            for peer, start in starts.items():
                self._expected.setdefault(peer, start)
            expected = starts[key]
        self._expected[key] = max(expected, offset + 1)
        if offset <= expected:
            return []
        missing = await asyncio.to_thread(
            retrying, lambda: self._read(topic, partition, expected, offset), f"reading {topic}[{partition}]"
        )
        self.filled += len(missing)
        log.warning(
            "consumer skipped %d record(s) of %s[%d] at offsets %d..%d; read them directly",
            len(missing), topic, partition, expected, offset - 1,
        )  # fmt: skip
        return missing

    def _starts_of(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Each partition's committed offset in the group, or its first offset when none is committed."""
        consumer = Consumer({**self._kafka, "group.id": self._group, "enable.auto.commit": False})
        try:
            wanted = [TopicPartition(topic, partition) for topic, partition in partitions]
            starts: dict[tuple[str, int], int] = {}
            for found in consumer.committed(wanted, timeout=10):
                if found.error is not None:
                    raise KafkaException(found.error)
                start = found.offset
                if start < 0:
                    partition = TopicPartition(found.topic, found.partition)
                    start, _ = consumer.get_watermark_offsets(partition, timeout=10)
                starts[(found.topic, found.partition)] = int(start)
            return starts
        finally:
            consumer.close()

    def _read(self, topic: str, partition: int, start: int, end: int) -> list[Record]:
        """Records at offsets [start, end) of one partition, read outside any consumer group."""
        reader = Consumer(
            {**self._kafka, "group.id": f"gapfill-{uuid.uuid4().hex}", "enable.auto.commit": False}
        )
        out: list[Record] = []
        try:
            reader.assign([TopicPartition(topic, partition, start)])
            deadline = time.monotonic() + READ_TIMEOUT_S
            while start + len(out) < end and time.monotonic() < deadline:
                msg = reader.poll(1.0)
                if msg is None or msg.error() is not None:
                    continue
                position = msg.offset() or 0
                if position >= end:
                    break
                out.append(Record(topic, partition, position, msg.key(), msg.value() or b""))
        finally:
            reader.close()
        if start + len(out) < end:  # never hand on a partial fill: the rest would count as read
            detail = f"could only read {len(out)} of {end - start} skipped records of {topic}[{partition}]"
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, detail))
        return out


def assigned_inputs(app: Any) -> list[tuple[str, int]]:
    """The partitions this worker reads as an agent's input (its assignment less table changelogs)."""
    changelogs = app.tables.changelog_topics
    return [(tp.topic, tp.partition) for tp in app.assignor.assigned_actives() if tp.topic not in changelogs]


async def records_of(event: Any, gaps: GapFiller) -> list[Record]:
    """The records an agent should process for one Faust event: skipped ones first, then its own."""
    msg = event.message
    generation = int(event.app.consumer_generation_id or 0)
    peers = functools.partial(assigned_inputs, event.app)
    missing = await gaps.before(msg.topic, msg.partition, msg.offset, generation, peers)
    if missing:
        # Faust commits only contiguous acknowledged offsets: without being told, it waits forever
        # for the offsets it skipped (a partition whose lag never drains) or, when its committed
        # offset is 0, commits past them. Its gap register is meant for offsets it will not see.
        await event.app.consumer._add_gap(TP(msg.topic, msg.partition), missing[0].offset, missing[-1].offset)
    return [*missing, Record(msg.topic, msg.partition, msg.offset, msg.key, event.value)]


class TailSweeper:
    """The gap filler's other half: records skipped at the end of a partition are fetched again.

    :class:`GapFiller` notices a skipped record when a later one of its partition arrives. When
    nothing follows (the last touchpoints of a quiet channel, produced right as a rebalance ended),
    there is no later record: Faust had fetched and dropped them, its fetch position is past them,
    and the partition keeps a lag that never drains -- seen on the real broker after a second
    worker left the group. Every :data:`SWEEP_INTERVAL_S`, each stream partition this worker owns
    is compared with the broker: committed offset below the end, standing still for
    :data:`STUCK_SWEEPS` sweeps in a row while Faust is neither rebalancing nor holding it paused,
    means its records are not coming. The consumer is then sought back to the committed offset
    and reads them again. A partition that was merely slow gets records it already had in hand
    re-read: at-least-once, like any replay, never a loss.
    """

    def __init__(self, kafka: KafkaOptions, group_id: str) -> None:
        self._kafka, self._group = kafka, group_id
        self._still: dict[TP, tuple[int, int]] = {}  # committed offset, sweeps it stood still with lag
        self._generation: int | None = None
        self.sought = 0

    def register(self, app: AppT) -> None:
        @app.timer(SWEEP_INTERVAL_S, name="omnijourney.tail-sweeper")
        async def sweep() -> None:
            try:
                await self.sweep(app)
            except KafkaException as exc:  # the broker is away: the next sweep looks again
                log.warning("tail sweep skipped: %s", exc)
            except Exception:  # a failed look must not end the worker; the next sweep tries again
                log.exception("tail sweep failed")

    async def sweep(self, app: AppT) -> None:
        consumer: Any = app.consumer
        generation = app.consumer_generation_id
        if app.rebalancing or generation != self._generation:
            self._still.clear()
            self._generation = generation
            return
        changelogs = app.tables.changelog_topics
        held = set(getattr(consumer, "_paused_partitions", ())) | set(
            getattr(consumer, "_buffered_partitions", ())
        )
        tps = [tp for tp in app.assignor.assigned_actives() if tp.topic not in changelogs and tp not in held]
        lagging = await asyncio.to_thread(self._lagging, tps)
        still = {}
        for tp, committed in lagging.items():
            before, sweeps = self._still.get(tp, (committed, 0))
            still[tp] = (committed, sweeps + 1 if before == committed else 1)
        self._still = still
        for tp, (committed, sweeps) in still.items():
            if sweeps < STUCK_SWEEPS or app.rebalancing or app.consumer_generation_id != generation:
                continue
            log.warning(
                "%s[%d] has had lag at committed offset %d for %d checks; reading it again from there",
                tp.topic, tp.partition, committed, sweeps,
            )  # fmt: skip
            await consumer.seek(tp, committed)
            self.sought += 1
            del self._still[tp]

    def _lagging(self, tps: list[TP]) -> dict[TP, int]:
        """The group's committed offset of each partition in ``tps`` that has records past it."""
        if not tps:
            return {}
        consumer = Consumer({**self._kafka, "group.id": self._group, "enable.auto.commit": False})
        try:
            committed = consumer.committed([TopicPartition(tp.topic, tp.partition) for tp in tps], timeout=10)
            lagging = {}
            for tp, position in zip(tps, committed, strict=True):
                start = position.offset
                low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
                if start < 0:
                    start = low
                if start < high:
                    lagging[tp] = int(start)
            return lagging
        finally:
            consumer.close()
