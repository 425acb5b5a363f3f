"""A simulated day for 1,000 customers through the producer SDK to the real broker, read back whole.

Every valid event must arrive once and decode; per-channel counts must equal the simulator's truth;
the SDK must have refused the SDK-invalid events, and only the wire poison may be undecodable.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from producers.simulator import load_ground_truth
from schemas.codec import Codec
from schemas.errors import DecodeError
from schemas.models import Touchpoint
from streams.produce import produce_simulation
from tests.integration.conftest import Isolated

pytestmark = pytest.mark.integration

RAW_EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}")


def read_all(isolated: Isolated, topics: list[str]) -> list[bytes]:
    """Every message on ``topics``, from the beginning up to the high watermarks seen at start."""
    consumer = Consumer(
        {
            "bootstrap.servers": isolated.settings.kafka_brokers,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    metadata = consumer.list_topics(timeout=10)
    ends = {}
    for topic in topics:
        for partition in metadata.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                ends[(topic, partition)] = high
    consumer.assign([TopicPartition(t, p, 0) for (t, p) in ends])
    values: list[bytes] = []
    remaining = dict(ends)
    misses = 0
    while remaining and misses < 30:
        msg = consumer.poll(1.0)
        if msg is None:
            misses += 1
            continue
        assert msg.error() is None, msg.error()
        values.append(msg.value() or b"")
        key = (msg.topic(), msg.partition())
        if key in remaining and (msg.offset() or 0) + 1 >= remaining[key]:
            del remaining[key]
    consumer.close()
    assert not remaining, f"could not read to the end of {remaining}"
    return values


def test_simulated_day_arrives_whole_and_decodes(isolated: Isolated, tmp_path: Path) -> None:
    truth_path = tmp_path / "truth.json"
    summary = produce_simulation(
        isolated.settings, customers=1000, days=1, seed=11, rate=None, truth_path=truth_path, progress=False
    )
    truth = load_ground_truth(truth_path)
    wire_poison = [i for i in truth.invalid if i.stage == "wire"]
    sdk_invalid = [i for i in truth.invalid if i.stage == "sdk"]
    assert summary.refused == len(sdk_invalid) > 0
    assert summary.accepted_invalid == 0
    assert summary.refused_valid == 0

    codec = Codec()
    channels: Counter[str] = Counter()
    event_ids: set[str] = set()
    undecodable = 0
    values = read_all(isolated, isolated.topics.all_touchpoints)
    for value in values:
        try:
            decoded = codec.decode(value)
        except DecodeError:
            undecodable += 1
            continue
        touchpoint = Touchpoint.from_avro(decoded.record)
        channels[touchpoint.channel.value] += 1
        event_ids.add(str(touchpoint.event_id))
        assert RAW_EMAIL.search(value) is None, "a raw email left the producer"
        for ident in touchpoint.identifiers:
            if ident.type.value in ("hashed_email", "hashed_phone"):
                assert re.fullmatch(r"[0-9a-f]{64}", ident.value)

    assert dict(channels) == truth.channel_counts
    assert len(event_ids) == sum(truth.channel_counts.values()) == summary.valid
    assert undecodable == len(wire_poison) == summary.wire
    assert not event_ids & {i.event_id for i in sdk_invalid}
