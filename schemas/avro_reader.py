"""A fast Avro binary reader, generated from a parsed schema, for records read with their own schema.

fastavro's reader interprets the schema for every record: about 30 microseconds for a resolved
touchpoint, the largest single cost of the journey stage's own work per event. When a record was
written with the schema it is read with (the usual case: producers and stages write the current
schemas), the schema is turned once into the source of one Python function that reads every field
in order, which gives fastavro's values (the same dicts, enum symbols as strings, ``uuid`` strings
as :class:`uuid.UUID`, ``timestamp-millis`` as aware UTC datetimes) about twice as fast.

It is a cache, not a second codec: :class:`schemas.codec.Codec` reads with it only when writer and
reader schema are the same, and hands any record it cannot read (truncated, corrupt) to fastavro,
which then reads it or raises its precise error. Schema constructs it does not know raise
:class:`UnsupportedSchema` at compile time and fastavro is used throughout.
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from schemas.avro_writer import SchemaCode, UnsupportedSchema, resolve

Reader = Callable[[bytes, int], tuple[Any, int]]  # (data, position) -> (value, position after it)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NAMED = ("record", "enum", "fixed")


def _long(data: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint (Avro ``int`` / ``long``) of more than one byte, from ``pos``."""
    b = data[pos]
    n = b & 0x7F
    shift = 7
    pos += 1
    while b & 0x80:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
    return (n >> 1) ^ -(n & 1), pos


def _timestamp(ms: int) -> dt.datetime:
    """fastavro's value for ``timestamp-millis``: exact (no float), aware, UTC."""
    return _EPOCH + dt.timedelta(milliseconds=ms)


