"""A fast Avro binary writer, generated from a parsed schema, for every encoder's hot path.

fastavro's writer interprets the schema for every record: about 20 microseconds for a touchpoint,
10 to 15 for a session or journey record, more than the rest of the producer SDK's work per event
and a tenth of the journey stage's. Here the schema is turned once into the source of one Python
function with every field access, union branch and enum lookup written out, which writes the
same bytes three to five times faster.

It is a cache, not a second codec: :class:`schemas.codec.Codec` writes with it and hands any
record it cannot write (a value of an unexpected type, a missing field) to fastavro, which then
writes it or raises its precise error; the producer SDK checks it against the codec on probe
events before use. Schema constructs it does not know (general unions, decimals, recursive types
...) raise :class:`UnsupportedSchema` at compile time and fastavro is used throughout.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable, Mapping
from typing import Any

from schemas.codegen import SourceLines

Writer = Callable[[Mapping[str, Any]], bytes]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
_SMALL = 1024  # lengths below this are looked up, not computed
_NAMED = ("record", "enum", "fixed")


class UnsupportedSchema(Exception):
    """The schema uses something this writer does not generate code for."""


def _varint_loop(n: int) -> bytes:
    """Little-endian base-128 varint of a non-negative ``n``, seven bits at a time."""
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# 14 bits at a time by table (about 1 MB for both): two bytes with the continuation bit, and
# the final one or two.
_MID14 = tuple(bytes(((x & 0x7F) | 0x80, (x >> 7) | 0x80)) for x in range(1 << 14))
_END14 = tuple(_varint_loop(x) for x in range(1 << 14))


def zigzag_varint(value: int) -> bytes:
    """Avro's ``long`` encoding: zig-zag, then little-endian base-128 varint.

    Values up to 42 bits (every millisecond timestamp until 2039) take at most three table
    lookups instead of a loop over seven-bit groups, which halves the cost of a timestamp.
    """
    n = (value << 1) ^ (value >> 63)
    if n < 0x4000:
        return _END14[n]
    if n < 0x10000000:
        return _MID14[n & 0x3FFF] + _END14[n >> 14]
    if n < 0x40000000000:
        return _MID14[n & 0x3FFF] + _MID14[(n >> 14) & 0x3FFF] + _END14[n >> 28]
    if n >> 64:
        raise OverflowError("value does not fit an Avro long")
    return _varint_loop(n)


_LENGTHS = tuple(_END14[2 * i] for i in range(_SMALL))  # zig-zag of a length n is 2n


class SchemaCode(SourceLines):
    """A generator walking an Avro schema: named types, the logical types handled, recursion.

    Shared by the writer here and the reader (:mod:`schemas.avro_reader`): both refuse the same
    constructs at compile time, so a schema gets both or neither.
    """

    def __init__(self, named: Mapping[str, Any]) -> None:
        super().__init__()
        self.named = named
        self.stack: list[str] = []

    def kind_of(self, schema: Any) -> tuple[str, str | None]:
        """Type and logical type of a resolved (non-union) schema; UnsupportedSchema if unknown."""
        kind, logical = avro_kind(schema)
        if logical is not None and (kind, logical) not in {("string", "uuid"), ("long", "timestamp-millis")}:
            raise UnsupportedSchema(f"logical type {logical} on {kind}")
        return kind, logical

    def named_type(self, schema: Mapping[str, Any], emit: Any, *args: Any) -> None:
        """Call ``emit(schema, *args)`` for a record, enum or fixed; a recursive type is refused."""
        name = schema["name"]
        if name in self.stack:
            raise UnsupportedSchema(f"recursive type {name}")
        self.stack.append(name)
        emit(schema, *args)
        self.stack.pop()


class _Generator(SchemaCode):
    """Emits the body of ``write(r)``: appends byte strings to ``parts`` through ``a``.

    ``prefix`` is constant bytes owed before a value (a union branch index): it is merged into
    the value's first append instead of costing an append of its own.
    """

    def __init__(
        self, named: Mapping[str, Any], plain: frozenset[str] = frozenset(), strict: bool = False
    ) -> None:
        super().__init__(named)
        self.plain = plain  # records written field by field even when empty
        self.strict = strict  # a record with a key its schema does not name is refused
        self.tables: dict[bytes, str] = {}

    def lengths(self, prefix: bytes) -> str:
        """Name of the table of ``prefix`` + encoded length, for lengths below ``_SMALL``."""
        if prefix not in self.tables:
            self.tables[prefix] = self.const(tuple(prefix + enc for enc in _LENGTHS))
        return self.tables[prefix]

    def resolve(self, schema: Any) -> Any:
        return resolve(schema, self.named)

    def write(self, schema: Any, expr: str, indent: int, prefix: bytes = b"") -> None:
        """Code that appends ``prefix`` and the encoding of the value held in variable ``expr``."""
        schema = self.resolve(schema)
        if isinstance(schema, list):
            self.union(schema, expr, indent, prefix)
            return
        kind, logical = self.kind_of(schema)
        if kind in _NAMED:
            self.named_type(schema, getattr(self, kind), expr, indent, prefix)
        elif kind in ("string", "bytes", "long", "int", "boolean", "null", "float", "double"):
            getattr(self, f"prim_{kind}")(expr, indent, prefix, logical)
        elif kind in ("array", "map"):
            getattr(self, kind)(schema, expr, indent, prefix)
        else:
            raise UnsupportedSchema(f"type {kind!r}")

    def prim_string(self, expr: str, indent: int, prefix: bytes, logical: str | None = None) -> None:
        b = self.var("b")
        if logical == "uuid":  # fastavro writes a UUID object as its canonical text
            self.emit(indent, f"{b} = ({expr} if {expr}.__class__ is str else str({expr})).encode()")
        else:
            self.emit(indent, f"{b} = {expr}.encode()")
        self.length_and(b, indent, prefix)

    def prim_bytes(self, expr: str, indent: int, prefix: bytes, logical: str | None) -> None:
        b = self.var("b")
        self.emit(indent, f"{b} = bytes({expr})")
        self.length_and(b, indent, prefix)

    def length_and(self, b: str, indent: int, prefix: bytes) -> None:
        n = self.var("n")
        self.emit(indent, f"{n} = len({b})")
        self.emit(indent, f"a({self.length_of(n, prefix)})")
        self.emit(indent, f"a({b})")

    def length_of(self, n: str, prefix: bytes) -> str:
        """Expression for ``prefix`` + the encoded non-negative count in variable ``n``."""
        return f"{self.lengths(prefix)}[{n}] if {n} < {_SMALL} else {prefix!r} + _varint({n})"

    def prim_long(self, expr: str, indent: int, prefix: bytes, logical: str | None) -> None:
        if logical == "timestamp-millis":  # aware datetime (a naive one fails: TypeError) or int
            value = f"_varint({expr} if {expr}.__class__ is int else ({expr} - _EPOCH) // _MS)"
        else:
            value = f"_varint({expr})"
        self.emit(indent, f"a({prefix!r} + {value})" if prefix else f"a({value})")

    prim_int = prim_long

    def prim_boolean(self, expr: str, indent: int, prefix: bytes, logical: str | None) -> None:
        true, false = prefix + b"\x01", prefix + b"\x00"
        self.emit(indent, f"a({true!r} if {expr} else {false!r})")

    def prim_null(self, expr: str, indent: int, prefix: bytes, logical: str | None) -> None:
        self.emit(indent, f"if {expr} is not None: raise TypeError('null field holds a value')")
        if prefix:
            self.emit(indent, f"a({prefix!r})")

    def prim_float(self, expr: str, indent: int, prefix: bytes, logical: str | None) -> None:
        self.emit(indent, f"a({prefix!r} + _pack_f({expr}))")

    def prim_double(self, expr: str, indent: int, prefix: bytes, logical: str | None) -> None:
        self.emit(indent, f"a({prefix!r} + _pack_d({expr}))")

    def union(self, branches: list[Any], expr: str, indent: int, prefix: bytes) -> None:
        """Only ``[null, T]`` / ``[T, null]``: the one shape where the branch is obvious."""
        resolved = [self.resolve(b) for b in branches]
        nulls = [i for i, b in enumerate(resolved) if b == "null"]
        if len(branches) != 2 or len(nulls) != 1:
            raise UnsupportedSchema("unions other than [null, T]")
        other = 1 - nulls[0]
        self.emit(indent, f"if {expr} is None:")
        self.emit(indent + 1, f"a({prefix + _LENGTHS[nulls[0]]!r})")
        self.emit(indent, "else:")
        self.write(resolved[other], expr, indent + 1, prefix + _LENGTHS[other])

    def record(self, schema: Mapping[str, Any], expr: str, indent: int, prefix: bytes) -> None:
        empty = self.all_defaults(schema)
        if empty is not None:  # an empty dict is every default: one constant, no field lookups
            self.emit(indent, f"if not {expr}:")
            self.emit(indent + 1, f"a({prefix + empty!r})")
            self.emit(indent, "else:")
            indent += 1
        if self.strict:  # as fastavro's strict_allow_default: no key the schema does not name
            names = self.const(frozenset(field["name"] for field in schema["fields"]))
            self.emit(indent, f"if not {names}.issuperset({expr}): raise ValueError('unknown field')")
        if prefix:
            self.emit(indent, f"a({prefix!r})")
        for field in schema["fields"]:
            v = self.var("v")
            name = field["name"]
            if "default" in field:
                self.emit(indent, f"{v} = {expr}.get({name!r}, {self.const(field['default'])})")
            else:
                self.emit(indent, f"{v} = {expr}[{name!r}]")
            self.write(field["type"], v, indent)

    def all_defaults(self, schema: Mapping[str, Any]) -> bytes | None:
        """Encoding of the record with every field at its default, or None if one has none."""
        name = schema["name"]
        if name in self.plain or not all("default" in field for field in schema["fields"]):
            return None
        return _compile(schema, self.named, b"", self.plain | {name})({})

    def enum(self, schema: Mapping[str, Any], expr: str, indent: int, prefix: bytes) -> None:
        table = self.const({s: prefix + _LENGTHS[i] for i, s in enumerate(schema["symbols"])})
        # Plain strings only: a StrEnum member hashes by its name and misses (KeyError), and the
        # caller's fallback (the codec) writes it instead.
        self.emit(indent, f"a({table}[{expr}])")

    def fixed(self, schema: Mapping[str, Any], expr: str, indent: int, prefix: bytes) -> None:
        self.emit(indent, f"if len({expr}) != {int(schema['size'])}: raise ValueError('fixed size')")
        self.emit(indent, f"a({prefix!r} + bytes({expr}))")

    def array(self, schema: Mapping[str, Any], expr: str, indent: int, prefix: bytes) -> None:
        item = self.block_start(expr, indent, prefix)
        self.emit(indent + 1, f"for {item} in {expr}:")
        self.write(schema["items"], item, indent + 2)
        self.block_end(indent, prefix)

    def map(self, schema: Mapping[str, Any], expr: str, indent: int, prefix: bytes) -> None:
        item = self.block_start(expr, indent, prefix)
        key = self.var("k")
        self.emit(indent + 1, f"for {key}, {item} in {expr}.items():")
        self.prim_string(key, indent + 2, b"")
        self.write(schema["values"], item, indent + 2)
        self.block_end(indent, prefix)

    def block_start(self, expr: str, indent: int, prefix: bytes) -> str:
        """One block holding every item (count first), as fastavro writes it."""
        n = self.var("n")
        self.emit(indent, f"if {expr}:")
        self.emit(indent + 1, f"{n} = len({expr})")
        self.emit(indent + 1, f"a({self.length_of(n, prefix)})")
        return self.var("i")

    def block_end(self, indent: int, prefix: bytes) -> None:
        self.emit(indent + 1, "a(b'\\x00')")
        self.emit(indent, "else:")
        empty = prefix + b"\x00"
        self.emit(indent + 1, f"a({empty!r})")


def _compile(
    schema: Any,
    named: Mapping[str, Any],
    header: bytes,
    plain: frozenset[str] = frozenset(),
    strict: bool = False,
) -> Writer:
    gen = _Generator(named, plain, strict)
    gen.write(schema, "r", 1)
    source = "\n".join(["def write(r):", "    parts = [_header]", "    a = parts.append", *gen.lines])
    source += "\n    return b''.join(parts)\n"
    namespace: dict[str, Any] = {
        "_header": header,
        "_varint": zigzag_varint,
        "_EPOCH": _EPOCH,
        "_MS": _MS,
        "_pack_f": struct.Struct("<f").pack,
        "_pack_d": struct.Struct("<d").pack,
        **gen.consts,
    }
    label = schema.get("name", "schema") if isinstance(schema, dict) else "value"
    exec(compile(source, f"<avro writer for {label}>", "exec"), namespace)
    writer: Writer = namespace["write"]
    return writer


def resolve(schema: Any, named: Mapping[str, Any]) -> Any:
    """The Avro schema with named references resolved and ``{"type": {...}}`` wrappers removed."""
    while True:
        if isinstance(schema, str) and schema in named:
            schema = named[schema]
        elif isinstance(schema, dict) and isinstance(schema["type"], dict | list):
            schema = schema["type"]
        else:
            return schema


def avro_kind(schema: Any) -> tuple[str, str | None]:
    """Type and logical type of a resolved Avro schema (``"union"`` for a list)."""
    if isinstance(schema, str):
        return schema, None
    if isinstance(schema, list):
        return "union", None
    return schema["type"], schema.get("logicalType")


def encode_value(schema: Any, named: Mapping[str, Any], value: Any) -> bytes:
    """The Avro encoding of ``value`` under any (sub)schema, e.g. a field's default.

    ``named`` resolves named types referenced by name, as in ``parsed["__named_schemas"]``.
    """
    return _compile(schema, named, b"")(value)


def compile_writer(parsed: Mapping[str, Any], header: bytes, *, strict: bool = False) -> Writer:
    """A function writing ``header`` + the Avro body of a record of the fastavro-parsed schema.

    ``strict``: a record (at any depth) holding a key its schema does not name raises ValueError,
    as fastavro's ``strict_allow_default`` does, instead of being written without it.
    Raises :class:`UnsupportedSchema` when the schema has a construct not generated here.
    """
    return _compile(parsed, parsed.get("__named_schemas", {}), header, strict=strict)
