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
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from faust.types import TP

from schemas.topics import KafkaOptions

log = logging.getLogger(__name__)
READ_TIMEOUT_S = 30.0


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

    async def before(self, topic: str, partition: int, offset: int, generation: int) -> list[Record]:
        """Records of ``topic``/``partition`` that should have come before ``offset`` and did not."""
        if generation != self._generation:  # a rebalance: positions may have moved, start afresh
            self._expected.clear()
            self._generation = generation
        key = (topic, partition)
        expected = self._expected.get(key)
        if expected is None:
            expected = await asyncio.to_thread(self._start_of, topic, partition)
        self._expected[key] = max(expected, offset + 1)
        if offset <= expected:
            return []
        missing = await asyncio.to_thread(self._read, topic, partition, expected, offset)
        self.filled += len(missing)
        log.warning(
            "consumer skipped %d record(s) of %s[%d] at offsets %d..%d; read them directly",
            len(missing), topic, partition, expected, offset - 1,
        )  # fmt: skip
        return missing

    def _start_of(self, topic: str, partition: int) -> int:
        """The group's committed offset, or the partition's first offset when none is committed."""
        consumer = Consumer({**self._kafka, "group.id": self._group, "enable.auto.commit": False})
        try:
            committed = consumer.committed([TopicPartition(topic, partition)], timeout=10)[0].offset
            if committed >= 0:
                return int(committed)
            low, _ = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            return int(low)
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
        if start + len(out) < end:
            log.error(
                "could only read %d of %d skipped records of %s[%d]", len(out), end - start, topic, partition
            )
        return out


async def records_of(event: Any, gaps: GapFiller) -> list[Record]:
    """The records an agent should process for one Faust event: skipped ones first, then its own."""
    msg = event.message
    generation = int(event.app.consumer_generation_id or 0)
    missing = await gaps.before(msg.topic, msg.partition, msg.offset, generation)
    if missing:
        # Faust commits only contiguous acknowledged offsets: without being told, it waits forever
        # for the offsets it skipped (a partition whose lag never drains) or, when its committed
        # offset is 0, commits past them. Its gap register is meant for offsets it will not see.
        await event.app.consumer._add_gap(TP(msg.topic, msg.partition), missing[0].offset, missing[-1].offset)
    return [*missing, Record(msg.topic, msg.partition, msg.offset, msg.key, event.value)]