class _Generator(SchemaCode):
    """Writes the lines of one reader function; ``d`` is the data, ``p`` the position."""

    def resolve(self, schema: Any) -> Any:
        return resolve(schema, self.named)

    def long(self, target: str, indent: int) -> None:
        """``target`` = the next zig-zag varint (one byte inline, longer ones by call)."""
        self.emit(indent, "b = d[p]")
        self.emit(indent, "if b < 128:")
        self.emit(indent + 1, f"{target} = (b >> 1) ^ -(b & 1)")
        self.emit(indent + 1, "p += 1")
        self.emit(indent, "else:")
        self.emit(indent + 1, f"{target}, p = _long(d, p)")

    def read(self, schema: Any, target: str, indent: int) -> None:
        """Code that reads one value of ``schema`` into variable ``target``."""
        schema = self.resolve(schema)
        if isinstance(schema, list):
            self.union(schema, target, indent)
            return
        kind, logical = self.kind_of(schema)
        if kind in _NAMED:
            self.named_type(schema, getattr(self, kind), target, indent)
        elif kind in ("string", "bytes"):
            n = self.var("n")
            self.long(n, indent)
            self.emit(indent, f"if {n} < 0 or p + {n} > len(d): raise EOFError('string past the end')")
            value = f"d[p:p + {n}]"
            if kind == "string":
                value = f"{value}.decode()" if logical is None else f"_uuid({value}.decode())"
            self.emit(indent, f"{target} = {value}")
            self.emit(indent, f"p += {n}")
        elif kind in ("long", "int"):
            self.long(target, indent)
            if logical == "timestamp-millis":
                self.emit(indent, f"{target} = _timestamp({target})")
        elif kind == "boolean":
            self.emit(indent, f"{target} = d[p] != 0")  # as fastavro: any byte but 0 is true
            self.emit(indent, "p += 1")
        elif kind == "null":
            self.emit(indent, f"{target} = None")
        elif kind in ("float", "double"):
            size, unpack = (4, "_unpack_f") if kind == "float" else (8, "_unpack_d")
            self.emit(indent, f"{target} = {unpack}(d, p)[0]")
            self.emit(indent, f"p += {size}")
        elif kind == "array":
            self.array(schema, target, indent)
        elif kind == "map":
            self.map(schema, target, indent)
        else:
            raise UnsupportedSchema(f"type {kind!r}")

    def union(self, branches: list[Any], target: str, indent: int) -> None:
        """Only ``[null, T]`` / ``[T, null]``: the branch index then says null or T."""
        resolved = [self.resolve(b) for b in branches]
        nulls = [i for i, b in enumerate(resolved) if b == "null"]
        if len(branches) != 2 or len(nulls) != 1:
            raise UnsupportedSchema("unions other than [null, T]")
        null_index = bytes(((nulls[0] << 1),))[0]  # zig-zag of 0 or 1: one byte
        other_index = bytes((((1 - nulls[0]) << 1),))[0]
        self.emit(indent, "b = d[p]")
        self.emit(indent, "p += 1")
        self.emit(indent, f"if b == {null_index}:")
        self.emit(indent + 1, f"{target} = None")
        self.emit(indent, f"elif b == {other_index}:")
        self.read(resolved[1 - nulls[0]], target, indent + 1)
        self.emit(indent, "else:")
        self.emit(indent + 1, "raise ValueError('union branch out of range')")

    def record(self, schema: Mapping[str, Any], target: str, indent: int) -> None:
        fields = []
        for field in schema["fields"]:
            v = self.var("v")
            self.read(field["type"], v, indent)
            fields.append(f"{field['name']!r}: {v}")
        self.emit(indent, f"{target} = {{{', '.join(fields)}}}")

    def enum(self, schema: Mapping[str, Any], target: str, indent: int) -> None:
        symbols = self.const(tuple(schema["symbols"]))
        i = self.var("i")
        self.long(i, indent)
        self.emit(indent, f"if {i} < 0: raise IndexError('enum index')")
        self.emit(indent, f"{target} = {symbols}[{i}]")

    def fixed(self, schema: Mapping[str, Any], target: str, indent: int) -> None:
        size = int(schema["size"])
        self.emit(indent, f"if p + {size} > len(d): raise EOFError('fixed past the end')")
        self.emit(indent, f"{target} = d[p:p + {size}]")
        self.emit(indent, f"p += {size}")

    def blocks(self, target: str, indent: int, item: Callable[[int], None]) -> None:
        """Avro's blocks: a count (negative: followed by a byte size), items, until a count of 0."""
        count = self.var("c")
        self.emit(indent, "while True:")
        self.long(count, indent + 1)
        self.emit(indent + 1, f"if {count} == 0: break")
        self.emit(indent + 1, f"if {count} < 0:")
        self.emit(indent + 2, f"{count} = -{count}")
        self.long("_", indent + 2)
        self.emit(indent + 1, f"for _ in range({count}):")
        item(indent + 2)

    def array(self, schema: Mapping[str, Any], target: str, indent: int) -> None:
        self.emit(indent, f"{target} = []")
        value = self.var("x")

        def item(at: int) -> None:
            self.read(schema["items"], value, at)
            self.emit(at, f"{target}.append({value})")

        self.blocks(target, indent, item)

    def map(self, schema: Mapping[str, Any], target: str, indent: int) -> None:
        self.emit(indent, f"{target} = {{}}")
        key, value = self.var("key"), self.var("x")

        def item(at: int) -> None:
            self.read("string", key, at)
            self.read(schema["values"], value, at)
            self.emit(at, f"{target}[{key}] = {value}")

        self.blocks(target, indent, item)


def compile_reader(parsed: Mapping[str, Any]) -> Reader:
    """A function reading a record of the fastavro-parsed schema from ``data`` at ``pos``.

    Returns the record (as fastavro's ``schemaless_reader`` would, writer = reader) and the
    position after it; a truncated or corrupt body raises one of :data:`READER_ERRORS`.
    Raises :class:`UnsupportedSchema` when the schema has a construct not generated here.
    """
    gen = _Generator(parsed.get("__named_schemas", {}))
    gen.read(parsed, "r", 1)
    source = "\n".join(["def read(d, p):", *gen.lines, "    return r, p"]) + "\n"
    namespace: dict[str, Any] = {
        "_long": _long,
        "_timestamp": _timestamp,
        "_uuid": uuid.UUID,
        "_unpack_f": struct.Struct("<f").unpack_from,
        "_unpack_d": struct.Struct("<d").unpack_from,
        **gen.consts,
    }
    label = parsed.get("name", "schema")
    exec(compile(source, f"<avro reader for {label}>", "exec"), namespace)
    reader: Reader = namespace["read"]
    return reader


# What a generated reader raises on a body it cannot read; fastavro then reads it or refuses it.
READER_ERRORS = (IndexError, EOFError, ValueError, UnicodeDecodeError, OverflowError, struct.error)
