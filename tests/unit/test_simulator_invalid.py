"""Invalid events: their share, their kinds, and that each really is invalid where it should fail."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any

import pydantic
import pytest

from producers.simulator import SDK_INVALID_KINDS, WIRE_INVALID_KINDS, SimulatedEvent, simulate
from schemas.codec import SINGLE_OBJECT_MAGIC, Codec
from schemas.errors import DecodeError, InvalidEventError
from schemas.models import Touchpoint

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}")


@pytest.fixture(scope="module")
def noisy() -> list[SimulatedEvent]:
    return list(simulate(400, 10, seed=13, invalid_share=0.05))


def fake_hashed(payload: dict[str, Any]) -> dict[str, Any]:
    ids = []
    for ident in payload["identifiers"]:
        kind = {"email": "hashed_email", "phone": "hashed_phone"}.get(ident["type"], ident["type"])
        value = (
            hashlib.sha256(ident["value"].encode()).hexdigest() if kind != ident["type"] else ident["value"]
        )
        ids.append({"type": kind, "value": value})
    return {**payload, "identifiers": ids}


def test_invalid_share_is_about_as_configured(noisy: list[SimulatedEvent]) -> None:
    share = sum(not e.valid for e in noisy) / len(noisy)
    assert len(noisy) > 4_000
    assert 0.035 < share < 0.065


def test_default_invalid_share_is_small_but_present() -> None:
    events = list(simulate(800, 10, seed=17))
    share = sum(not e.valid for e in events) / len(events)
    assert len(events) > 8_000
    assert 0.002 < share < 0.008


def test_no_invalid_events_when_the_share_is_zero() -> None:
    assert all(e.valid for e in simulate(100, 5, seed=3, invalid_share=0.0))


def test_invalid_events_do_not_change_the_valid_ones() -> None:
    clean = list(simulate(100, 5, seed=3, invalid_share=0.0))
    noisy = [e for e in simulate(100, 5, seed=3, invalid_share=0.1) if e.valid]
    assert noisy == clean


def test_every_kind_of_both_stages_occurs(noisy: list[SimulatedEvent]) -> None:
    kinds = Counter(e.invalid_kind for e in noisy if not e.valid)
    assert set(kinds) == set(SDK_INVALID_KINDS) | set(WIRE_INVALID_KINDS)
    for event in noisy:
        if not event.valid:
            assert (event.wire is not None) == (event.invalid_kind in WIRE_INVALID_KINDS)


def test_sdk_invalid_payloads_are_refused_by_the_contract(noisy: list[SimulatedEvent]) -> None:
    refused = 0
    for event in noisy:
        if event.valid or event.wire is not None:
            continue
        if event.invalid_kind == "bad_email":
            (ident,) = event.payload["identifiers"]
            assert ident["type"] == "email"
            assert EMAIL.fullmatch(ident["value"].strip().lower()) is None
        else:
            with pytest.raises(pydantic.ValidationError):
                Touchpoint.model_validate(fake_hashed(event.payload))
        refused += 1
    assert refused > 50


def test_wire_poison_cannot_be_decoded(noisy: list[SimulatedEvent]) -> None:
    codec = Codec()
    poison = [e for e in noisy if e.wire is not None]
    assert len(poison) > 20
    for event in poison:
        assert event.wire is not None
        with pytest.raises(DecodeError):
            codec.decode(event.wire)
        if event.invalid_kind in ("truncated_avro", "unknown_fingerprint"):
            assert event.wire.startswith(SINGLE_OBJECT_MAGIC)


def test_raw_pii_hashes_to_the_truth_of_the_events_person() -> None:
    """Cross-check with the SDK's normaliser: every raw spelling meets its person's hashed identifier."""
    pii = pytest.importorskip("producers.pii")
    hasher = pii.PiiHasher(b"test-key", "39")
    sim = simulate(300, 7, seed=23, invalid_share=0.05)
    events = list(sim)
    truth = sim.ground_truth
    owner = truth.hashed(hasher.email, hasher.phone)
    person_of_event = truth.event_person()
    checked = 0
    for event in events:
        raw_ids = [i for i in event.payload["identifiers"] if i["type"] in ("email", "phone")]
        if event.valid:
            for ident in raw_ids:
                token = (
                    hasher.email(ident["value"]) if ident["type"] == "email" else hasher.phone(ident["value"])
                )
                assert owner[("hashed_" + ident["type"], token)] == person_of_event[event.event_id]
                checked += 1
        elif event.invalid_kind == "bad_email":
            with pytest.raises(InvalidEventError):
                hasher.email(raw_ids[0]["value"])
    assert checked > 500
