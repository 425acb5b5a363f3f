"""The generated Avro writer writes exactly what the codec (fastavro) writes, or is not used."""

from __future__ import annotations

import datetime as dt
import io
import string
from typing import Any, cast

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.config import ProducerConfig
from producers.prepare import EventPreparer, build_encoder
from schemas.avro_writer import UnsupportedSchema, compile_writer, zigzag_varint
from schemas.codec import SINGLE_OBJECT_MAGIC, Codec
from schemas.confluent import ConfluentFraming
from schemas.errors import SchemaError
from schemas.models import TOUCHPOINT_AVRO_NAME, Channel, EventType, Touchpoint

KEY = b"unit-test-key-0123456789abcdef"
CODEC = Codec(compiled=False)  # fastavro alone: the reference the generated writers must match
PREPARER = EventPreparer(ProducerConfig(brokers="127.0.0.1:19092", pii_key=KEY), CODEC)
ZONES = [dt.UTC, dt.timezone(dt.timedelta(hours=2)), dt.timezone(dt.timedelta(hours=-5, minutes=-30))]

text = st.text(max_size=30)
long_text = st.text(max_size=1500)  # past 1024 encoded bytes: lengths outside the lookup table
maybe_text = st.none() | text
maybe_bool = st.none() | st.booleans()
plain_ids = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["cookie", "device", "loyalty_id", "customer_id", "crm_id", "ad_id", "other"]
        ),
        "value": st.text(min_size=1, max_size=40),
    }
)
hashed_ids = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["hashed_email", "hashed_phone"]),
        "value": st.binary(min_size=32, max_size=32).map(bytes.hex)
        | st.binary(min_size=32, max_size=32).map(lambda b: b.hex().upper()),
    }
)
pii_ids = st.fixed_dictionaries(
    {
        "type": st.just("email"),
        "value": st.from_regex(r"[A-Za-z0-9._]{1,12}@[a-z]{2,8}\.[a-z]{2,4}", fullmatch=True),
    }
) | st.fixed_dictionaries({"type": st.just("phone"), "value": st.from_regex(r"3[0-9]{9}", fullmatch=True)})
contexts = st.fixed_dictionaries(
    {},
    optional={
        "store_id": maybe_text,
        "agent_id": maybe_text,
        "campaign_id": maybe_text,
        "url": maybe_text,
        "purchasable": maybe_bool,
        "product_ids": st.lists(text, max_size=4),
        "order_id": maybe_text,
        "reservation_id": maybe_text,
        "amount_cents": st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
        "currency": st.none() | st.text(min_size=3, max_size=3),
        "summary": st.none() | long_text,
    },
)
consents = st.none() | st.fixed_dictionaries(
    {}, optional={"analytics": maybe_bool, "marketing": maybe_bool, "personalization": maybe_bool}
)
events = st.fixed_dictionaries(
    {
        "event_id": st.uuids().flatmap(lambda u: st.sampled_from([u, str(u), str(u).upper(), u.hex])),
        "event_time": st.datetimes(
            min_value=dt.datetime(1900, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
            max_value=dt.datetime(2200, 1, 1),  # noqa: DTZ001 - zones come from ``timezones``
            timezones=st.sampled_from(ZONES),
        ),
        "channel": st.sampled_from([c.value for c in Channel]),
        "event_type": st.sampled_from([e.value for e in EventType]),
        "identifiers": st.lists(plain_ids | hashed_ids | pii_ids, min_size=1, max_size=5),
    },
    optional={
        "source": text,
        "session_id": maybe_text,
        "conversation_id": maybe_text,
        "case_id": maybe_text,
        "context": contexts,
        "consent": consents,
        "attributes": st.dictionaries(st.text(max_size=10), long_text, max_size=3),
    },
)

FAST = compile_writer(
    CODEC.catalog.reader(TOUCHPOINT_AVRO_NAME).parsed,
    SINGLE_OBJECT_MAGIC + CODEC.catalog.reader(TOUCHPOINT_AVRO_NAME).fingerprint,
)


@settings(max_examples=300)
@given(events)
def test_generated_writer_matches_the_codec_on_any_touchpoint(sent: dict[str, Any]) -> None:
    record, _ = PREPARER.record(sent)
    expected = CODEC.encode(TOUCHPOINT_AVRO_NAME, Touchpoint.model_validate(record).to_avro())
    assert FAST(record) == expected  # the generated writer itself, not the codec fallback
    assert PREPARER.prepare(sent).value == expected


@settings(max_examples=100)
@given(events)
def test_a_touchpoint_model_encodes_like_its_input_dict(sent: dict[str, Any]) -> None:
    model = PREPARER.touchpoint(sent)
    assert PREPARER.prepare(model) == PREPARER.prepare(sent)
    assert Touchpoint.from_avro(CODEC.decode(PREPARER.prepare(model).value).record) == model


def parsed(schema: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], fastavro.parse_schema(schema))


def fastavro_bytes(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed(schema), record)
    return buf.getvalue()


