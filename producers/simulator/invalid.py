"""Invalid events: what careless producers and broken networks put in front of the pipeline.

Each invalid event is derived from a valid one (same channel, similar shape, a fresh event id) and
is *extra*: it belongs to no journey, so ground-truth journeys stay intact. Two families:

- payloads the SDK must refuse (``SDK_INVALID_KINDS``): no identifiers, a naive or unparseable
  event time, an unknown event type, an e-mail that is not an address, an event id that is not a
  UUID. They are sent through the SDK, which must raise ``InvalidEventError`` and send nothing.
- wire poison (``WIRE_INVALID_KINDS``): bytes put on the topic without the SDK: random bytes, a
  real Avro single-object record cut short, and a single-object header with an unknown schema
  fingerprint. Consumers must dead-letter them, never crash or drop them silently.
"""

from __future__ import annotations

import hashlib
from functools import cache
from random import Random
from typing import Any, Final

from producers.simulator.events import SDK_INVALID_KINDS, WIRE_INVALID_KINDS, uuid4
from schemas.codec import HEADER_LEN, SINGLE_OBJECT_MAGIC, Codec
from schemas.models import TOUCHPOINT_AVRO_NAME, Touchpoint

WIRE_SHARE: Final = 0.3  # of invalid events, the share that is wire poison rather than SDK-refused


@cache
def _codec() -> Codec:
    """Loaded only when a truncated record is first needed: most runs produce few of them."""
    return Codec()


def derive_invalid(valid: dict[str, Any], rng: Random) -> tuple[str, dict[str, Any], bytes | None]:
    """An invalid sibling of ``valid``: (kind, payload, wire bytes or None)."""
    payload = dict(valid)
    payload["event_id"] = uuid4(rng)
    payload["identifiers"] = [dict(i) for i in valid["identifiers"]]
    payload["context"] = dict(valid["context"])
    payload["attributes"] = dict(valid["attributes"])
    if rng.random() < WIRE_SHARE:
        kind = WIRE_INVALID_KINDS[rng.randrange(len(WIRE_INVALID_KINDS))]
        return kind, payload, _wire(kind, payload, rng)
    kind = SDK_INVALID_KINDS[rng.randrange(len(SDK_INVALID_KINDS))]
    _break(kind, payload, rng)
    return kind, payload, None


def _break(kind: str, payload: dict[str, Any], rng: Random) -> None:
    when = payload["event_time"]
    if kind == "missing_identifiers":
        payload["identifiers"] = []
    elif kind == "naive_event_time":
        payload["event_time"] = when.replace(tzinfo=None)
    elif kind == "garbled_event_time":
        payload["event_time"] = rng.choice(
            (when.strftime("%d/%m/%Y %H.%M"), "2026-13-45T99:99:99Z", "ieri sera")
        )
    elif kind == "unknown_event_type":
        payload["event_type"] = rng.choice(("pageview", "Purchase!", "click_ad", ""))
    elif kind == "bad_email":
        local = rng.choice(("giulia.rossi", "m.bianchi", "info"))
        payload["identifiers"] = [
            {"type": "email", "value": rng.choice((f"{local}.example.it", f"{local}@", "n/a"))}
        ]
    elif kind == "bad_event_id":
        payload["event_id"] = rng.choice(("not-a-uuid-", "evt_", "12345-")) + payload["event_id"][:8]
    else:  # pragma: no cover - the kinds are a closed tuple
        raise ValueError(kind)


def _wire(kind: str, payload: dict[str, Any], rng: Random) -> bytes:
    if kind == "random_bytes":
        return rng.randbytes(rng.randrange(1, 200))
    if kind == "unknown_fingerprint":
        return SINGLE_OBJECT_MAGIC + rng.randbytes(8) + rng.randbytes(rng.randrange(10, 120))
    encoded = _codec().encode(TOUCHPOINT_AVRO_NAME, _as_valid_touchpoint(payload).to_avro())
    return encoded[: rng.randrange(HEADER_LEN, len(encoded))]


def _as_valid_touchpoint(payload: dict[str, Any]) -> Touchpoint:
    """The payload as the SDK would have sent it (raw PII replaced by stand-in hashes)."""
    ids = []
    for i in payload["identifiers"]:
        kind = {"email": "hashed_email", "phone": "hashed_phone"}.get(i["type"], i["type"])
        value = hashlib.sha256(i["value"].encode()).hexdigest() if kind != i["type"] else i["value"]
        ids.append({"type": kind, "value": value})
    return Touchpoint.model_validate({**payload, "identifiers": ids})
