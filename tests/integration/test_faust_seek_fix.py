"""The seek fix on the real broker: records dropped during a rebalance are fetched again.

Faust drops the records it fetched while its flow was stopped and calls ``seek_to_committed`` to
fetch them again. The test plays that part against a real aiokafka consumer: it fetches records
of a partition nobody has committed (advancing the position), then asks Faust's consumer thread
method to seek back. Faust's own method leaves the position where it was (the records are gone);
the fixed one returns to the beginning, so the same records come again.
"""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from confluent_kafka import Producer

from schemas.topics import KafkaOptions
from streams import faust_fixes
from streams.admin import ensure_topics

pytestmark = pytest.mark.integration


class ThreadShell:
    """The three things the method reads from Faust's consumer thread, around a real consumer."""

    def __init__(self, consumer: AIOKafkaConsumer, changelogs: set[str]) -> None:
        self._consumer = consumer
        self.app = SimpleNamespace(
            tables=SimpleNamespace(changelog_topics=changelogs),
            conf=SimpleNamespace(consumer_auto_offset_reset="earliest"),
        )

    def _ensure_consumer(self) -> AIOKafkaConsumer:
        return self._consumer

    async def call_thread(self, method: Any, *args: Any) -> Any:
        return await method(*args)


async def refetch_after_seek(kafka: KafkaOptions, topic: str, seek: Any, changelogs: set[str]) -> list[bytes]:
    """Fetch everything (position moves to the end), seek as Faust would, fetch what comes again."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka["bootstrap.servers"],
        group_id=f"seekfix-{uuid.uuid4().hex}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        first: list[bytes] = []
        while len(first) < 3:
            batch = await consumer.getmany(tp, timeout_ms=5000)
            first += [r.value for r in batch.get(tp, []) if r.value is not None]
        await seek(ThreadShell(consumer, changelogs))
        again = await consumer.getmany(tp, timeout_ms=3000)
        return [r.value for r in again.get(tp, []) if r.value is not None]
    finally:
        await consumer.stop()


@pytest.fixture
def topic(kafka: KafkaOptions) -> str:
    name = f"seekfix-{uuid.uuid4().hex[:10]}"
    ensure_topics(kafka, [name], 1, 1)
    producer = Producer(kafka)
    for n in range(3):
        producer.produce(name, value=f"record-{n}".encode())
    assert producer.flush(30) == 0
    return name


def test_faust_alone_loses_dropped_records_of_a_never_committed_partition(
    kafka: KafkaOptions, topic: str
) -> None:
    assert asyncio.run(refetch_after_seek(kafka, topic, faust_fixes.original(), set())) == []


def test_the_fix_fetches_them_again_from_the_beginning(kafka: KafkaOptions, topic: str) -> None:
    again = asyncio.run(refetch_after_seek(kafka, topic, faust_fixes._seek_to_committed, set()))
    assert again == [b"record-0", b"record-1", b"record-2"]


def test_changelog_partitions_are_left_to_table_recovery(kafka: KafkaOptions, topic: str) -> None:
    assert asyncio.run(refetch_after_seek(kafka, topic, faust_fixes._seek_to_committed, {topic})) == []
