"""One generated function that validates a touchpoint input dict and writes its Avro bytes in one pass.

The SDK's authoritative path validates with pydantic (a fresh dict), hashes the identifiers, and then
the generated writer of :mod:`schemas.avro_writer` walks that dict again; together they cost
several times what ``produce()`` costs. Here the Avro schema and the pydantic core schema of
:class:`producers.inputs.TouchpointInput` are walked together, once, into the source of a single
function that checks each value with exact type tests and the same constraints, and writes it in
the same pass. Each piece of the output lands in a local variable ("slot") and one ``join`` at the
end assembles them in schema order, so a record whose fields are all optional (context, consent)
is read by iterating the keys it has rather than by looking up every field it could have.

The function is a fast path, never the judge: it accepts only inputs it can vouch for, i.e. plain
``dict``/``list``/``str``/``int``/``bool``/aware ``datetime`` values that pydantic accepts unchanged
(up to an equal ``str``), and raises :class:`Fallback` (or another of :data:`FALLBACK_ERRORS`)
for anything else: lax conversions, subclasses, text UTF-8 cannot carry, every invalid input.
Text of 4 KiB or more also goes that way (lengths are written by table lookup). The caller then
takes the slow path, which either produces the same bytes or raises the error it always raised.
A pydantic construct the generator does not know (a pattern, a strict flag, a validator taking
info ...) raises :class:`UnsupportedSchema` at compile time; the SDK then uses the slow path only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from producers.fused_identifiers import IdentifierRules, emit_identifiers
from schemas.avro_writer import (
    _END14,
    _LENGTHS,
    _MID14,
    UnsupportedSchema,
    avro_kind,
    encode_value,
    resolve,
    zigzag_varint,
)
from schemas.codegen import SourceLines

FastPath = Callable[[Any], tuple[str, bytes, bytes]]  # event -> (topic, key, value)
# A validator function's shortcut: when an exact ``str``'s UTF-8 bytes, translated by ``table``,
# equal ``template``, the function would return the string unchanged, so it is not called.
TextShape = tuple[bytes, bytes]
Core = Mapping[str, Any]  # a node of a pydantic core schema
Slots = list[str]  # names of the local variables holding a value's encoded pieces, in order


class Fallback(Exception):
    """The fast path cannot vouch for this input: the slow, authoritative path decides."""


# What the generated code raises on input it does not vouch for: its own checks raise Fallback;
# a missing key, an unknown enum value, an unhashable or mistyped value fail on their own.
FALLBACK_ERRORS = (Fallback, KeyError, TypeError, AttributeError, ValueError, OverflowError, IndexError)

_COMMON_KEYS = frozenset({"type", "metadata", "ref", "serialization"})
_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_INT32 = (-(2**31), 2**31 - 1)
_MISSING = object()
_EMPTY = b"\x00"  # an empty array or map, a zero count
_TABLED = 4096  # lengths written by table lookup

# The names generated code uses besides its constants (``_k...``) and ``_header``.
RUNTIME: Mapping[str, Any] = {
    "_varint": zigzag_varint,
    "_encode": str.encode,
    "_Fallback": Fallback,
    "_MISSING": _MISSING,
    "_datetime": dt.datetime,
    "_UTC": dt.UTC,
    "_EPOCH": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
    "_MID14": _MID14,
    "_END14": _END14,
}


class Generator(SourceLines):
    """Emits the body of ``write(r)``: checks, and assignments of the output's pieces to slots."""

    def __init__(
        self,
        named: Mapping[str, Any],
        topics: Mapping[str, str],
        rules: IdentifierRules,
        shortcuts: Mapping[Callable[[Any], Any], TextShape],
    ) -> None:
        super().__init__()
        self.named = named
        self.topics = topics
        self.rules = rules
        self.shortcuts = shortcuts
        self.tables: dict[bytes, str] = {}
        self.routed = False  # the channel's topic is known
        self.keyed = False  # the identifiers' key is known

    def fail_unless(self, indent: int, condition: str) -> None:
        self.emit(indent, f"if not ({condition}): raise _Fallback")

    @contextmanager
    def aside(self) -> Iterator[list[str]]:
        """Emit into a separate list (code whose slots must be known before it is placed)."""
        saved, self.lines = self.lines, []
        try:
            yield self.lines
        finally:
            self.lines = saved

    def set_slots(self, indent: int, slots: Slots, data: bytes) -> None:
        """Assign ``data`` to the first slot and nothing to the others."""
        self.emit(indent, "; ".join([f"{slots[0]} = {data!r}"] + [f"{s} = b''" for s in slots[1:]]))

    def length_of(self, n: str, prefix: bytes) -> str:
        """Expression for ``prefix`` + the encoded count or byte length held in ``n``.

        A table lookup without a bound check: from _TABLED on (text of 4 KiB, thousands of items)
        it raises IndexError and the slow path writes the event.
        """
        if prefix not in self.tables:
            self.tables[prefix] = self.const(tuple(prefix + zigzag_varint(i) for i in range(_TABLED)))
        return f"{self.tables[prefix]}[{n}]"

    @staticmethod
    def keys(core: Core, allowed: set[str]) -> None:
        unknown = set(core) - _COMMON_KEYS - allowed
        if unknown:
            raise UnsupportedSchema(f"{core['type']} validation with {sorted(unknown)}")

    # -- one value: the core schema says what to check, the Avro schema how to write; returns slots

    def value(self, avro: Any, core: Core, expr: str, indent: int, prefix: bytes = b"") -> Slots:
        handler = getattr(self, f"v_{core['type'].replace('-', '_')}", None)
        if handler is None:
            raise UnsupportedSchema(f"validation {core['type']!r}")
        slots: Slots = handler(resolve(avro, self.named), core, expr, indent, prefix)
        return slots

    def v_nullable(self, avro: Any, core: Core, expr: str, indent: int, prefix: bytes) -> Slots:
        self.keys(core, {"schema"})
        branches = [resolve(b, self.named) for b in avro] if isinstance(avro, list) else []
        if len(branches) != 2 or branches.count("null") != 1:
            raise UnsupportedSchema("nullable value not written as a [null, T] union")
        null = branches.index("null")
        self.emit(indent, f"if {expr} is not None:")
        slots = self.value(branches[1 - null], core["schema"], expr, indent + 1, prefix + _LENGTHS[1 - null])
        self.emit(indent, "else:")
        self.set_slots(indent + 1, slots, prefix + _LENGTHS[null])
        return slots

    def v_str(self, avro: Any, core: Core, expr: str, indent: int, prefix: bytes) -> Slots:
        self.keys(core, {"min_length", "max_length"})
        if avro_kind(avro)[0] != "string":
            raise UnsupportedSchema(f"str written as {avro!r}")
        if "min_length" not in core and "max_length" not in core:
            # ``str.encode`` refuses anything but a str (TypeError). A str subclass passes, as it
            # does pydantic, which turns it into the equal str. A lone surrogate, which pydantic
            # accepts but UTF-8 cannot carry, fails here (UnicodeEncodeError) as in the codec.
            return self.text(f"_encode({expr})", indent, prefix)
        self.emit(indent, f"if {expr}.__class__ is not str: raise _Fallback")
        self.limit_length(expr, core, indent)
        return self.text(f"{expr}.encode()", indent, prefix)

    def limit_length(self, expr: str, core: Core, indent: int) -> None:
        """Checks of ``min_length`` and ``max_length``, in characters or items as pydantic counts."""
        low, high = int(core.get("min_length", 0)), core.get("max_length")
        if low and high is not None:
            self.fail_unless(indent, f"{low} <= len({expr}) <= {int(high)}")
        elif low:
            self.fail_unless(indent, f"{low} <= len({expr})")
        elif high is not None:
            self.fail_unless(indent, f"len({expr}) <= {int(high)}")

    def text(self, encoded: str, indent: int, prefix: bytes) -> Slots:
        """Slots of a string (length, bytes) whose UTF-8 bytes are the expression ``encoded``."""
        size, n = self.var("s"), self.var("n")
        data = encoded if encoded.isidentifier() else self.var("s")
        if data != encoded:
            self.emit(indent, f"{data} = {encoded}")
        self.emit(indent, f"{n} = len({data})")
        self.emit(indent, f"{size} = {self.length_of(n, prefix)}")
        return [size, data]

    def v_int(self, avro: Any, core: Core, expr: str, indent: int, prefix: bytes) -> Slots:
        self.keys(core, set(_BOUNDS))
        kind, logical = avro_kind(avro)
        if kind not in ("long", "int") or logical is not None:
            raise UnsupportedSchema(f"int written as {avro!r}")
        self.emit(indent, f"if {expr}.__class__ is not int: raise _Fallback")  # nor a bool
        for bound, op in _BOUNDS.items():
            if bound in core:
                self.fail_unless(indent, f"{expr} {op} {int(core[bound])}")
        if kind == "int":
            self.fail_unless(indent, f"{_INT32[0]} <= {expr} <= {_INT32[1]}")
        slot = self.var("s")
        self.emit(indent, f"{slot} = {prefix!r} + _varint({expr})")  # beyond a long: OverflowError
        return [slot]

    def v_bool(self, avro: Any, core: Core, expr: str, indent: int, prefix: bytes) -> Slots:
        self.keys(core, set())
        if avro_kind(avro)[0] != "boolean":
            raise UnsupportedSchema(f"bool written as {avro!r}")
        slot, true, false = self.var("s"), prefix + b"\x01", prefix + b"\x00"
        self.emit(indent, f"if {expr} is True: {slot} = {true!r}")
        self.emit(indent, f"elif {expr} is False: {slot} = {false!r}")
        self.emit(indent, "else: raise _Fallback")
        return [slot]

    def v_literal(self, avro: Any, core: Core, expr: str, indent: int, prefix: bytes) -> Slots:
        self.keys(core, {"expected"})
        symbols = avro.get("symbols", []) if avro_kind(avro)[0] == "enum" else []
        expected = core["expected"]
        if not all(isinstance(e, str) and e in symbols for e in expected):
            raise UnsupportedSchema("literal values that are not symbols of an Avro enum")
        slot, table = self.var("s"), self.const({e: prefix + _LENGTHS[symbols.index(e)] for e in expected})
        self.emit(indent, f"{slot} = {table}[{expr}]")  # a miss: KeyError; unhashable: TypeError
        return [slot]

    def v_datetime(self, avro: Any, core: Core, expr: str, indent: int, prefix: bytes) -> Slots:
        self.keys(core, {"tz_constraint", "microseconds_precision"})
        if avro_kind(avro) != ("long", "timestamp-millis") or core.get("tz_constraint") != "aware":
            raise UnsupportedSchema("datetime other than an aware one written as timestamp-millis")
        tz, d, ms, z, slot = self.var("tz"), self.var("d"), self.var("ms"), self.var("z"), self.var("s")
        self.emit(indent, f"if {expr}.__class__ is not _datetime: raise _Fallback")
        self.emit(indent, f"{tz} = {expr}.tzinfo")  # aware, as pydantic checks it: through utcoffset()
        self.emit(
            indent, f"if {tz} is not _UTC and ({tz} is None or {expr}.utcoffset() is None): raise _Fallback"
        )
        # Floored to the millisecond, as fastavro does; a normalised timedelta's days, seconds and
        # microseconds are cheaper to read than ``// timedelta(milliseconds=1)`` is to compute.
        self.emit(indent, f"{d} = {expr} - _EPOCH")
        self.emit(indent, f"{ms} = {d}.days * 86400000 + {d}.seconds * 1000 + {d}.microseconds // 1000")
        self.emit(indent, f"{z} = {ms} << 1 if {ms} >= 0 else ~({ms} << 1)")  # zig-zag
        self.emit(indent, f"if 0x10000000 <= {z} < 0x40000000000:")  # 1970-01-04 to 2039: three lookups
        pieces = f"_MID14[{z} & 0x3FFF] + _MID14[({z} >> 14) & 0x3FFF] + _END14[{z} >> 28]"
        self.emit(indent + 1, f"{slot} = {prefix!r} + {pieces}" if prefix else f"{slot} = {pieces}")
        self.emit(indent, f"else: {slot} = {prefix!r} + _varint({ms})")
        return [slot]

    def v_function_plain(self, avro: Any, core: Core, expr: str, indent: int, prefix: bytes) -> Slots:
        """A plain validator function, called as pydantic calls it; its result must be a string."""
        self.keys(core, {"function", "json_schema_input_schema"})
        function = core["function"]["function"]
        if core["function"].get("type") != "no-info" or avro_kind(avro)[0] != "string":
            raise UnsupportedSchema("validator functions taking validation info or not giving text")
        call = self.const(function)
        if function not in self.shortcuts:
            self.emit(indent, f"{expr} = {call}({expr})")
            return self.v_str(avro, {"type": "str"}, expr, indent, prefix)
        table, template = (self.const(part) for part in self.shortcuts[function])
        data = self.var("b")
        self.emit(indent, f"{data} = {expr}.encode() if {expr}.__class__ is str else b''")
        self.emit(indent, f"if {data}.translate({table}) != {template}:")
        self.emit(indent + 1, f"{expr} = {call}({expr})")
        self.emit(indent + 1, f"if {expr}.__class__ is not str: raise _Fallback")
        self.emit(indent + 1, f"{data} = {expr}.encode()")
        return self.text(data, indent, prefix)

    def v_list(self, avro: Any, core: Core, expr: str, indent: int, prefix: bytes) -> Slots:
        self.keys(core, {"items_schema", "min_length", "max_length"})
        if avro_kind(avro)[0] != "array":
            raise UnsupportedSchema(f"list written as {avro!r}")
        self.emit(indent, f"if {expr}.__class__ is not list: raise _Fallback")
        self.limit_length(expr, core, indent)
        item = self.var("i")
        return self.block(
            expr, f"for {item} in {expr}:", indent, prefix, [(avro["items"], core["items_schema"], item)]
        )

    def v_dict(self, avro: Any, core: Core, expr: str, indent: int, prefix: bytes) -> Slots:
        self.keys(core, {"keys_schema", "values_schema"})
        if avro_kind(avro)[0] != "map":
            raise UnsupportedSchema(f"dict written as {avro!r}")
        self.emit(indent, f"if {expr}.__class__ is not dict: raise _Fallback")
        key, item = self.var("k"), self.var("i")
        items = [("string", core.get("keys_schema", {"type": "any"}), key)]
        items.append((avro["values"], core.get("values_schema", {"type": "any"}), item))
        return self.block(expr, f"for {key}, {item} in {expr}.items():", indent, prefix, items)

    def block(
        self, expr: str, loop: str, indent: int, prefix: bytes, items: list[tuple[Any, Any, str]]
    ) -> Slots:
        """One slot: an array or map as one block holding every item (count first), as fastavro writes it."""
        slot, parts, n = self.var("s"), self.var("p"), self.var("n")
        self.emit(indent, f"{n} = len({expr})")
        self.emit(indent, f"if {n}:")
        self.emit(indent + 1, f"{parts} = [{self.length_of(n, prefix)}]")
        self.emit(indent + 1, loop)
        pieces = [s for avro, core, name in items for s in self.value(avro, core, name, indent + 2)]
        self.emit(indent + 2, f"{parts} += ({', '.join(pieces)},)")
        self.emit(indent + 1, f"{parts}.append(b'\\x00')")
        self.emit(indent + 1, f"{slot} = b''.join({parts})")
        self.emit(indent, f"else: {slot} = {prefix + _EMPTY!r}")
        return [slot]

    def v_typed_dict(self, avro: Any, core: Core, expr: str, indent: int, prefix: bytes) -> Slots:
        self.keys(core, {"fields", "cls", "config", "computed_fields", "extra_behavior"})
        extra, fields = core.get("extra_behavior", "ignore"), core["fields"]
        if avro_kind(avro)[0] != "record" or extra not in ("forbid", "ignore") or core.get("computed_fields"):
            raise UnsupportedSchema(f"typed dict written as {avro!r}")
        if set(fields) != {f["name"] for f in avro["fields"]}:
            raise UnsupportedSchema(f"typed dict fields differ from {avro['name']}'s")
        for spec in fields.values():
            self.keys(spec, {"schema", "required"})
        for field in avro["fields"]:
            if not fields[field["name"]].get("required", True) and "default" not in field:
                raise UnsupportedSchema(f"optional field {field['name']} has no Avro default")
        self.emit(indent, f"if {expr}.__class__ is not dict: raise _Fallback")
        slots = []
        if prefix:
            slots.append(self.var("s"))
            self.emit(indent, f"{slots[0]} = {prefix!r}")
        if any(spec.get("required", True) for spec in fields.values()):
            return slots + self.by_field(avro, fields, extra, expr, indent)
        return slots + self.by_key(avro, fields, extra, expr, indent)

    def by_field(self, avro: Any, fields: Mapping[str, Any], extra: str, expr: str, indent: int) -> Slots:
        """A record with required fields: each field looked up, present ones counted."""
        slots, count = [], self.var("c")
        self.emit(indent, f"{count} = {sum(1 for f in fields.values() if f.get('required', True))}")
        for field in avro["fields"]:
            name, v = field["name"], self.var("v")
            spec = fields[name]
            if spec.get("required", True):
                self.emit(indent, f"{v} = {expr}[{name!r}]")  # absent: KeyError, the slow path names it
                slots += self.field(expr, name, field["type"], spec["schema"], v, indent)
                continue
            self.emit(indent, f"{v} = {expr}.get({name!r}, _MISSING)")
            self.emit(indent, f"if {v} is not _MISSING:")
            self.emit(indent + 1, f"{count} += 1")
            present = self.field(expr, name, field["type"], spec["schema"], v, indent + 1)
            self.emit(indent, "else:")
            self.set_slots(indent + 1, present, encode_value(field["type"], self.named, field["default"]))
            slots += present
        if extra == "forbid":
            self.emit(indent, f"if len({expr}) != {count}: raise _Fallback")  # a key no field has
        return slots

    def by_key(self, avro: Any, fields: Mapping[str, Any], extra: str, expr: str, indent: int) -> Slots:
        """A record of optional fields: every default first, then only the keys the dict has."""
        slots, key, v = [], self.var("k"), self.var("v")
        with self.aside() as loop:
            self.emit(indent, f"for {key}, {v} in {expr}.items():")
            for number, field in enumerate(avro["fields"]):
                self.emit(indent + 1, f"{'if' if number == 0 else 'elif'} {key} == {field['name']!r}:")
                field_slots = self.value(field["type"], fields[field["name"]]["schema"], v, indent + 2)
                slots.append((field_slots, encode_value(field["type"], self.named, field["default"])))
            self.emit(indent + 1, "else: raise _Fallback" if extra == "forbid" else "else: pass")
        for field_slots, default in slots:
            self.set_slots(indent, field_slots, default)
        self.lines += loop
        return [s for field_slots, _ in slots for s in field_slots]

    def field(self, record: str, name: str, avro: Any, core: Core, expr: str, indent: int) -> Slots:
        """One field; at the top level, the identifiers give the key and the channel the topic."""
        if record == "r" and name == self.rules.field:
            self.keyed = True
            return emit_identifiers(self, resolve(avro, self.named), core, expr, indent)
        slots = self.value(avro, core, expr, indent)
        if record == "r" and name == "channel":
            self.routed = True
            self.emit(indent, f"topic = {self.const(dict(self.topics))}[{expr}]")
        return slots
