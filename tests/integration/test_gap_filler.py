"""The gap filler on the real broker: records a consumer skipped come back from the partition."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from schemas.topics import KafkaOptions
from streams.admin import ensure_topics
from streams.gaps import GapFiller

pytestmark = pytest.mark.integration


@pytest.fixture
def topic(kafka: KafkaOptions) -> str:
    name = f"gaps-{uuid.uuid4().hex[:10]}"
    ensure_topics(kafka, [name], 2, 1)
    producer = Producer(kafka)
    for n in range(10):
        producer.produce(name, key=f"k{n}".encode(), value=f"v{n}".encode(), partition=0)
    assert producer.flush(30) == 0
    return name


def test_first_record_past_the_start_brings_the_skipped_ones(kafka: KafkaOptions, topic: str) -> None:
    filler = GapFiller(kafka, f"group-{uuid.uuid4().hex}")
    skipped = asyncio.run(filler.before(topic, 0, 4, generation=1))
    assert [(r.offset, r.key, r.value) for r in skipped] == [
        (n, f"k{n}".encode(), f"v{n}".encode()) for n in range(4)
    ]
    assert asyncio.run(filler.before(topic, 0, 5, generation=1)) == []  # contiguous from here
    later = asyncio.run(filler.before(topic, 0, 8, generation=1))
    assert [r.offset for r in later] == [6, 7]
    assert filler.filled == 6


def test_the_committed_offset_is_where_a_new_assignment_starts(kafka: KafkaOptions, topic: str) -> None:
    group = f"group-{uuid.uuid4().hex}"
    committer = Consumer({**kafka, "group.id": group, "enable.auto.commit": False})
    committer.commit(offsets=[TopicPartition(topic, 0, 7)], asynchronous=False)
    committer.close()
    filler = GapFiller(kafka, group)
    assert asyncio.run(filler.before(topic, 0, 7, generation=3)) == []  # exactly where it should start
    assert [r.offset for r in asyncio.run(filler.before(topic, 0, 9, generation=3))] == [8]
    # A rebalance (new generation): a record before the committed offset is a redelivery, not a gap.
    assert asyncio.run(filler.before(topic, 0, 2, generation=4)) == []


def test_the_first_record_of_a_generation_looks_up_every_assigned_partition_at_once(
    kafka: KafkaOptions, topic: str
) -> None:
    group = f"group-{uuid.uuid4().hex}"
    committer = Consumer({**kafka, "group.id": group, "enable.auto.commit": False})
    committer.commit(offsets=[TopicPartition(topic, 0, 7)], asynchronous=False)
    filler = GapFiller(kafka, group)
    peers = [(topic, 0), (topic, 1)]
    assert asyncio.run(filler.before(topic, 1, 0, generation=1, peers=lambda: peers)) == []
    # Partition 0's start (7) was read with partition 1's: a commit that moves it afterwards is not
    # what its first record is compared with, so offsets 7 and 8 count as skipped.
    committer.commit(offsets=[TopicPartition(topic, 0, 9)], asynchronous=False)
    committer.close()
    skipped = asyncio.run(filler.before(topic, 0, 9, generation=1, peers=lambda: peers))
    assert [r.offset for r in skipped] == [7, 8]
