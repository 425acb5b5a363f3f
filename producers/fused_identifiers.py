"""The identifiers part of the fast path (:mod:`producers.fused`): hashing through a cache, and the key.

It mirrors :func:`producers.prepare.hash_identifiers` for input the slow path accepts unchanged:
raw emails and phones become HMAC tokens, given hashes are checked, and the strongest identifier
becomes the record's key. Normalising and hashing one value costs about 5 us, and even a value
sent as it is costs a dozen steps to check and encode, so results are cached by type and raw
value: customers recur, and with them their identifiers. Only exact strings are cached, and a
value the SDK refuses never is: the fast path falls back and the slow path says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from schemas.avro_writer import _LENGTHS, _SMALL, UnsupportedSchema, avro_kind, resolve, zigzag_varint
from schemas.errors import InvalidEventError

if TYPE_CHECKING:
    from producers.fused import Generator


Entry = TypeVar("Entry")  # what a cache holds for one raw value


@dataclass(frozen=True)
class IdentifierRules:
    """How the SDK turns an input identifier into a wire identifier and a key.

    ``field`` is the top-level field holding the identifiers. ``transforms`` maps the input types
    whose value must be hashed or checked (``email``, ``phone``, ``hashed_*``) to their wire type
    and the function giving the wire value (raising :class:`InvalidEventError` when it cannot);
    other types are sent as they are. Results are cached by raw value, up to ``cache_size`` per
    type (about 250 bytes each), after which that type's cache starts over. ``priority`` ranks
    wire types for the key: lower is stronger, the first of equals wins.
    """

    field: str
    transforms: Mapping[str, tuple[str, Callable[[str], str]]]
    priority: Mapping[str, int]
    cache_size: int = 65_536


@dataclass(frozen=True)
class _Item:
    """What the two schemas say about one identifier."""

    symbols: list[str]  # wire types, in the Avro enum's order
    kinds: list[str]  # input types
    low: int  # value length limits, in characters
    high: int


def identifier_item(gen: Generator, avro: Any, core: Mapping[str, Any]) -> _Item:
    gen.keys(core, {"items_schema", "min_length", "max_length"})
    record = resolve(avro.get("items"), gen.named) if avro_kind(avro)[0] == "array" else None
    item = core["items_schema"] if core["type"] == "list" else {}
    if not isinstance(record, dict) or [f["name"] for f in record["fields"]] != ["type", "value"]:
        raise UnsupportedSchema("identifiers are not an array of {type, value} records")
    enum, text = (resolve(f["type"], gen.named) for f in record["fields"])
    fields = item.get("fields", {})
    if (
        item.get("type") != "typed-dict"
        or item.get("extra_behavior") != "forbid"
        or set(fields) != {"type", "value"}
        or not all(f.get("required", True) for f in fields.values())
        or avro_kind(enum)[0] != "enum"
        or text != "string"
    ):
        raise UnsupportedSchema("identifier input is not a closed {type, value} dict")
    kinds, value = fields["type"]["schema"], fields["value"]["schema"]
    if kinds["type"] != "literal" or value["type"] != "str":
        raise UnsupportedSchema("identifier type is not a literal or its value not a string")
    gen.keys(kinds, {"expected"})
    gen.keys(value, {"min_length", "max_length"})
    return _Item(
        symbols=list(enum["symbols"]),
        kinds=[str(k) for k in kinds["expected"]],
        low=int(value.get("min_length", 0)),
        high=int(value.get("max_length", 2**63)),
    )


def _tag(symbols: list[str], wire: str) -> bytes:
    return _LENGTHS[symbols.index(wire)]


def as_tuple(encoded: bytes, rank: int, key: bytes) -> tuple[bytes, int, bytes]:
    """A cache entry as the generated Python code reads it."""
    return encoded, rank, key


def cached_transform(
    item: _Item, rules: IdentifierRules, pack: Callable[[bytes, int, bytes], Entry]
) -> tuple[dict[str, dict[str, Entry]], Callable[[str, Any], Entry]]:
    """Per input type, a cache of raw value -> ``pack(encoded identifier, key rank, key)``; and its filler."""
    caches: dict[str, dict[str, Entry]] = {kind: {} for kind in item.kinds}
    wire_of = {kind: rules.transforms.get(kind, (kind, str)) for kind in item.kinds}
    for kind, (wire, _) in wire_of.items():
        if wire not in item.symbols or wire not in rules.priority:
            raise UnsupportedSchema(f"identifier type {kind} has no wire type with a key priority")

    # Per input type: its wire type's enum index, the key's prefix, the key rank, the transform.
    plan = {
        kind: (_tag(item.symbols, wire), f"{wire}:".encode(), rules.priority[wire], transform)
        for kind, (wire, transform) in wire_of.items()
    }

    def miss(kind: str, raw: Any) -> Entry:
        # ValueError, one of the fast path's FALLBACK_ERRORS: the slow path decides and says why.
        if raw.__class__ is not str or not item.low <= len(raw) <= item.high:
            raise ValueError("not a string within the identifier's limits")
        tag, prefix, rank, transform = plan[kind]
        try:
            value = transform(raw)
        except InvalidEventError:
            raise ValueError("refused identifier") from None  # the slow path says why, with its path
        data = value.encode()  # a lone surrogate: UnicodeEncodeError, and the slow path decides
        size = _LENGTHS[len(data)] if len(data) < _SMALL else zigzag_varint(len(data))
        entry = pack(tag + size + data, rank, prefix + data)
        cache = caches[kind]
        if len(cache) >= rules.cache_size:
            cache.clear()
        cache[raw] = entry
        return entry

    return caches, miss


def emit_identifiers(gen: Generator, avro: Any, core: Mapping[str, Any], expr: str, indent: int) -> list[str]:
    """Code for the identifiers field: one slot, and the variable ``key`` for the record's key.

    Every identifier is looked up by type and raw value: one dictionary lookup gives its bytes,
    its key rank and its key, whether it is hashed (the expensive part) or sent as it is.
    """
    item, rules = identifier_item(gen, avro, core), gen.rules
    caches, miss = cached_transform(item, rules, as_tuple)
    cached, fill = gen.const(caches), gen.const(miss)
    low, high = int(core.get("min_length", 0)), int(core.get("max_length", 2**63))
    slot, n = gen.var("s"), gen.var("n")
    for depth, line in [
        (0, f"if {expr}.__class__ is not list: raise _Fallback"),
        (0, f"{n} = len({expr})"),
        (0, f"if not ({low} <= {n} <= {high}): raise _Fallback"),
        (0, f"{slot} = {gen.length_of(n, b'')}"),
        (0, f"best = {len(rules.priority)}"),
        (0, "key = b''"),
        (0, f"for it in {expr}:"),
        (1, "if it.__class__ is not dict or len(it) != 2: raise _Fallback"),
        (1, "t = it['type']"),
        (1, "v = it['value']"),
        (1, f"h = {cached}[t].get(v) or {fill}(t, v)"),  # an unknown type: KeyError
        (1, f"{slot} += h[0]"),  # at most a few dozen: cheaper than a list and a join
        (1, "if h[1] < best: best = h[1]; key = h[2]"),
        (0, f"if {n}: {slot} += b'\\x00'"),
    ]:
        gen.emit(indent + depth, line)
    return [slot]
