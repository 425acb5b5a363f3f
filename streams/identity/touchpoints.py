"""Between touchpoint bytes and the identity protocol: what enters the stage and what leaves it.

The stage's messages are JSON, so a touchpoint travels through the hops as its original Avro bytes
(base64) with its source position; the resolved record is built from them once the person is known.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from pydantic import ValidationError

from schemas.codec import Codec
from schemas.errors import InvalidEventError
from schemas.models import Touchpoint
from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy
from streams.identity.hops import start
from streams.identity.protocol import Change, Observe, Resolution

TOUCHPOINT_NAME = "io.omnijourney.Touchpoint"
RESOLVED_NAME = "io.omnijourney.ResolvedTouchpoint"
CHANGE_NAME = "io.omnijourney.IdentityChange"


def validate(record: dict[str, Any]) -> Touchpoint:
    """The decoded record as a Touchpoint, or InvalidEventError naming the first bad field."""
    try:
        return Touchpoint.from_avro(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidEventError(f"{field}: {first['msg']}", field=field) from None


def observe(
    codec: Codec,
    value: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    policy: IdentityPolicy = DEFAULT_POLICY,
) -> Observe:
    """Decode and validate a touchpoint and start its walk; OmnijourneyError means dead-letter it."""
    size = len(value or b"")
    if size > policy.max_event_bytes:  # checked first: nothing is decoded or copied
        raise InvalidEventError(
            f"event of {size} bytes is larger than the {policy.max_event_bytes} bytes a touchpoint may have",
            field="size",
        )
    decoded = codec.decode(value)
    if decoded.name != TOUCHPOINT_NAME:
        raise InvalidEventError(f"expected {TOUCHPOINT_NAME}, got {decoded.name}", field="schema")
    touchpoint = validate(decoded.record)
    payload = {"v": base64.b64encode(value or b"").decode(), "t": topic, "p": partition, "o": offset}
    millis = int(touchpoint.event_time.timestamp() * 1000)
    identifiers = [(i.type.value, i.value) for i in touchpoint.identifiers]
    return start(str(touchpoint.event_id), millis, identifiers, payload, policy)


def resolved_record(codec: Codec, resolution: Resolution) -> dict[str, Any]:
    """The ResolvedTouchpoint record for a resolution (its payload is what :func:`observe` packed)."""
    payload = resolution.payload
    value = base64.b64decode(payload["v"])
    return resolved_record_of(codec, resolution.person_id, value, payload["t"], payload["p"], payload["o"])


def resolved_record_of(
    codec: Codec, person_id: str, value: bytes, topic: str, partition: int, offset: int
) -> dict[str, Any]:
    """The ResolvedTouchpoint record for a touchpoint's bytes as read and its person."""
    return {
        "person_id": person_id,
        "resolved_at": dt.datetime.now(dt.UTC),
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "touchpoint": codec.decode(value).record,
    }


def change_record(change: Change) -> dict[str, Any]:
    """The IdentityChange record (schemas/identity_change.avsc) for a change."""
    identifiers = []
    for key in change.identifiers:
        kind, _, value = key.partition(":")
        identifiers.append({"type": kind, "value": value})
    return {
        "change_id": str(change.change_id),
        "kind": change.kind,
        "person_id": change.person_id,
        "survivor_person_id": change.survivor_person_id,
        "related_person_ids": list(change.related_person_ids),
        "event_id": change.event_id,
        "identifiers": identifiers,
        "rule": change.rule,
        "reason": change.reason,
        "event_time": dt.datetime.fromtimestamp(change.time / 1000, dt.UTC),
        "changed_at": dt.datetime.now(dt.UTC),
    }
