"""The producer SDK against the real broker: what is sent is what arrives, and failures are loud.

Expected hashes and keys are computed here from the contract (HMAC-SHA256 of the normalised value,
the documented key priority), not by asking the SDK.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import random
import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, Message

from producers.config import ProducerConfig
from producers.delivery import UndeliveredError
from producers.sdk import TouchpointProducer
from schemas.codec import Codec
from schemas.errors import DeliveryError, InvalidEventError
from schemas.models import TOUCHPOINT_AVRO_NAME, Channel, Touchpoint
from schemas.topics import KafkaOptions

pytestmark = pytest.mark.integration

BROKERS = os.environ.get("OMNIJOURNEY_KAFKA_BROKERS", "127.0.0.1:19092")
KEY = b"integration-test-key-0123456789"
PRIORITY = [
    "customer_id",
    "crm_id",
    "loyalty_id",
    "hashed_email",
    "hashed_phone",
    "device",
    "cookie",
    "ad_id",
    "other",
]
BROKER_MAX_MESSAGE = 2_097_152  # message.max.bytes of deploy/kafka


def mac(normalised: str) -> str:
    return hmac.new(KEY, normalised.encode(), hashlib.sha256).hexdigest()


def config(prefix: str, **extra: Any) -> ProducerConfig:
    return ProducerConfig(
        brokers=BROKERS, pii_key=KEY, client_id="it-producer-sdk", topic_prefix=prefix, extra=extra
    )


def fresh_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}.touchpoints"


def build_events(
    count: int,
) -> tuple[list[dict[str, Any] | Touchpoint], dict[str, Touchpoint], dict[str, bytes]]:
    """Inputs (dicts with raw PII written many ways, and some models), expected wire models and keys."""
    rng = random.Random(20250301)
    people = [(f"C{i:04d}", f"Persona.{i}@Negozio.it", f"3{rng.randrange(10**8, 10**9)}") for i in range(40)]
    channels = [c.value for c in Channel]
    start = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    inputs: list[dict[str, Any] | Touchpoint] = []
    expected: dict[str, Touchpoint] = {}
    keys: dict[str, bytes] = {}
    for i in range(count):
        customer_id, email, national = people[rng.randrange(len(people))]
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        raw_ids: list[dict[str, str]] = [{"type": "cookie", "value": f"ck-{i % 97}"}]
        wire_ids: list[dict[str, str]] = [{"type": "cookie", "value": f"ck-{i % 97}"}]
        if i % 2 == 0:
            raw_ids.append(
                {"type": "email", "value": rng.choice([email, email.upper(), f" {email.lower()}\t"])}
            )
            wire_ids.append({"type": "hashed_email", "value": mac(email.lower())})
        if i % 3 == 0:
            phone = rng.choice(
                [f"+39 {national[:3]} {national[3:]}", f"0039-{national}", f"({national[:3]}) {national[3:]}"]
            )
            raw_ids.append({"type": "phone", "value": phone})
            wire_ids.append({"type": "hashed_phone", "value": mac("+39" + national)})
        if i % 5 == 0:
            raw_ids.append({"type": "customer_id", "value": customer_id})
            wire_ids.append({"type": "customer_id", "value": customer_id})
        fields: dict[str, Any] = {
            "event_id": event_id,
            "event_time": start + dt.timedelta(seconds=i, microseconds=rng.randrange(10**6)),
            "channel": channels[i % len(channels)],
            "event_type": "purchase" if i % 7 == 0 else "page_view",
            "source": "integration-test",
            "session_id": f"s{i // 10}",
            "context": {
                "url": f"https://negozio.it/p/{i}",
                "product_ids": ["divano-verde"],
                "amount_cents": i * 100,
            },
            "consent": {"analytics": True, "marketing": i % 2 == 0},
            "attributes": {"i": str(i)},
        }
        model = Touchpoint.model_validate({**fields, "identifiers": wire_ids})
        # Every fourth event comes as a ready model (already hashed); the rest as SDK input dicts.
        inputs.append(model if i % 4 == 3 else {**fields, "identifiers": raw_ids})
        expected[event_id] = model
        strongest = min(wire_ids, key=lambda ident: PRIORITY.index(ident["type"]))
        keys[event_id] = f"{strongest['type']}:{strongest['value']}".encode()
    return inputs, expected, keys


def consume(topics: list[str], at_least: int, quiet_s: float = 3.0) -> list[Message]:
    """Everything on ``topics``: until ``at_least`` arrived and then ``quiet_s`` without more."""
    consumer = Consumer(
        {
            "bootstrap.servers": BROKERS,
            "group.id": f"it-producer-sdk-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(topics)
    received: list[Message] = []
    deadline = time.monotonic() + 90
    last_arrival = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(500, timeout=0.5)
            for message in batch:
                assert message.error() is None, message.error()
                received.append(message)
            if batch:
                last_arrival = time.monotonic()
            elif len(received) >= at_least and time.monotonic() - last_arrival > quiet_s:
                break
    finally:
        consumer.close()
    return received


def test_what_is_sent_is_what_arrives(kafka: KafkaOptions) -> None:
    prefix = fresh_prefix()
    inputs, expected, keys = build_events(400)
    with TouchpointProducer(config(prefix)) as producer:
        producer.send_many(inputs[:150])
        with pytest.raises(InvalidEventError):  # refused in the middle: nothing of it may arrive
            producer.send({**expected_input(inputs), "identifiers": [{"type": "email", "value": "nope"}]})
        for item in inputs[150:]:
            producer.send(item)
        assert producer.flush(30) == 0
        stats = producer.stats()
    assert (stats.sent, stats.delivered, stats.failed) == (400, 400, 0)

    messages = consume([f"{prefix}.{c.value}" for c in Channel], at_least=400)
    assert len(messages) == 400
    codec = Codec()
    raw_emails = {
        ident["value"].strip().lower().encode()
        for item in inputs
        if isinstance(item, dict)
        for ident in item["identifiers"]
        if ident["type"] == "email"
    }
    seen: set[str] = set()
    for message in messages:
        value = message.value()
        assert value is not None
        decoded = codec.decode(value)
        assert decoded.name == TOUCHPOINT_AVRO_NAME
        got = Touchpoint.from_avro(decoded.record)
        event_id = str(got.event_id)
        want = expected[event_id]
        assert got.model_dump() == want.model_dump(), event_id  # field by field, hashes included
        assert message.topic() == f"{prefix}.{want.channel.value}"
        assert message.key() == keys[event_id]
        assert not any(email in value.lower() for email in raw_emails)
        seen.add(event_id)
    assert seen == set(expected)


def expected_input(inputs: list[dict[str, Any] | Touchpoint]) -> dict[str, Any]:
    """A valid input dict to spoil, with a fresh id."""
    first = next(item for item in inputs if isinstance(item, dict))
    return {**first, "event_id": str(uuid.uuid4())}


def oversized_producer(prefix: str) -> TouchpointProducer:
    """Client limit raised so the record leaves the process and the broker itself refuses it."""
    return TouchpointProducer(config(prefix, **{"message.max.bytes": 4 * BROKER_MAX_MESSAGE}))


def test_a_record_the_broker_refuses_is_raised_from_flush(kafka: KafkaOptions) -> None:
    prefix = fresh_prefix()
    topic = f"{prefix}.web"
    producer = oversized_producer(prefix)
    producer.send_raw(
        topic, b"too-big", os.urandom(BROKER_MAX_MESSAGE + 500_000)
    )  # random: no compression gain
    with pytest.raises(UndeliveredError) as caught:
        producer.flush(30)
    failure = caught.value
    assert isinstance(failure, DeliveryError)
    assert failure.topic == topic
    assert [f.code for f in failure.failures] == ["MSG_SIZE_TOO_LARGE"]
    stats = producer.stats()
    assert (stats.sent, stats.delivered, stats.failed) == (1, 0, 1)
    producer.close()  # raised once, not again


def test_a_failure_is_raised_from_close(kafka: KafkaOptions) -> None:
    producer = oversized_producer(fresh_prefix())
    producer.send_raw(f"{producer.config.topic_prefix}.app", None, os.urandom(BROKER_MAX_MESSAGE + 1000))
    with pytest.raises(UndeliveredError, match="MSG_SIZE_TOO_LARGE"):
        producer.close(timeout=30)
    assert producer.stats().failed == 1


def send_until_refused(
    producer: TouchpointProducer, event: dict[str, Any] | Touchpoint, deadline: float
) -> UndeliveredError | None:
    """Keep sending, as an application would, until a send raises the earlier failure."""
    while time.monotonic() < deadline:  # each send serves pending reports at most every 0.1 s
        try:
            producer.send(event)
        except UndeliveredError as exc:
            return exc
        time.sleep(0.05)
    return None


def test_a_failure_is_raised_from_the_next_send(kafka: KafkaOptions) -> None:
    producer = oversized_producer(fresh_prefix())
    small = build_events(1)[0][0]
    producer.send_raw(f"{producer.config.topic_prefix}.web", None, os.urandom(BROKER_MAX_MESSAGE + 1000))
    refused = send_until_refused(producer, small, deadline=time.monotonic() + 60)
    assert refused is not None, "the failed record was never raised"
    assert refused.failures[0].code == "MSG_SIZE_TOO_LARGE"
    producer.close(timeout=30)  # the valid events before and after the failure are delivered
    stats = producer.stats()
    assert stats.failed == 1
    assert stats.delivered == stats.sent - 1 > 0
