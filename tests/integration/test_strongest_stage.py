"""The strongest identity stage on the real broker: batched, spliced, dead letters and erasures.

``OMNIJOURNEY_IDENTITY_STAGE=strongest`` gives each touchpoint the person of its strongest
identifier without stitching. Run as a real worker process, it must resolve every valid touchpoint
exactly as :func:`streams.identity.resolve.resolve` does (same person, the touchpoint unchanged),
send undecodable bytes to dead-letters with their position, and drop a touchpoint that names an
erased identifier (published on privacy.suppressions before the worker starts).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer

from schemas.codec import Codec
from schemas.models import Suppression, SuppressionSubject
from streams.identity.resolve import resolve
from streams.supervise import start, wait_http
from tests.integration.conftest import Isolated
from tests.integration.test_simulated_day import read_all

pytestmark = pytest.mark.integration

TOUCHPOINT = "io.omnijourney.Touchpoint"
ERASED_COOKIE = "ck-erased"


def touchpoint(n: int, cookie: str) -> dict[str, object]:
    return {
        "event_id": str(uuid.UUID(int=n + 1, version=4)),
        "event_time": dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC) + dt.timedelta(minutes=n),
        "channel": "web",
        "event_type": "page_view",
        "identifiers": [{"type": "cookie", "value": cookie}, {"type": "customer_id", "value": f"C-{n % 7}"}]
        if n % 3
        else [{"type": "cookie", "value": cookie}],
        "context": {},
    }


def test_the_strongest_stage_resolves_dead_letters_and_erases(isolated: Isolated) -> None:
    codec, topics = Codec(), isolated.topics
    producer = Producer({"bootstrap.servers": isolated.settings.kafka_brokers})
    erasure = Suppression(
        subject=SuppressionSubject.IDENTIFIER,
        identifier_type="cookie",
        value=ERASED_COOKIE,
        erasure_id=uuid.uuid4(),
        subjects=1,
        requested_at=dt.datetime.now(dt.UTC),
    )
    producer.produce(
        topics.suppressions,
        key=erasure.key.encode(),
        value=codec.encode(Suppression.AVRO_NAME, erasure.to_avro()),
    )
    records = [touchpoint(n, ERASED_COOKIE if n == 5 else f"ck-{n}") for n in range(60)]
    values = [codec.encode(TOUCHPOINT, r) for r in records]
    for n, value in enumerate(values):
        producer.produce(topics.touchpoints("web"), key=f"ck-{n}".encode(), value=value)
    producer.produce(topics.touchpoints("web"), key=b"poison", value=b"\x00not avro at all")
    assert producer.flush(30) == 0

    env = {**isolated.env, "OMNIJOURNEY_IDENTITY_STAGE": "strongest", "OMNIJOURNEY_STAGES": "identity"}
    worker = start("worker", ["worker", "-l", "info"], env, isolated.base / "run")
    try:
        settings = isolated.settings
        wait_http(f"http://{settings.web_host}:{settings.web_port}/health", worker)
        expected = {
            str(r["event_id"]): v for r, v in zip(records, values, strict=True) if r is not records[5]
        }
        deadline = time.monotonic() + 120
        resolved: dict[str, dict[str, Any]] = {}
        while time.monotonic() < deadline:
            resolved = {}
            for raw in read_all(isolated, [topics.resolved]):
                record = codec.decode(raw).record
                resolved[str(record["touchpoint"]["event_id"])] = record
            if len(resolved) >= len(expected):
                break
            time.sleep(1.0)
        dead = [codec.decode(raw).record for raw in read_all(isolated, [topics.dead_letters])]
    finally:
        assert worker.stop() == 0, worker.log_tail()

    assert set(resolved) == set(expected)  # the erased cookie's touchpoint is not among them
    for event_id, value in expected.items():
        got = resolved[event_id]
        assert got["person_id"] == resolve(codec, value, topics.touchpoints("web"), 0, 0).person_id
        assert got["touchpoint"] == codec.decode(value).record  # the bytes read, spliced unchanged
        assert got["source_topic"] == topics.touchpoints("web")
    assert [(d["source_topic"], d["error_type"]) for d in dead] == [
        (topics.touchpoints("web"), "DecodeError")
    ]
