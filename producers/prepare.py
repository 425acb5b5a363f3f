"""From a channel's event to (topic, key, Avro bytes): validation, PII hashing, routing, encoding.

Two paths give the same result. The slow path is the authority: pydantic validation into a fresh
dict, hashing in place, then the generated Avro writer (or the codec). The fast path
(:mod:`producers.fast_path`) does all of it in one generated pass over the caller's dict, for the
plain input it can vouch for, and declines everything else, which then takes the slow path: errors
are always the slow path's own.

Everything here is pure and needs no broker, so it is what the unit tests exercise and what the
benchmark uses to pre-encode the baseline's records. :class:`producers.sdk.TouchpointProducer`
adds only the Kafka side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from pydantic import ValidationError

from producers.config import ProducerConfig
from producers.fast_path import always_slow, build_fast_path, framing_header, probe_records
from producers.fused import FALLBACK_ERRORS, FastPath
from producers.inputs import invalid_event, validate_raw
from producers.pii import PiiHasher, normalise_hash
from producers.routing import KEY_PRIORITY, channel_topics
from schemas.avro_writer import UnsupportedSchema, Writer, compile_writer
from schemas.codec import WRITER_ERRORS, Codec
from schemas.errors import InvalidEventError, SchemaError
from schemas.models import TOUCHPOINT_AVRO_NAME, Touchpoint

_HASHED = ("hashed_email", "hashed_phone")
_NO_KEY_RANK = len(KEY_PRIORITY)


class Prepared(NamedTuple):
    """A record ready for ``produce()``."""

    topic: str
    key: bytes
    value: bytes


def hash_identifiers(identifiers: list[dict[str, Any]], hasher: PiiHasher) -> bytes:
    """Hash raw emails/phones in place, check given hashes, return the key of the strongest one.

    ``identifiers`` is the freshly validated list (plain strings, owned by the SDK). Errors name
    the identifier's field, e.g. ``identifiers.2.value``, and never quote the value.
    """
    best_rank = _NO_KEY_RANK
    key = ""
    index = 0
    try:
        for ident in identifiers:
            kind = ident["type"]
            if kind == "email":
                kind = ident["type"] = "hashed_email"
                ident["value"] = hasher.email(ident["value"])
            elif kind == "phone":
                kind = ident["type"] = "hashed_phone"
                ident["value"] = hasher.phone(ident["value"])
            elif kind in _HASHED:
                ident["value"] = normalise_hash(ident["value"])
            rank = KEY_PRIORITY[kind]
            if rank < best_rank:
                best_rank = rank
                key = f"{kind}:{ident['value']}"
            index += 1
    except InvalidEventError as exc:
        path = f"identifiers.{index}.value"
        raise InvalidEventError(f"{path}: {exc.message}", field=path) from None
    return key.encode()


def build_encoder(codec: Codec, header: bytes | None = None) -> Callable[[Mapping[str, Any]], bytes]:
    """The fastest encoder that writes exactly what ``codec`` writes for touchpoints.

    The framing header (single-object fingerprint, or Confluent magic and registry id) is
    whatever the codec puts before the Avro body of a probe record. The generated writer is used
    only if it then reproduces the codec's bytes on every probe record (so an unexpected framing
    or an unsupported schema construct falls back to the codec), and any record it cannot write
    goes through the codec, which then raises its precise error.
    """

    def slow(record: Mapping[str, Any]) -> bytes:
        return codec.encode(TOUCHPOINT_AVRO_NAME, dict(record))

    parsed = codec.catalog.reader(TOUCHPOINT_AVRO_NAME).parsed
    probes = probe_records()
    header = header if header is not None else framing_header(codec)
    if header is None:
        return slow
    try:
        fast: Writer = compile_writer(parsed, header)
        if any(fast(r) != slow(r) for r in probes):
            return slow
    except (UnsupportedSchema, SchemaError, *WRITER_ERRORS):
        return slow

    def encode(record: Mapping[str, Any]) -> bytes:
        try:
            return fast(record)
        except WRITER_ERRORS:
            return slow(record)

    return encode


class EventPreparer:
    """Turns SDK input (dict or :class:`Touchpoint`) into :class:`Prepared` records."""

    def __init__(self, config: ProducerConfig, codec: Codec | None = None) -> None:
        self.codec = codec or Codec()
        self.hasher = PiiHasher(config.pii_key, config.default_country_code)
        self.topics = channel_topics(config.topic_prefix)
        header = framing_header(self.codec)  # with a registry, asking it once
        self.encode = build_encoder(self.codec, header)
        # ``fast(event)`` either returns what ``slow(event)`` would, or raises one of
        # FALLBACK_ERRORS for input it does not vouch for (then ``slow`` decides).
        self.fast: FastPath = (
            build_fast_path(
                self.codec, self.hasher, self.topics, self.slow, header, native=config.native_writer
            )
            or always_slow
        )

    def parts(self, event: Touchpoint | Mapping[str, Any]) -> tuple[str, bytes, bytes]:
        """Topic, key and encoded value of one event, by the fast path when it vouches for it."""
        try:
            return self.fast(event)
        except FALLBACK_ERRORS:
            return self.slow(event)

    def slow(self, event: Touchpoint | Mapping[str, Any]) -> tuple[str, bytes, bytes]:
        """:meth:`parts` by the authoritative path: pydantic validation, hashing, then encoding."""
        record, key = self.record(event)
        return self.topics[record["channel"]], key, self.encode(record)

    def record(self, event: Touchpoint | Mapping[str, Any]) -> tuple[dict[str, Any], bytes]:
        """The Avro-ready record (PII hashed) and its key; raises :class:`InvalidEventError`."""
        if isinstance(event, Touchpoint):
            # Already validated: only dumped, and its hashed identifiers checked for raw PII.
            record = event.model_dump()
            record["channel"] = event.channel.value  # plain values, as validation gives them
            record["event_type"] = event.event_type.value
            record["identifiers"] = [{"type": i.type.value, "value": i.value} for i in event.identifiers]
        else:
            try:
                record = validate_raw(event)
            except ValidationError as exc:
                raise invalid_event(exc) from None  # never chained: pydantic's text quotes values
        key = hash_identifiers(record["identifiers"], self.hasher)
        return record, key

    def prepare(self, event: Touchpoint | Mapping[str, Any]) -> Prepared:
        """Topic, key and encoded value of one event; nothing is sent."""
        return Prepared(*self.parts(event))

    def touchpoint(self, event: Touchpoint | Mapping[str, Any]) -> Touchpoint:
        """The :class:`Touchpoint` the wire will carry for ``event`` (hashed, UTC, milliseconds).

        The slow, model-building path: for tests, tools and simulators' ground truth, not ``send``.
        """
        return Touchpoint.model_validate(self.record(event)[0])
