"""Confluent framing without a network: the registry's two lookups are a plain mapping object.

The ids a real registry hands out are exercised in tests/integration/test_confluent_framing.py;
here the mapping decides the ids, so the tests can check the header bytes, the subject, the
registered schema text and schema resolution exactly.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import struct
import subprocess
import sys
import uuid
from typing import Any

import fastavro
import pytest
from fastavro.schema import to_parsing_canonical_form

from schemas.catalog import SCHEMA_DIR, SchemaCatalog
from schemas.codec import Codec
from schemas.confluent import ConfluentFraming, standalone_schema
from schemas.errors import DecodeError, SchemaError, UnknownSchemaError
from schemas.models import Channel, EventType, IdentifierType, Touchpoint

CATALOG = SchemaCatalog.load()
TOUCHPOINT = "io.omnijourney.Touchpoint"


class IdMap:
    """Subject+schema -> id and id -> schema, as dicts; ids start high to expose byte order."""

    def __init__(self, first_id: int = 0x01020304) -> None:
        self.ids: dict[tuple[str, str], int] = {}
        self.schemas: dict[int, str] = {}
        self.next_id = first_id
        self.id_requests: list[str] = []

    def id_for(self, subject: str, schema: str) -> int:
        self.id_requests.append(subject)
        if (subject, schema) not in self.ids:
            self.ids[(subject, schema)] = self.next_id
            self.schemas[self.next_id] = schema
            self.next_id += 1
        return self.ids[(subject, schema)]

    def schema_for(self, schema_id: int) -> str:
        if schema_id not in self.schemas:
            raise UnknownSchemaError(f"no schema id {schema_id}")
        return self.schemas[schema_id]

    def put(self, schema_id: int, schema: str) -> None:
        """What another producer registered: a schema we did not write ourselves."""
        self.schemas[schema_id] = schema


def touchpoint(i: int = 0) -> Touchpoint:
    return Touchpoint(
        event_id=uuid.UUID(int=1000 + i, version=4),
        event_time=dt.datetime(2026, 10, 1, 9, 30, 15, 123000 + i, tzinfo=dt.UTC),
        channel=Channel.CHAT if i % 2 else Channel.WEB,
        event_type=EventType.CHAT_MESSAGE if i % 2 else EventType.PAGE_VIEW,
        identifiers=[{"type": IdentifierType.COOKIE, "value": f"ck-{i}"}],
        source="web-app",
        session_id=f"s-{i}" if i % 2 else None,
        context={"url": "https://shop.example/p/1", "product_ids": ["sku-1", "sku-2"][: i % 3]},
        consent={"analytics": True, "marketing": False} if i % 3 else None,
        attributes={"colour": "green"} if i else {},
    )


@pytest.fixture
def ids() -> IdMap:
    return IdMap()


@pytest.fixture
def framing(ids: IdMap) -> ConfluentFraming:
    return ConfluentFraming(ids, CATALOG)


def test_header_is_magic_zero_and_big_endian_id(framing: ConfluentFraming, ids: IdMap) -> None:
    data = framing.encode(TOUCHPOINT, touchpoint().to_avro())
    (registered_id,) = ids.ids.values()
    assert data[0] == 0
    assert data[1:5] == struct.pack(">I", registered_id)
    assert registered_id == 0x01020304


def test_subject_is_the_record_full_name(framing: ConfluentFraming, ids: IdMap) -> None:
    framing.encode(TOUCHPOINT, touchpoint().to_avro())
    assert [subject for subject, _ in ids.ids] == [TOUCHPOINT]


def test_body_is_plain_avro_of_the_registered_schema(framing: ConfluentFraming, ids: IdMap) -> None:
    tp = touchpoint(1)
    data = framing.encode(TOUCHPOINT, tp.to_avro())
    registered = json.loads(ids.schema_for(int.from_bytes(data[1:5], "big")))
    body = io.BytesIO(data[5:])
    record = fastavro.schemaless_reader(body, fastavro.parse_schema(registered), None)
    assert body.tell() == len(data) - 5
    assert isinstance(record, dict)
    assert Touchpoint.from_avro(record) == tp


@pytest.mark.parametrize("i", range(4))
def test_round_trip_gives_an_equal_touchpoint(framing: ConfluentFraming, i: int) -> None:
    tp = touchpoint(i)
    decoded = framing.decode(framing.encode(TOUCHPOINT, tp.to_avro()))
    assert decoded.name == TOUCHPOINT
    assert Touchpoint.from_avro(decoded.record) == tp
    assert decoded.writer.source == SCHEMA_DIR / "touchpoint.avsc"


def test_a_schema_is_registered_once_per_process(framing: ConfluentFraming, ids: IdMap) -> None:
    for i in range(5):
        framing.encode(TOUCHPOINT, touchpoint(i).to_avro())
    assert ids.id_requests == [TOUCHPOINT]


@pytest.mark.parametrize("name", sorted(CATALOG.current))
def test_registered_text_is_self_contained_and_keeps_logical_types(name: str) -> None:
    version = CATALOG.current[name]
    text = standalone_schema(version)
    alone = fastavro.parse_schema(json.loads(text), named_schemas={}, expand=True)
    assert to_parsing_canonical_form(alone) == version.canonical
    logical_in_file = set(_logical_types(version.raw))
    assert logical_in_file <= set(_logical_types(json.loads(text)))
    assert len(_logical_types(json.loads(text))) >= len(_logical_types(version.raw))


def _logical_types(node: Any) -> list[str]:
    if isinstance(node, list):
        return [t for item in node for t in _logical_types(item)]
    if isinstance(node, dict):
        own = [node["logicalType"]] if "logicalType" in node else []
        return own + [t for key, item in node.items() if key != "default" for t in _logical_types(item)]
    return []


def test_registered_text_is_the_same_in_every_process() -> None:
    """Other text for the same schema can mean a new registry version and id at each start."""
    program = (
        "from schemas.catalog import SchemaCatalog; from schemas.confluent import standalone_schema;"
        "c = SchemaCatalog.load(); print([standalone_schema(v) for _, v in sorted(c.current.items())])"
    )
    texts = {
        subprocess.run(
            [sys.executable, "-c", program],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(texts) == 1


def test_touchpoint_text_keeps_timestamp_millis_and_defaults() -> None:
    schema = json.loads(standalone_schema(CATALOG.current[TOUCHPOINT]))
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["event_time"]["type"] == {"type": "long", "logicalType": "timestamp-millis"}
    assert fields["attributes"]["default"] == {}


def test_named_types_used_twice_are_defined_once() -> None:
    """A schema that uses a named type from a sibling file twice must define it once only."""
    for version in CATALOG.current.values():
        text = standalone_schema(version)
        for fullname in set(_defined_names(json.loads(text))):
            assert _defined_names(json.loads(text)).count(fullname) == 1, (version.name, fullname)


def _defined_names(node: Any) -> list[str]:
    if isinstance(node, list):
        return [n for branch in node for n in _defined_names(branch)]
    if not isinstance(node, dict):
        return []
    found = [node["name"]] if node.get("type") in ("record", "enum", "fixed") else []
    for key in ("fields", "items", "values"):
        if key in node:
            found += _defined_names(node[key])
    if "type" in node and isinstance(node["type"], dict | list):
        found += _defined_names(node["type"])
    return found


def test_older_writer_schema_resolves_into_the_current_reader(framing: ConfluentFraming, ids: IdMap) -> None:
    """A producer still on a schema without ``attributes``: the reader's default fills it in."""
    old = json.loads(standalone_schema(CATALOG.current[TOUCHPOINT]))
    old["fields"] = [f for f in old["fields"] if f["name"] != "attributes"]
    ids.put(77, json.dumps(old))
    record = {k: v for k, v in touchpoint(2).to_avro().items() if k != "attributes"}
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(old), record)

    decoded = framing.decode(b"\x00" + (77).to_bytes(4, "big") + body.getvalue())

    assert decoded.record["attributes"] == {}
    assert Touchpoint.from_avro(decoded.record) == touchpoint(2).model_copy(update={"attributes": {}})
    assert decoded.writer.name == TOUCHPOINT
    assert decoded.writer.fingerprint != CATALOG.current[TOUCHPOINT].fingerprint
    assert str(decoded.writer.source) == "schema-registry/ids/77"


