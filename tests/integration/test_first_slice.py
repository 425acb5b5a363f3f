"""One slice through every real part: confluent-kafka producer -> broker -> Faust identity agent ->
touchpoints.resolved -> sink -> ClickHouse (chDB), read back and compared field by field."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import urllib.request
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer

from schemas.codec import Codec
from schemas.models import Channel, EventType, IdentifierType, Touchpoint
from sinks.query_server import bearer
from sinks.store import StoreConfig, store_session
from tests.integration.conftest import Isolated, Pipeline

pytestmark = pytest.mark.integration


def make_touchpoints(count: int, seed: int) -> list[Touchpoint]:
    rng = random.Random(seed)
    base = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
    out = []
    for i in range(count):
        channel = rng.choice([Channel.WEB, Channel.CHAT, Channel.STORE, Channel.POS])
        out.append(
            Touchpoint(
                event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                event_time=base
                + dt.timedelta(minutes=rng.randint(0, 10_000), milliseconds=rng.randint(0, 999)),
                channel=channel,
                event_type=rng.choice([EventType.PAGE_VIEW, EventType.CHAT_MESSAGE, EventType.PURCHASE]),
                identifiers=[
                    {"type": IdentifierType.COOKIE, "value": f"ck-{rng.randint(1, 50)}"},
                    {"type": IdentifierType.LOYALTY_ID, "value": f"L{rng.randint(1000, 1050)}"},
                ],
                source=f"{channel.value}-app",
                session_id=f"s-{i}" if i % 2 else None,
                conversation_id="conv-1" if channel is Channel.CHAT else None,
                context={
                    "store_id": "milano-3" if channel in (Channel.STORE, Channel.POS) else None,
                    "url": f"https://shop.example/p/{i}" if channel is Channel.WEB else None,
                    "purchasable": [None, True, False][i % 3],
                    "product_ids": [f"sku-{j}" for j in range(i % 3)],
                    "amount_cents": 129_900 if i % 4 == 0 else None,
                    "currency": "EUR" if i % 4 == 0 else None,
                    "summary": "asked for the green velvet sofa" if channel is Channel.CHAT else None,
                },
                consent={"analytics": True, "marketing": i % 2 == 0} if i % 5 else None,
                attributes={"colour": "green", "n": str(i)} if i % 2 else {},
            )
        )
    return out


def sink_count(pipeline: Pipeline, sql: str) -> int:
    url, headers = f"{pipeline.sink_url}/sql", bearer(pipeline.token)
    request = urllib.request.Request(url, data=sql.encode(), method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(json.load(response)["rows"][0][0])


def wait_for(sql: str, expected: int, pipeline: Pipeline, timeout_s: float = 120) -> int:
    """Poll until the sink reports ``expected``; a bound on waiting, not a speed assertion."""
    deadline = time.monotonic() + timeout_s
    seen = -1
    while time.monotonic() < deadline:
        assert pipeline.worker.alive(), pipeline.worker.log_tail()
        assert pipeline.sink.alive(), pipeline.sink.log_tail()
        seen = sink_count(pipeline, sql)
        if seen >= expected:
            return seen
        time.sleep(0.5)
    return seen


def test_touchpoints_reach_clickhouse_field_by_field(isolated: Isolated, pipeline: Pipeline) -> None:
    codec = Codec()
    sent = make_touchpoints(60, seed=7)
    producer = Producer({"bootstrap.servers": isolated.settings.kafka_brokers, "enable.idempotence": True})
    for tp in sent:
        producer.produce(
            isolated.topics.touchpoints(tp.channel),
            codec.encode("io.omnijourney.Touchpoint", tp.to_avro()),
            key=tp.identifiers[1].value.encode(),
        )
    poison = [b"not avro at all", codec.encode("io.omnijourney.Touchpoint", sent[0].to_avro())[:-7]]
    for value in poison:
        producer.produce(isolated.topics.touchpoints(Channel.WEB), value, key=b"bad")
    assert producer.flush(30) == 0

    assert wait_for("SELECT count() FROM v_touchpoints", len(sent), pipeline) == len(sent)
    assert wait_for("SELECT count() FROM v_dead_letters", len(poison), pipeline) == len(poison)

    assert pipeline.worker.stop() == 0
    assert pipeline.sink.stop() == 0

    with store_session(StoreConfig(isolated.settings.store_url)) as client:
        result = client.query("SELECT * FROM v_touchpoints")
        rows = {
            str(r["event_id"]): r
            for r in (dict(zip(result.column_names, row, strict=True)) for row in result.result_rows)
        }
        dead = client.query("SELECT stage, error_type, reason, payload_size FROM v_dead_letters").result_rows

    assert set(rows) == {str(tp.event_id) for tp in sent}
    for tp in sent:
        assert_row_matches(rows[str(tp.event_id)], tp)
    assert sorted(d[3] for d in dead) == sorted(len(p) for p in poison)
    assert {d[0] for d in dead} == {"identity"}
    assert {d[1] for d in dead} == {"DecodeError"}
    assert all(d[2] for d in dead)


def assert_row_matches(row: dict[str, Any], tp: Touchpoint) -> None:
    ctx, consent = tp.context, tp.consent
    expected = {
        "event_time": tp.event_time,
        "channel": tp.channel.value,
        "event_type": tp.event_type.value,
        "identifier_types": [i.type.value for i in tp.identifiers],
        "identifier_values": [i.value for i in tp.identifiers],
        "source": tp.source,
        "session_id": tp.session_id,
        "conversation_id": tp.conversation_id,
        "case_id": tp.case_id,
        "store_id": ctx.store_id,
        "agent_id": ctx.agent_id,
        "campaign_id": ctx.campaign_id,
        "url": ctx.url,
        "purchasable": ctx.purchasable,
        "product_ids": ctx.product_ids,
        "order_id": ctx.order_id,
        "reservation_id": ctx.reservation_id,
        "amount_cents": ctx.amount_cents,
        "currency": ctx.currency,
        "summary": ctx.summary,
        "consent_analytics": consent.analytics if consent else None,
        "consent_marketing": consent.marketing if consent else None,
        "consent_personalization": consent.personalization if consent else None,
        "attributes": tp.attributes,
    }
    actual = {name: row[name] for name in expected}
    assert actual == expected
    assert row["event_time"].tzinfo is not None
    assert row["person_id"].startswith("p-")
    assert row["source_topic"].endswith(f"touchpoints.{tp.channel.value}")
