"""Container files built from consumed message bodies decode to exactly what the codec decodes."""

from __future__ import annotations

import io
import json

import fastavro
import pytest

from schemas.codec import Codec
from schemas.topics import TopicNames
from sinks.avro_block import (
    MAGIC,
    SYNC,
    avro_long,
    container,
    container_header,
    container_schema,
    single_object_header,
)
from tests.integration.sink_helpers import alerts, by_topic, encode, messages

RECORDS = [
    "io.omnijourney.ResolvedTouchpoint",
    "io.omnijourney.IdentityChange",
    "io.omnijourney.Journey",
    "io.omnijourney.Session",
    "io.omnijourney.Alert",
    "io.omnijourney.DeadLetter",
]


@pytest.mark.parametrize("value", [0, 1, -1, 63, -64, 64, 300, -(2**40), 2**62])
def test_avro_long_matches_fastavro(value: int) -> None:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, "long", value)
    assert avro_long(value) == out.getvalue()


@pytest.mark.parametrize("name", RECORDS)
def test_container_schema_is_the_current_schema_with_logical_types_kept(name: str) -> None:
    codec = Codec()
    schema = container_schema(codec.catalog, name)
    assert schema is not None
    parsed = json.loads(schema)
    assert parsed["name"] == name
    assert "doc" not in schema  # only what decoding needs travels in every container
    if name == "io.omnijourney.ResolvedTouchpoint":
        assert parsed["fields"][1]["type"] == {"type": "long", "logicalType": "timestamp-millis"}


def test_bodies_framed_as_one_container_decode_like_the_codec() -> None:
    codec = Codec()
    by_record: dict[str, list[bytes]] = {}
    for msg in messages(codec, by_topic(TopicNames(), 40, seed=2)):
        assert msg.v is not None
        by_record.setdefault(codec.decode(msg.v).name, []).append(msg.v)
    assert set(by_record) == set(RECORDS)
    for name, values in by_record.items():
        schema = container_schema(codec.catalog, name)
        assert schema is not None
        assert all(v.startswith(single_object_header(codec.catalog, name)) for v in values)
        data = container(container_header(schema), values)
        assert data.startswith(MAGIC)
        assert data.endswith(SYNC)
        decoded = list(fastavro.reader(io.BytesIO(data)))
        assert decoded == [codec.decode(v).record for v in values], name


def test_an_empty_container_is_still_a_valid_file() -> None:
    codec = Codec()
    schema = container_schema(codec.catalog, RECORDS[0])
    assert schema is not None
    assert list(fastavro.reader(io.BytesIO(container(container_header(schema), [])))) == []


def test_header_prefix_distinguishes_records() -> None:
    codec = Codec()
    headers = {single_object_header(codec.catalog, name) for name in RECORDS}
    assert len(headers) == len(RECORDS)
    assert encode(codec, alerts()[0]).startswith(single_object_header(codec.catalog, "io.omnijourney.Alert"))