def test_unknown_id_is_an_unknown_schema_error(framing: ConfluentFraming) -> None:
    with pytest.raises(UnknownSchemaError, match="12345"):
        framing.decode(b"\x00" + (12345).to_bytes(4, "big") + b"\x02")


@pytest.mark.parametrize(
    "data",
    [None, b"", b"\x00\x00\x00", b"not avro at all", b"\xc3\x01" + b"\x00" * 8 + b"\x02"],
    ids=["none", "empty", "short", "text", "single-object"],
)
def test_bytes_that_are_not_confluent_framed_are_refused(
    framing: ConfluentFraming, data: bytes | None
) -> None:
    with pytest.raises(DecodeError, match="not Confluent-framed"):
        framing.decode(data)


def test_truncated_body_is_a_decode_error(framing: ConfluentFraming) -> None:
    data = framing.encode(TOUCHPOINT, touchpoint(1).to_avro())
    with pytest.raises(DecodeError, match=r"corrupt io\.omnijourney\.Touchpoint"):
        framing.decode(data[:-7])


def test_trailing_bytes_are_a_decode_error(framing: ConfluentFraming) -> None:
    data = framing.encode(TOUCHPOINT, touchpoint(1).to_avro())
    with pytest.raises(DecodeError, match="3 trailing bytes"):
        framing.decode(data + b"\x00\x00\x00")


def test_record_that_does_not_fit_is_a_schema_error(framing: ConfluentFraming) -> None:
    record = touchpoint().to_avro()
    record["channel"] = "carrier-pigeon"
    with pytest.raises(SchemaError, match="does not fit"):
        framing.encode(TOUCHPOINT, record)


def test_registry_schema_that_is_not_a_record_is_unknown(framing: ConfluentFraming, ids: IdMap) -> None:
    ids.put(5, '"string"')
    ids.put(6, "{not json")
    for schema_id in (5, 6):
        with pytest.raises(UnknownSchemaError, match=f"id {schema_id}"):
            framing.decode(b"\x00" + schema_id.to_bytes(4, "big") + b"\x02a")


def test_writer_without_a_current_reader_is_unknown(framing: ConfluentFraming, ids: IdMap) -> None:
    ids.put(9, json.dumps({"type": "record", "name": "Stranger", "namespace": "elsewhere", "fields": []}))
    with pytest.raises(UnknownSchemaError, match=r"elsewhere\.Stranger"):
        framing.decode(b"\x00" + (9).to_bytes(4, "big"))


def test_framings_differ_only_in_their_header(framing: ConfluentFraming) -> None:
    """The same record, single-object and Confluent: same Avro body, different writer reference."""
    record = touchpoint(3).to_avro()
    single = Codec(CATALOG).encode(TOUCHPOINT, record)
    confluent = framing.encode(TOUCHPOINT, record)
    assert single[10:] == confluent[5:]
    assert single[:2] == b"\xc3\x01"
    assert confluent[:1] == b"\x00"