MIXED = {
    "type": "record",
    "name": "Mixed",
    "fields": [
        {"name": "i", "type": "int"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "b", "type": "bytes"},
        {"name": "fx", "type": {"type": "fixed", "name": "Four", "size": 4}},
        {"name": "again", "type": "Four"},
        {"name": "last", "type": ["string", "null"]},
        {"name": "m", "type": {"type": "map", "values": {"type": "array", "items": "long"}}},
        {
            "name": "inner",
            "type": [
                "null",
                {"type": "record", "name": "Inner", "fields": [{"name": "x", "type": "boolean"}]},
            ],
        },
        {"name": "nothing", "type": "null"},
    ],
}
mixed_records = st.fixed_dictionaries(
    {
        "i": st.integers(min_value=-(2**31), max_value=2**31 - 1),
        "f": st.floats(width=32, allow_nan=False),
        "d": st.floats(allow_nan=False),
        "b": st.binary(max_size=2000),
        "fx": st.binary(min_size=4, max_size=4),
        "again": st.binary(min_size=4, max_size=4),
        "last": st.none() | st.text(alphabet=string.printable, max_size=10),
        "m": st.dictionaries(
            st.text(max_size=5), st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1))
        ),
        "inner": st.none() | st.fixed_dictionaries({"x": st.booleans()}),
        "nothing": st.none(),
    }
)


@given(mixed_records)
def test_generated_writer_matches_fastavro_on_every_supported_type(record: dict[str, Any]) -> None:
    writer = compile_writer(parsed(MIXED), b"")
    assert writer(record) == fastavro_bytes(MIXED, record)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_varints_match_fastavro(value: int) -> None:
    schema = {"type": "record", "name": "L", "fields": [{"name": "v", "type": "long"}]}
    assert zigzag_varint(value) == fastavro_bytes(schema, {"v": value})


def test_values_beyond_an_avro_long_are_refused() -> None:
    with pytest.raises(OverflowError):
        zigzag_varint(2**63)


@pytest.mark.parametrize(
    "field_type",
    [
        ["null", "string", "long"],
        ["string", "long"],
        {"type": "bytes", "logicalType": "decimal", "precision": 5, "scale": 2},
        {"type": "int", "logicalType": "date"},
        {"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"]}]},
    ],
)
def test_constructs_the_writer_does_not_know_are_refused_at_compile_time(field_type: Any) -> None:
    schema = {"type": "record", "name": "Odd", "fields": [{"name": "x", "type": field_type}]}
    with pytest.raises(UnsupportedSchema):
        compile_writer(parsed(schema), b"")


def test_records_the_writer_cannot_write_go_through_the_codec() -> None:
    encode = build_encoder(CODEC)
    record, _ = PREPARER.record(
        {
            "event_id": "3f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "event_time": dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
            "channel": "web",
            "event_type": "page_view",
            "identifiers": [{"type": "cookie", "value": "c"}],
        }
    )
    record["event_time"] = 1_740_787_200_000  # an int: fine for fastavro, and for the writer too
    assert encode(record) == CODEC.encode(TOUCHPOINT_AVRO_NAME, record)
    record["channel"] = Channel.STORE  # an enum member: the writer's table misses, then retries
    assert encode(record) == CODEC.encode(TOUCHPOINT_AVRO_NAME, {**record, "channel": "store"})
    record["source"] = 42  # the writer fails; the codec decides, and refuses with its own message
    with pytest.raises(SchemaError):
        encode(record)


class CountingCodec(Codec):
    """The real codec, counting how often the SDK falls back to it."""

    calls = 0

    def encode(self, name: str, record: dict[str, Any]) -> bytes:
        self.calls += 1
        return super().encode(name, record)


class OneIdRegistry:
    """A registry that gives every schema the id 0x01020304 (byte order visible)."""

    def id_for(self, subject: str, schema: str) -> int:
        return 0x01020304

    def schema_for(self, schema_id: int) -> str:
        raise AssertionError("encoding never asks for a schema")


@pytest.mark.parametrize("framing", ["single-object", "confluent"])
def test_the_fast_writer_takes_the_codecs_framing(framing: str) -> None:
    confluent = ConfluentFraming(OneIdRegistry(), CODEC.catalog) if framing == "confluent" else None
    codec = CountingCodec(CODEC.catalog, confluent)
    preparer = EventPreparer(ProducerConfig(brokers="127.0.0.1:19092", pii_key=KEY), codec)
    sent = {
        "event_id": "3f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "event_time": dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
        "channel": "chat",
        "event_type": "chat_message",
        "identifiers": [{"type": "email", "value": "anna@example.com"}],
        "conversation_id": "conv-1",
    }
    calls_while_probing = codec.calls
    value = preparer.prepare(sent).value
    assert codec.calls == calls_while_probing  # written by the generated writer, not the codec
    assert value == codec.encode(TOUCHPOINT_AVRO_NAME, preparer.touchpoint(sent).to_avro())
    assert value.startswith(b"\x00\x01\x02\x03\x04" if confluent else SINGLE_OBJECT_MAGIC)
