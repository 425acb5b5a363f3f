"""The SDK's fast path, assembled: the generated one-pass function, checked against the slow path.

:mod:`producers.fused` generates the validating writer from the Avro schema and the pydantic
core schema; this module gives it the SDK's own rules (which identifier types are hashed, the
key priority, the topic of each channel) and the codec's framing, and hands it to
:class:`producers.prepare.EventPreparer` only after it wrote exactly what the slow path writes
for probe events, the sparsest and the fullest touchpoint and every kind of identifier.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from producers.fused import FALLBACK_ERRORS, RUNTIME, Fallback, FastPath, Generator, TextShape
from producers.fused_identifiers import IdentifierRules
from producers.inputs import CANONICAL_UUID_SHAPE, INPUT_CORE_SCHEMA, canonical_uuid
from producers.native_plan import compile_native_fast_path
from producers.pii import PiiHasher, normalise_email, normalise_hash, normalise_phone
from producers.routing import KEY_PRIORITY
from schemas.avro_writer import UnsupportedSchema, compile_writer
from schemas.codec import Codec
from schemas.errors import InvalidEventError, SchemaError
from schemas.models import TOUCHPOINT_AVRO_NAME, Touchpoint


def probe_records() -> list[dict[str, Any]]:
    """A sparse and a full touchpoint record: the generated writers must match the codec on both."""
    when = dt.datetime(2024, 5, 17, 9, 30, 15, 123000, tzinfo=dt.UTC)
    sparse: dict[str, Any] = {
        "event_id": uuid.UUID(int=1),
        "event_time": when,
        "channel": "web",
        "event_type": "page_view",
        "identifiers": [{"type": "cookie", "value": "c"}],
    }
    full = Touchpoint.model_validate(
        {
            "event_id": uuid.UUID(int=2**127 + 12345),
            "event_time": when,
            "channel": "store",
            "event_type": "reservation_picked_up",
            "identifiers": [
                {"type": "customer_id", "value": "C-1"},
                {"type": "hashed_email", "value": "f" * 64},
            ],
            "source": "pos-milano-3",
            "session_id": "s",
            "conversation_id": "conv",
            "case_id": "case",
            "context": {
                "store_id": "MI3",
                "agent_id": "a7",
                "campaign_id": "spring",
                "url": "https://x.test/p?q=1",
                "purchasable": True,
                "product_ids": ["sofa-green", "cushion"],
                "order_id": "o1",
                "reservation_id": "r1",
                "amount_cents": -129_900,
                "currency": "EUR",
                "summary": "ritiro è ok",
            },
            "consent": {"analytics": True, "marketing": False, "personalization": None},
            "attributes": {"k": "v", "é": "ü" * 200},
        }
    )
    return [sparse, full.to_avro()]


def framing_header(codec: Codec) -> bytes | None:
    """What ``codec`` writes before a touchpoint's Avro body (fingerprint or registry id), if plain."""
    parsed = codec.catalog.reader(TOUCHPOINT_AVRO_NAME).parsed
    probe = probe_records()[0]
    try:
        framed, body = codec.encode(TOUCHPOINT_AVRO_NAME, dict(probe)), compile_writer(parsed, b"")(probe)
    except (UnsupportedSchema, SchemaError, *FALLBACK_ERRORS):
        return None
    return framed[: len(framed) - len(body)] if framed.endswith(body) else None


