"""Identity intake: what enters the stage, what is dead-lettered, and what leaves it."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any

import pytest

from schemas.codec import Codec
from schemas.errors import DecodeError, InvalidEventError
from streams.identity.protocol import Change, Resolution
from streams.identity.touchpoints import change_record, observe, resolved_record

CODEC = Codec()


def touchpoint(identifiers: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_time": dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC),
        "channel": "chat",
        "event_type": "chat_started",
        "identifiers": identifiers,
        "context": {},
    }


def encode(record: dict[str, Any]) -> bytes:
    return CODEC.encode("io.omnijourney.Touchpoint", record)


def test_walk_starts_at_the_strongest_identifier_whatever_the_order() -> None:
    ids = [{"type": "cookie", "value": "ck1"}, {"type": "customer_id", "value": "C-7"}]
    a = observe(CODEC, encode(touchpoint(ids)), "t", 0, 1)
    b = observe(CODEC, encode(touchpoint(list(reversed(ids)))), "t", 0, 2)
    assert a.key == b.key
    assert a.key.startswith("customer_id:")
    assert set(a.event.keys) == set(b.event.keys)
    assert a.event.time == int(dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC).timestamp() * 1000)


@pytest.mark.parametrize("junk", ["null", "undefined", "anonymous", "0000000"])
def test_only_junk_identifiers_is_invalid(junk: str) -> None:
    with pytest.raises(InvalidEventError) as info:
        observe(CODEC, encode(touchpoint([{"type": "device", "value": junk}])), "t", 0, 0)
    assert info.value.field == "identifiers"


@pytest.mark.parametrize(
    ("identifiers", "field"),
    [([], "identifiers"), ([{"type": "cookie", "value": ""}], "identifiers.0.value")],
)
def test_invalid_field_is_named(identifiers: list[dict[str, str]], field: str) -> None:
    with pytest.raises(InvalidEventError) as info:
        observe(CODEC, encode(touchpoint(identifiers)), "t", 0, 0)
    assert info.value.field == field
    assert field in info.value.message


def test_other_record_types_are_rejected() -> None:
    dead = CODEC.encode(
        "io.omnijourney.DeadLetter",
        {
            "failed_at": dt.datetime.now(dt.UTC),
            "stage": "x",
            "error_type": "E",
            "reason": "r",
            "source_topic": "t",
            "source_partition": 0,
            "source_offset": 0,
        },
    )
    with pytest.raises(InvalidEventError, match=r"expected io\.omnijourney\.Touchpoint"):
        observe(CODEC, dead, "t", 0, 0)


def test_garbage_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        observe(CODEC, b"\xc3\x01" + b"\x00" * 8 + b"junk", "t", 0, 0)


def test_resolved_record_carries_the_original_touchpoint_and_position() -> None:
    record = touchpoint([{"type": "loyalty_id", "value": "L1"}])
    start = observe(CODEC, encode(record), "touchpoints.store", 3, 42)
    out = resolved_record(CODEC, Resolution(start.event.event_id, start.event.time, "p-1", start.payload))
    assert (out["person_id"], out["source_topic"], out["source_partition"], out["source_offset"]) == (
        "p-1",
        "touchpoints.store",
        3,
        42,
    )
    assert str(out["touchpoint"]["event_id"]) == record["event_id"]
    assert base64.b64decode(start.payload["v"]) == encode(record)
    CODEC.encode("io.omnijourney.ResolvedTouchpoint", out)  # fits the schema


def test_change_record_fits_the_schema_and_splits_identifier_keys() -> None:
    change = Change(
        "merge",
        "p-b",
        str(uuid.uuid4()),
        1_790_000_000_000,
        ("hashed_email:ab:cd", "cookie:x"),
        survivor_person_id="p-a",
        rule="shared_identifier",
    )
    out = change_record(change)
    assert out["identifiers"] == [
        {"type": "hashed_email", "value": "ab:cd"},
        {"type": "cookie", "value": "x"},
    ]
    assert out["event_time"] == dt.datetime.fromtimestamp(1_790_000_000, dt.UTC)
    decoded = CODEC.decode(CODEC.encode("io.omnijourney.IdentityChange", out)).record
    assert decoded["survivor_person_id"] == "p-a"
    assert str(decoded["change_id"]) == str(change.change_id)
