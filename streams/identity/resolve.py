"""Turning a raw touchpoint message into a resolved touchpoint, or a reason to dead-letter it.

Plain Python, no Faust: the agent only moves bytes in and out.

This first version assigns each touchpoint the person of its main identifier (a deterministic id
derived from it); the distributed union-find that stitches identifiers into one person across
channels replaces :func:`provisional_person_id` (issue: identity stitching stream).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from schemas.codec import Codec
from schemas.errors import InvalidEventError
from schemas.models import IdentifierType, Touchpoint
from streams.identity.touchpoints import TOUCHPOINT_NAME, validate

# Stronger identifiers first: they name the person when several are present.
PRIORITY: tuple[IdentifierType, ...] = (
    IdentifierType.CUSTOMER_ID,
    IdentifierType.CRM_ID,
    IdentifierType.LOYALTY_ID,
    IdentifierType.HASHED_EMAIL,
    IdentifierType.HASHED_PHONE,
    IdentifierType.DEVICE,
    IdentifierType.COOKIE,
    IdentifierType.AD_ID,
    IdentifierType.OTHER,
)
_RANK = {t: i for i, t in enumerate(PRIORITY)}
JUNK_VALUES = frozenset({"", "null", "none", "undefined", "anonymous", "unknown", "nan", "0", "-"})


@dataclass(frozen=True)
class Resolved:
    person_id: str
    record: dict[str, Any]  # a ResolvedTouchpoint record, ready to encode


def usable_identifiers(touchpoint: Touchpoint) -> list[tuple[IdentifierType, str]]:
    """Identifiers that may identify someone: junk placeholders and all-zero ids are dropped."""
    usable = []
    for ident in touchpoint.identifiers:
        value = ident.value.strip()
        if value.lower() in JUNK_VALUES or set(value) <= {"0", "-", ":"}:
            continue
        usable.append((ident.type, value))
    return usable


def provisional_person_id(identifiers: list[tuple[IdentifierType, str]]) -> str:
    """Deterministic person id from the strongest identifier."""
    kind, value = min(identifiers, key=lambda pair: (_RANK[pair[0]], pair[1]))
    return "p-" + hashlib.sha256(f"{kind.value}:{value}".encode()).hexdigest()[:20]


def _checked(codec: Codec, value: bytes | None) -> tuple[Touchpoint, list[tuple[IdentifierType, str]]]:
    decoded = codec.decode(value)
    if decoded.name != TOUCHPOINT_NAME:
        raise InvalidEventError(f"expected {TOUCHPOINT_NAME}, got {decoded.name}", field="schema")
    touchpoint = validate(decoded.record)
    identifiers = usable_identifiers(touchpoint)
    if not identifiers:
        raise InvalidEventError("no usable identifier (all empty or placeholders)", field="identifiers")
    return touchpoint, identifiers


def identify(codec: Codec, value: bytes | None) -> tuple[str, list[tuple[IdentifierType, str]]]:
    """Decode and validate a touchpoint: its person and usable identifiers (the record itself is
    not rebuilt: the stage splices the bytes it read). Raises an OmnijourneyError to dead-letter."""
    _, identifiers = _checked(codec, value)
    return provisional_person_id(identifiers), identifiers


def resolve(codec: Codec, value: bytes | None, topic: str, partition: int, offset: int) -> Resolved:
    """Decode, validate and resolve one message. Raises an OmnijourneyError subclass to dead-letter."""
    touchpoint, identifiers = _checked(codec, value)
    person_id = provisional_person_id(identifiers)
    record = {
        "person_id": person_id,
        "resolved_at": dt.datetime.now(dt.UTC),
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "touchpoint": touchpoint.to_avro(),
    }
    return Resolved(person_id, record)