def compile_fast_path(
    parsed: Mapping[str, Any],
    core: Mapping[str, Any],
    header: bytes,
    topics: Mapping[str, str],
    rules: IdentifierRules,
    shortcuts: Mapping[Callable[[Any], Any], TextShape] | None = None,
) -> FastPath:
    """``write(event) -> (topic, key, header + Avro body)`` for the fastavro-parsed ``parsed`` schema.

    ``core`` is the pydantic core schema validating the input (a typed dict); ``topics`` maps the
    ``channel`` field's values to topics; ``shortcuts`` spares calls to validator functions for
    text they would return unchanged. Raises :class:`UnsupportedSchema` for any construct of
    either schema not generated here.
    """
    gen = Generator(parsed.get("__named_schemas", {}), topics, rules, shortcuts or {})
    slots = gen.value(parsed, core, "r", 1)
    if not (gen.routed and gen.keyed):
        raise UnsupportedSchema(f"no top-level channel and {rules.field} fields")
    source = "\n".join(["def write(r):", *gen.lines])
    source += f"\n    return topic, key, b''.join((_header, {', '.join(slots)}))\n"
    namespace: dict[str, Any] = {**RUNTIME, "_header": header, **gen.consts}
    exec(compile(source, f"<fast path for {parsed.get('name', 'record')}>", "exec"), namespace)
    write: FastPath = namespace["write"]
    return write


def _probe_inputs() -> list[dict[str, Any]]:
    """Input events for the fast path to match the slow path on: sparse, full, PII of every kind."""
    sparse, full = probe_records()
    pii = {
        **sparse,
        "identifiers": [
            {"type": "cookie", "value": "c"},
            {"type": "email", "value": " Anna.Rossi@Example.COM"},
            {"type": "phone", "value": "+39 333 123 4567"},
            {"type": "hashed_phone", "value": "A" * 64},
            {"type": "customer_id", "value": "C-è"},
        ],
        "session_id": None,
        "consent": None,
        "context": {},
        "attributes": {},
    }
    return [sparse, full, pii]


def build_fast_path(
    codec: Codec,
    hasher: PiiHasher,
    topics: Mapping[str, str],
    slow: Callable[[Any], tuple[str, bytes, bytes]],
    header: bytes | None = None,
    cache_size: int = 65_536,
    native: bool = True,
) -> FastPath | None:
    """The one-pass validating writer (:mod:`producers.fused`), if it matches ``slow`` on probe events.

    None when the framing is not a plain prefix, a construct of either schema is not generated,
    or the generated function disagrees with the slow path on any probe event. ``header`` is
    the codec's framing if already known; ``cache_size`` bounds each identifier type's cache.
    With ``native``, the C writer (:mod:`producers.native_plan`) is preferred when it is built
    and matches the slow path on the same probes.
    """
    header = header if header is not None else framing_header(codec)
    if header is None:
        return None
    rules = IdentifierRules(
        field="identifiers",
        transforms={
            "email": ("hashed_email", lambda raw: hasher.hmac_hex(normalise_email(raw))),
            "phone": (
                "hashed_phone",
                lambda raw: hasher.hmac_hex(normalise_phone(raw, hasher.default_country_code)),
            ),
            "hashed_email": ("hashed_email", normalise_hash),
            "hashed_phone": ("hashed_phone", normalise_hash),
        },
        priority=KEY_PRIORITY,
        cache_size=cache_size,
    )
    parsed = codec.catalog.reader(TOUCHPOINT_AVRO_NAME).parsed
    shortcuts: dict[Callable[[Any], Any], TextShape] = {canonical_uuid: CANONICAL_UUID_SHAPE}
    fast = _matching(
        lambda: compile_fast_path(parsed, INPUT_CORE_SCHEMA, header, topics, rules, shortcuts), slow
    )
    if fast is None or not native:
        return fast
    in_c = _matching(
        lambda: compile_native_fast_path(parsed, INPUT_CORE_SCHEMA, header, topics, rules, shortcuts), slow
    )
    return in_c or fast


def _matching(
    build: Callable[[], FastPath], slow: Callable[[Any], tuple[str, bytes, bytes]]
) -> FastPath | None:
    """The writer ``build`` gives, if it could be built and writes what ``slow`` writes on the probes."""
    try:
        fast = build()
        if any(fast(event) != slow(event) for event in _probe_inputs()):
            return None
    except (UnsupportedSchema, InvalidEventError, SchemaError, *FALLBACK_ERRORS):
        return None
    return fast


def always_slow(event: Any) -> tuple[str, bytes, bytes]:
    """The fast path when none could be built: it vouches for nothing, so the slow path does it all."""
    raise Fallback
