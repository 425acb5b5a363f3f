"""Identity stage v0: decoding, validation errors naming the field, junk identifiers, priority."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from schemas.codec import Codec
from schemas.errors import DecodeError, InvalidEventError
from sinks.suppressions import SuppressionList
from streams.identity.resolve import identify, resolve
from streams.identity.strongest_agent import names_suppressed

CODEC = Codec()


def touchpoint(identifiers: list[dict[str, str]], **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_time": dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC),
        "channel": "chat",
        "event_type": "chat_started",
        "identifiers": identifiers,
        "context": {},
    }
    record.update(overrides)
    return record


def encode(record: dict[str, Any]) -> bytes:
    return CODEC.encode("io.omnijourney.Touchpoint", record)


def test_strongest_identifier_names_the_person_whatever_the_order() -> None:
    ids = [{"type": "cookie", "value": "ck1"}, {"type": "customer_id", "value": "C-7"}]
    a = resolve(CODEC, encode(touchpoint(ids)), "t", 0, 1)
    b = resolve(CODEC, encode(touchpoint(list(reversed(ids)))), "t", 0, 2)
    c = resolve(CODEC, encode(touchpoint([{"type": "customer_id", "value": "C-7"}])), "t", 0, 3)
    assert a.person_id == b.person_id == c.person_id
    assert a.record["source_offset"] == 1
    assert a.record["touchpoint"]["identifiers"] == ids


@pytest.mark.parametrize("junk", [" ", "null", "undefined", "anonymous", "0000000", "00:00:00"])
def test_only_junk_identifiers_is_invalid(junk: str) -> None:
    record = touchpoint([{"type": "device", "value": junk}])
    with pytest.raises(InvalidEventError) as info:
        resolve(CODEC, encode(record), "t", 0, 0)
    assert info.value.field == "identifiers"


def test_junk_beside_a_real_identifier_is_ignored() -> None:
    with_junk = touchpoint([{"type": "customer_id", "value": "null"}, {"type": "cookie", "value": "ck9"}])
    alone = touchpoint([{"type": "cookie", "value": "ck9"}])
    assert (
        resolve(CODEC, encode(with_junk), "t", 0, 0).person_id
        == resolve(CODEC, encode(alone), "t", 0, 1).person_id
    )


@pytest.mark.parametrize(
    ("identifiers", "field"),
    [([], "identifiers"), ([{"type": "cookie", "value": ""}], "identifiers.0.value")],
)
def test_invalid_field_is_named(identifiers: list[dict[str, str]], field: str) -> None:
    with pytest.raises(InvalidEventError) as info:
        resolve(CODEC, encode(touchpoint(identifiers)), "t", 0, 0)
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
        resolve(CODEC, dead, "t", 0, 0)


def test_garbage_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        resolve(CODEC, b"\xc3\x01" + b"\x00" * 8 + b"junk", "t", 0, 0)


def test_the_strongest_stage_drops_what_names_an_erased_identifier_or_person() -> None:
    ids = [{"type": "cookie", "value": "ck1"}, {"type": "hashed_email", "value": "AbC"}]
    person_id, identifiers = identify(CODEC, encode(touchpoint(ids)))
    assert person_id == resolve(CODEC, encode(touchpoint(ids)), "t", 0, 1).person_id
    suppressions = SuppressionList()
    assert not names_suppressed(suppressions, person_id, identifiers)
    suppressions.add_keys(["cookie:other"], ["p-someone-else"])
    assert not names_suppressed(suppressions, person_id, identifiers)
    suppressions.add_keys(["hashed_email:abc"], [])  # keys are normalised as the sink and stitcher do
    assert names_suppressed(suppressions, person_id, identifiers)
    by_person = SuppressionList()
    by_person.add_keys([], [person_id])
    assert names_suppressed(by_person, person_id, identifiers)
