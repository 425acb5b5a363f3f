"""Routing consumed messages: current-schema bytes stay encoded, the rest is decoded or dead-lettered."""

from __future__ import annotations

import datetime as dt

import pytest

from schemas.codec import Codec
from schemas.topics import TopicNames
from sinks.batch import DEAD_LETTERS, TOUCHPOINTS, Batch
from sinks.routing import Router
from tests.integration.sink_helpers import (
    FakeMessage,
    alerts,
    by_topic,
    encode,
    journeys,
    messages,
    resolved_touchpoints,
)

TOPICS = TopicNames("t.")


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def test_every_current_schema_message_stays_encoded_for_its_table(codec: Codec) -> None:
    msgs = messages(codec, by_topic(TOPICS, 25, seed=1))
    batch = Batch(10**6, 10**6)
    dead, errors = Router(TOPICS, codec).feed(batch, msgs)
    assert (dead, errors) == (0, [])
    assert batch.rows == {}
    expected: dict[str, int] = {}
    router = Router(TOPICS, codec)
    for msg in msgs:
        table = router.tables[msg.t]
        expected[table] = expected.get(table, 0) + 1
    assert {table: len(v) for table, v in batch.encoded.items()} == expected
    assert batch.size == len(msgs)
    assert batch.commit_positions() == {
        (topic, 0): sum(1 for m in msgs if m.t == topic) for topic in {m.t for m in msgs}
    }


def test_without_the_fast_path_records_are_decoded_as_the_codec_decodes(codec: Codec) -> None:
    sent = resolved_touchpoints(5, seed=3)
    msgs = [FakeMessage(TOPICS.resolved, encode(codec, r), i) for i, r in enumerate(sent)]
    batch = Batch(100, 100)
    Router(TOPICS, codec, fast=False).feed(batch, msgs)
    assert batch.encoded == {}
    assert batch.rows[TOUCHPOINTS] == [codec.decode(m.v).record for m in msgs if m.v]


def test_unreadable_records_become_dead_letters_stamped_with_the_broker_time(codec: Codec) -> None:
    good = encode(codec, resolved_touchpoints(1, seed=4)[0])
    confluent = b"\x00\x00\x00\x00\x07" + good[10:]
    msgs = [
        FakeMessage(TOPICS.resolved, b"not avro", 5, p=2, k=b"key", ts=1_790_000_123_456),
        FakeMessage(TOPICS.resolved, confluent, 6, p=2),
        FakeMessage(TOPICS.resolved, None, 7, p=2),
        FakeMessage(TOPICS.journeys, encode(codec, alerts()[0]), 3, p=1),  # the wrong record here
        FakeMessage(TOPICS.journeys, encode(codec, journeys()[0]), 4, p=1),
    ]
    batch = Batch(100, 100)
    dead, _ = Router(TOPICS, codec).feed(batch, msgs)
    assert dead == 4
    rows = batch.rows[DEAD_LETTERS]
    assert [(r["source_topic"], r["source_partition"], r["source_offset"]) for r in rows] == [
        (m.t, m.p, m.o) for m in msgs[:4]
    ]
    assert {r["stage"] for r in rows} == {"sink"}
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    assert rows[0]["failed_at"] == epoch + dt.timedelta(milliseconds=1_790_000_123_456)
    assert rows[0]["key"] == b"key"
    assert rows[0]["payload"] == b"not avro"
    assert "registry" in rows[1]["reason"]
    assert rows[2]["payload_size"] == 0
    assert "Alert" in rows[3]["reason"]
    assert len(batch.encoded["journeys"]) == 1
    assert batch.commit_positions() == {(TOPICS.resolved, 2): 8, (TOPICS.journeys, 1): 5}


def test_demoting_a_table_decodes_its_messages_and_dead_letters_only_the_bad_ones(codec: Codec) -> None:
    sent = resolved_touchpoints(4, seed=5)
    values = [encode(codec, r) for r in sent]
    values[2] = values[2][:-6]  # the fingerprint is current, the body is cut short
    msgs = [FakeMessage(TOPICS.resolved, v, i) for i, v in enumerate(values)]
    router = Router(TOPICS, codec)
    batch = Batch(100, 100)
    router.feed(batch, msgs)
    assert len(batch.encoded[TOUCHPOINTS]) == 4
    ranges = dict(batch.ranges)
    assert router.demote(batch, TOUCHPOINTS) == 1
    assert TOUCHPOINTS not in batch.encoded
    assert batch.rows[TOUCHPOINTS] == [codec.decode(v).record for i, v in enumerate(values) if i != 2]
    assert [r["source_offset"] for r in batch.rows[DEAD_LETTERS]] == [2]
    assert batch.ranges == ranges  # the same messages, so the same offsets to commit


def test_consumer_errors_are_returned_and_not_counted_as_records(codec: Codec) -> None:
    batch = Batch(100, 100)
    msgs = [FakeMessage(TOPICS.resolved, None, 0, err="boom")]
    dead, errors = Router(TOPICS, codec).feed(batch, msgs)
    assert dead == 0
    assert [str(e) for e in errors] == ["boom"]
    assert batch.empty
    assert batch.size == 0
