"""Consumed Avro bodies framed as one Avro object container file, for ClickHouse to decode.

Why: decoding a resolved touchpoint in Python (fastavro) costs tens of microseconds a record on
this kind of machine, several times what the whole ClickHouse insert costs, and the sink never
needs the values itself. A single-object-encoded message is a 10-byte header and the record's
plain Avro body; a container file is a header carrying the writer schema, then blocks of
concatenated bodies. So the sink strips the message headers, concatenates the bodies, and
ClickHouse's ``FORMAT Avro`` input decodes them in C++, the same way on chDB and on a server.

Only messages written with exactly the current schema (their fingerprint says so) take this path;
the container's schema is that schema with every named type inlined and its logical types kept, so
UUIDs and timestamps arrive typed. :func:`container_schema` checks that what it wrote has the
message fingerprint, and returns None (the Python path is then used) if it ever does not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

from schemas.avro_writer import zigzag_varint
from schemas.catalog import SchemaCatalog, SchemaVersion
from schemas.codec import HEADER_LEN, SINGLE_OBJECT_MAGIC
from schemas.fingerprint import fingerprint_bytes

MAGIC = b"Obj\x01"
SYNC = b"omnijourney.sink"  # 16 bytes; a sync marker only has to be the same throughout one file
_NAMED = ("record", "enum", "fixed")
_KEEP = ("type", "name", "fields", "symbols", "items", "values", "size", "logicalType", "precision", "scale")


avro_long = zigzag_varint  # Avro's zig-zag varint encoding of a long


def _bytes(data: bytes) -> bytes:
    return avro_long(len(data)) + data


def _full_name(schema: dict[str, Any], namespace: str | None) -> str:
    name = str(schema["name"])
    space = schema.get("namespace", namespace)
    return name if "." in name or not space else f"{space}.{name}"


def named_types(catalog: SchemaCatalog) -> dict[str, dict[str, Any]]:
    """Every named type defined anywhere in the current schemas, by full name, as written."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any, namespace: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, namespace)
        elif isinstance(node, dict):
            if node.get("type") in _NAMED:
                full = _full_name(node, namespace)
                found.setdefault(full, {**node, "_namespace": full.rpartition(".")[0] or None})
                namespace = full.rpartition(".")[0] or None
            for key in ("fields", "items", "values"):
                if key in node:
                    walk(node[key], namespace)
            if "type" in node and not isinstance(node["type"], str):
                walk(node["type"], namespace)

    for version in catalog.current.values():
        walk(version.raw, None)
    return found


def expand(version: SchemaVersion, named: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The schema with named types inlined at first use (by full name) and docs/defaults dropped."""
    defined: set[str] = set()

    def node(schema: Any, namespace: str | None) -> Any:
        if isinstance(schema, str):
            full = schema
            if "." not in schema and namespace and f"{namespace}.{schema}" in named:
                full = f"{namespace}.{schema}"
            if full not in named:
                return schema  # a primitive
            return full if full in defined else node(named[full], named[full]["_namespace"])
        if isinstance(schema, list):
            return [node(s, namespace) for s in schema]
        out: dict[str, Any] = {k: schema[k] for k in _KEEP if k in schema}
        if schema.get("type") in _NAMED:
            full = _full_name(schema, namespace)
            defined.add(full)
            out["name"] = full
            namespace = full.rpartition(".")[0] or None
        if "fields" in schema:
            out["fields"] = [
                {"name": f["name"], "type": node(f["type"], namespace)} for f in schema["fields"]
            ]
        for key in ("items", "values"):
            if key in schema:
                out[key] = node(schema[key], namespace)
        if isinstance(out.get("type"), dict | list):
            out["type"] = node(out["type"], namespace)
        return out

    return dict(node(version.raw, None))


def container_schema(catalog: SchemaCatalog, name: str) -> str | None:
    """JSON of the current schema ``name`` for a container header, or None if it cannot be trusted."""
    version = catalog.reader(name)
    expanded = expand(version, named_types(catalog))
    try:
        canonical = to_parsing_canonical_form(
            fastavro.parse_schema(json.loads(json.dumps(expanded)), expand=True)
        )
    except (fastavro.schema.SchemaParseException, ValueError, KeyError, TypeError):
        return None
    if fingerprint_bytes(canonical) != version.fingerprint:
        return None
    return json.dumps(expanded, separators=(",", ":"))


def single_object_header(catalog: SchemaCatalog, name: str) -> bytes:
    """The 10 bytes every message written with the current schema ``name`` starts with."""
    return SINGLE_OBJECT_MAGIC + catalog.reader(name).fingerprint


def container_header(schema_json: str) -> bytes:
    """Magic, metadata (schema, no compression) and the sync marker."""
    meta = _bytes(b"avro.schema") + _bytes(schema_json.encode()) + _bytes(b"avro.codec") + _bytes(b"null")
    return MAGIC + avro_long(2) + meta + avro_long(0) + SYNC


def container(header: bytes, values: Sequence[bytes], skip: int = HEADER_LEN) -> bytes:
    """One container file holding every value's body (``skip`` header bytes dropped) in one block."""
    bodies = b"".join([value[skip:] for value in values])
    return b"".join((header, avro_long(len(values)), avro_long(len(bodies)), bodies, SYNC))
