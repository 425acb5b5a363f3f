"""Confluent framing against a real schema registry and the real broker, both ways.

Our :class:`ConfluentFraming` writes, confluent-kafka's own ``AvroDeserializer`` reads; and
confluent-kafka's ``AvroSerializer`` writes, our framing reads. The registry is Apicurio Registry
(its Confluent-compatible API) started by ``deploy/registry/registry.sh up``, or the one named by
``OMNIJOURNEY_SCHEMA_REGISTRY_URL``. A registry that cannot start is a failure, never a skip.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas.catalog import SCHEMA_DIR, SchemaCatalog
from schemas.confluent import ConfluentFraming, RegistryClient, RegistryError, standalone_schema
from schemas.errors import SchemaError, UnknownSchemaError
from schemas.models import Channel, EventType, IdentifierType, Touchpoint
from schemas.topics import KafkaOptions

pytestmark = pytest.mark.integration

REGISTRY_SH = Path(__file__).resolve().parents[2] / "deploy" / "registry" / "registry.sh"
TOUCHPOINT = "io.omnijourney.Touchpoint"


@pytest.fixture(scope="session")
def registry_url() -> Iterator[str]:
    """The registry's API root; started here (and stopped after) when it was not already running."""
    if url := os.environ.get("OMNIJOURNEY_SCHEMA_REGISTRY_URL"):
        yield url
        return
    was_running = subprocess.run([REGISTRY_SH, "status"], capture_output=True, check=False).returncode == 0
    up = subprocess.run([REGISTRY_SH, "up"], capture_output=True, text=True, check=False, timeout=600)
    if up.returncode != 0:
        pytest.fail(f"the schema registry did not start: {up.stderr.strip()}")
    url = subprocess.run([REGISTRY_SH, "url"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        yield url
    finally:
        if not was_running:
            subprocess.run([REGISTRY_SH, "down"], capture_output=True, check=False)


@pytest.fixture
def theirs(registry_url: str) -> Iterator[SchemaRegistryClient]:
    """confluent-kafka's own registry client, closed after the test (it pools HTTP connections)."""
    with SchemaRegistryClient({"url": registry_url}) as client:
        yield client


@pytest.fixture
def topic(kafka: KafkaOptions) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}.confluent-framing"
    admin = AdminClient(kafka)
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(30)
    yield name
    admin.delete_topics([name])[name].result(30)


def make_touchpoints(count: int, seed: int) -> list[Touchpoint]:
    rng = random.Random(seed)
    base = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
    return [
        Touchpoint(
            event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            event_time=base + dt.timedelta(minutes=rng.randint(0, 10_000), milliseconds=rng.randint(0, 999)),
            channel=rng.choice(list(Channel)),
            event_type=rng.choice([EventType.PAGE_VIEW, EventType.CHAT_MESSAGE, EventType.PURCHASE]),
            identifiers=[
                {"type": IdentifierType.COOKIE, "value": f"ck-{rng.randint(1, 50)}"},
                {"type": IdentifierType.HASHED_EMAIL, "value": f"{rng.getrandbits(64):016x}"},
            ],
            source="integration",
            session_id=f"s-{i}" if i % 2 else None,
            case_id="case-9" if i % 3 == 0 else None,
            context={
                "store_id": "milano-3" if i % 2 else None,
                "product_ids": [f"sku-{j}" for j in range(i % 4)],
                "amount_cents": 129_900 if i % 4 == 0 else None,
                "currency": "EUR" if i % 4 == 0 else None,
            },
            consent={"analytics": True, "marketing": i % 2 == 0} if i % 5 else None,
            attributes={"n": str(i)} if i % 2 else {},
        )
        for i in range(count)
    ]


def produce(kafka: KafkaOptions, topic: str, values: list[bytes]) -> None:
    producer = Producer({**kafka, "enable.idempotence": True})
    for value in values:
        producer.produce(topic, value)
    assert producer.flush(30) == 0


def consume(kafka: KafkaOptions, topic: str, count: int, timeout_s: float = 60) -> list[bytes]:
    """Every value on the topic, in order; the deadline bounds waiting, it asserts no speed."""
    consumer = Consumer({**kafka, "group.id": f"{topic}-reader", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None:
                continue
            assert message.error() is None, message.error()
            value = message.value()
            assert value is not None
            values.append(value)
    finally:
        consumer.close()
    return values


def assert_same_touchpoint(decoded: dict[str, Any], sent: Touchpoint) -> None:
    """Field by field, so a mismatch names the field."""
    got = Touchpoint.from_avro(decoded)
    for field in Touchpoint.model_fields:
        assert getattr(got, field) == getattr(sent, field), field
    assert got.event_time.tzinfo is not None


def test_confluent_deserializer_reads_what_our_framing_wrote(
    kafka: KafkaOptions, registry_url: str, topic: str, theirs: SchemaRegistryClient
) -> None:
    framing = ConfluentFraming(RegistryClient(registry_url))
    sent = make_touchpoints(40, seed=11)
    produce(kafka, topic, [framing.encode(TOUCHPOINT, tp.to_avro()) for tp in sent])

    received = consume(kafka, topic, len(sent))

    # Our subject is the record's full name; the header names the id the registry has for it there.
    ours = Schema(standalone_schema(SchemaCatalog.load().current[TOUCHPOINT]), "AVRO")
    registered = theirs.lookup_schema(TOUCHPOINT, ours)
    deserializer = AvroDeserializer(theirs)
    context = SerializationContext(topic, MessageField.VALUE)
    assert len(received) == len(sent)
    for value, tp in zip(received, sent, strict=True):
        assert value[0] == 0
        assert int.from_bytes(value[1:5], "big") == registered.schema_id
        decoded = deserializer(value, context)
        assert isinstance(decoded, dict)
        assert_same_touchpoint(decoded, tp)


def test_our_framing_reads_what_confluent_serializer_wrote(
    kafka: KafkaOptions, registry_url: str, topic: str, theirs: SchemaRegistryClient
) -> None:
    # The contract file as a Confluent producer would register it, under its default subject
    # "<topic>-value": decoding must not depend on how the writer named its subject.
    serializer = AvroSerializer(theirs, (SCHEMA_DIR / "touchpoint.avsc").read_text(encoding="utf-8"))
    context = SerializationContext(topic, MessageField.VALUE)
    sent = make_touchpoints(40, seed=12)
    produce(kafka, topic, [serializer(tp.to_avro(), context) for tp in sent])

    received = consume(kafka, topic, len(sent))

    catalog = SchemaCatalog.load()
    framing = ConfluentFraming(RegistryClient(registry_url), catalog)
    assert len(received) == len(sent)
    assert {int.from_bytes(v[1:5], "big") for v in received} == {
        theirs.get_latest_version(f"{topic}-value").schema_id
    }
    for value, tp in zip(received, sent, strict=True):
        decoded = framing.decode(value)
        assert decoded.name == TOUCHPOINT
        assert decoded.writer.source == catalog.current[TOUCHPOINT].source  # the schema we know
        assert_same_touchpoint(decoded.record, tp)


def test_a_newer_confluent_writer_resolves_into_our_reader(
    kafka: KafkaOptions, registry_url: str, topic: str, theirs: SchemaRegistryClient
) -> None:
    """A channel team already on a schema with an extra field: we read it with ours, minus the field."""
    newer = json.loads(standalone_schema(SchemaCatalog.load().current[TOUCHPOINT]))
    newer["fields"].append({"name": "loyalty_tier", "type": "string", "default": "none"})
    serializer = AvroSerializer(theirs, json.dumps(newer))
    context = SerializationContext(topic, MessageField.VALUE)
    sent = make_touchpoints(5, seed=13)
    produce(kafka, topic, [serializer({**tp.to_avro(), "loyalty_tier": "gold"}, context) for tp in sent])

    framing = ConfluentFraming(RegistryClient(registry_url))
    for value, tp in zip(consume(kafka, topic, len(sent)), sent, strict=True):
        decoded = framing.decode(value)
        assert "loyalty_tier" not in decoded.record
        assert decoded.writer.source.parts[0] == "schema-registry"
        assert_same_touchpoint(decoded.record, tp)


def test_registry_refusals_map_to_our_errors(registry_url: str) -> None:
    client = RegistryClient(registry_url, auto_register=False)
    with pytest.raises(UnknownSchemaError):
        client.schema_for(2**31 - 1)
    schema = json.dumps({"type": "record", "name": f"R{uuid.uuid4().hex}", "fields": []})
    with pytest.raises(SchemaError, match="auto-registration is off"):
        client.id_for(f"never-registered-{uuid.uuid4().hex}", schema)

    registering = RegistryClient(registry_url)
    subject = f"twice-{uuid.uuid4().hex}"
    first = registering.register(subject, schema)
    assert RegistryClient(registry_url).register(subject, schema) == first  # idempotent, as Confluent's
    assert client.lookup(subject, schema) == first
    assert json.loads(client.schema_for(first)) == json.loads(schema)


def test_unreachable_registry_is_retryable_not_a_decode_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        client = RegistryClient(f"http://127.0.0.1:{port}", timeout=5)
        with pytest.raises(RegistryError) as caught:
            client.schema_for(1)
    assert caught.value.retryable
