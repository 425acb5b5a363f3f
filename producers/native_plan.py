"""The SDK's fast path in C: the plan that ``producers/_plan_writer.c`` runs, built from the schemas.

The generated Python fast path (:mod:`producers.fused`) is bounded by the interpreter: ~5 us an
event spread over some 150 steps and 40 small bytes objects, twice what ``produce()`` costs. The C
writer does the same checks and writes into one buffer; what it checks and writes is not
hard-coded but read from a plan, nested tuples derived here from the same Avro schema and
pydantic core schema, so a schema change reaches it as it reaches the Python fast path.

The C writer is built by ``pip install`` when a C compiler is there (an optional extension);
without it, or when a schema construct has no plan node, the SDK keeps the Python fast path.
Either way it must first write exactly what the slow path writes on the probe events
(:func:`producers.fast_path.build_fast_path`), and it obeys the same contract: it vouches only
for exact ``dict``/``list``/``str``/``int``/``bool``/aware ``datetime`` input and raises
:class:`producers.fused.Fallback` for anything else.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Mapping
from typing import Any

from producers.fused import Fallback, FastPath, Generator, TextShape
from producers.fused_identifiers import IdentifierRules, cached_transform, identifier_item
from schemas.avro_writer import _LENGTHS, UnsupportedSchema, avro_kind, encode_value, resolve

try:
    from producers._plan_writer import PlanWriter
except ImportError:  # built without a C compiler: the Python fast path serves
    PlanWriter = None  # type: ignore[assignment,misc]

# Opcodes: the first item of every plan node (see the C file's header for each node's items).
NULLABLE, STR, INT, BOOL, ENUM, DATETIME, FUNC, LIST, MAP, RECORD, ROUTE, IDENTIFIERS = range(1, 13)
_LONG = (-(2**63), 2**63 - 1)
_INT32 = (-(2**31), 2**31 - 1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Node = tuple[Any, ...]


def native_available() -> bool:
    """Whether the C writer was built with this installation."""
    return PlanWriter is not None


def pack_entry(encoded: bytes, rank: int, key: bytes) -> bytes:
    """An identifier's cache entry as one object: rank, encoded length (2 bytes, little end), encoded, key.

    One bytes object is one or two cache lines where a tuple of three is four objects apart: the
    caches are large and cold, and the C writer reads an entry per identifier.
    """
    if not 0 <= rank < 256 or len(encoded) >= 1 << 16:
        raise UnsupportedSchema("identifier rank or encoded size beyond a packed cache entry")
    return bytes((rank,)) + len(encoded).to_bytes(2, "little") + encoded + key


class PlanBuilder:
    """Walks the Avro and pydantic core schemas together, as :class:`producers.fused.Generator` does.

    It expects schemas the generator accepted (the SDK builds the Python fast path first) and
    raises :class:`UnsupportedSchema` for any node it has no plan for.
    """

    def __init__(
        self,
        named: Mapping[str, Any],
        topics: Mapping[str, str],
        rules: IdentifierRules,
        shortcuts: Mapping[Callable[[Any], Any], TextShape],
    ) -> None:
        self.named = named
        self.topics = dict(topics)
        self.rules = rules
        self.shortcuts = shortcuts

    def node(self, avro: Any, core: Mapping[str, Any]) -> Node:
        avro = resolve(avro, self.named)
        kind = core["type"]
        if kind == "nullable":
            branches = [resolve(b, self.named) for b in avro]
            null = branches.index("null")
            return (
                NULLABLE,
                _LENGTHS[null],
                _LENGTHS[1 - null],
                self.node(branches[1 - null], core["schema"]),
            )
        if kind == "str":
            limited = "min_length" in core or "max_length" in core
            return (STR, limited, int(core.get("min_length", 0)), int(core.get("max_length", -1)))
        if kind == "int":
            return (INT, *self.int_range(avro, core))
        if kind == "bool":
            return (BOOL,)
        if kind == "literal":
            symbols = avro["symbols"]
            return (ENUM, {e: _LENGTHS[symbols.index(e)] for e in core["expected"]})
        if kind == "datetime":
            return (DATETIME, _EPOCH)
        if kind == "function-plain":
            function = core["function"]["function"]
            table, template = self.shortcuts.get(function, (None, None))
            return (FUNC, function, table, template, table is not None)
        if kind == "list":
            child = self.node(avro["items"], core["items_schema"])
            return (LIST, int(core.get("min_length", 0)), int(core.get("max_length", -1)), child)
        if kind == "dict":
            keys = self.node("string", core.get("keys_schema", {"type": "any"}))
            return (MAP, keys, self.node(avro["values"], core.get("values_schema", {"type": "any"})))
        if kind == "typed-dict":
            return self.record(avro, core, top=False)
        raise UnsupportedSchema(f"no plan node for validation {kind!r}")

    @staticmethod
    def int_range(avro: Any, core: Mapping[str, Any]) -> tuple[int, int]:
        low, high = _INT32 if avro_kind(avro)[0] == "int" else _LONG
        low = max(low, int(core.get("ge", low)), int(core.get("gt", low - 1)) + 1)
        high = min(high, int(core.get("le", high)), int(core.get("lt", high + 1)) - 1)
        return low, high

    def record(self, avro: Any, core: Mapping[str, Any], top: bool) -> Node:
        fields = []
        for field in avro["fields"]:
            name, spec = field["name"], core["fields"][field["name"]]
            if top and name == self.rules.field:
                child = self.identifiers(resolve(field["type"], self.named), spec["schema"])
            else:
                child = self.node(field["type"], spec["schema"])
                if top and name == "channel":
                    child = (ROUTE, self.topics, child)
            default = (
                None
                if spec.get("required", True)
                else encode_value(field["type"], self.named, field["default"])
            )
            fields.append((sys.intern(name), child, default))  # input keys are interned literals
        return (RECORD, core.get("extra_behavior", "ignore") == "forbid", tuple(fields))

    def identifiers(self, avro: Any, core: Mapping[str, Any]) -> Node:
        item = identifier_item(Generator(self.named, self.topics, self.rules, {}), avro, core)
        caches, miss = cached_transform(item, self.rules, pack_entry)
        low, high = int(core.get("min_length", 0)), int(core.get("max_length", -1))
        return (IDENTIFIERS, caches, miss, low, high, len(self.rules.priority))


def compile_native_fast_path(
    parsed: Mapping[str, Any],
    core: Mapping[str, Any],
    header: bytes,
    topics: Mapping[str, str],
    rules: IdentifierRules,
    shortcuts: Mapping[Callable[[Any], Any], TextShape] | None = None,
) -> FastPath:
    """The C writer for the schemas :func:`producers.fast_path.compile_fast_path` takes; same arguments.

    Raises :class:`UnsupportedSchema` when the C writer is not built or a node has no plan.
    """
    if PlanWriter is None:
        raise UnsupportedSchema("the C writer (producers._plan_writer) is not built")
    builder = PlanBuilder(parsed.get("__named_schemas", {}), topics, rules, shortcuts or {})
    plan = builder.record(resolve(parsed, builder.named), core, top=True)
    write: FastPath = PlanWriter(plan, header, Fallback).write
    return write
