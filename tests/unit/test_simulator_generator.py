"""The load generator: determinism, coverage of channels, the SDK input contract, arrival order."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from producers.simulator import CHANNELS, SimulatedEvent, Simulation, simulate
from producers.simulator.generator import _Run
from schemas.models import Channel, EventType, Touchpoint

START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
Modest = tuple[Simulation, list[SimulatedEvent]]


@pytest.fixture(scope="module")
def modest() -> Modest:
    sim = simulate(300, 10, seed=11, invalid_share=0.02)
    return sim, list(sim)


def fake_hashed(payload: dict[str, Any]) -> dict[str, Any]:
    """What the SDK hands the model: raw email/phone replaced by 64-hex hashes (any hash will do)."""
    ids = []
    for ident in payload["identifiers"]:
        kind = {"email": "hashed_email", "phone": "hashed_phone"}.get(ident["type"])
        if kind is None:
            ids.append(ident)
        else:
            ids.append({"type": kind, "value": hashlib.sha256(ident["value"].encode()).hexdigest()})
    return {**payload, "identifiers": ids}


def test_same_seed_gives_identical_events_and_truth(tmp_path: Path) -> None:
    first, second = simulate(120, 5, seed=7), simulate(120, 5, seed=7)
    events_a, events_b = list(first), list(second)
    assert events_a == events_b
    assert [repr(e) for e in events_a] == [repr(e) for e in events_b]
    a, b = first.write_ground_truth(tmp_path / "a.json"), second.write_ground_truth(tmp_path / "b.json")
    assert a.read_bytes() == b.read_bytes()


def test_a_simulation_can_be_iterated_again_with_the_same_result() -> None:
    sim = simulate(50, 3, seed=3)
    assert list(sim) == list(sim)


def test_different_seed_gives_different_events() -> None:
    a = [e.event_id for e in simulate(120, 5, seed=1, scenarios=False)]
    b = [e.event_id for e in simulate(120, 5, seed=2, scenarios=False)]
    assert a
    assert b
    assert not set(a) & set(b)


def test_every_channel_appears_in_a_modest_population_run() -> None:
    counts = Counter(e.channel for e in simulate(300, 10, seed=5, scenarios=False) if e.valid)
    assert set(counts) == set(CHANNELS)
    assert set(CHANNELS) == {c.value for c in Channel} - {"other"}


def test_every_valid_payload_is_a_touchpoint_once_pii_is_hashed(
    modest: Modest,
) -> None:
    _, events = modest
    valid = [e for e in events if e.valid]
    assert len(valid) > 1_000
    for event in valid:
        payload = event.payload
        assert set(payload) == set(Touchpoint.model_fields)
        model = Touchpoint.model_validate(fake_hashed(payload))
        assert model.channel.value == event.channel
        assert payload["event_time"].tzinfo is not None
        assert payload["event_time"].utcoffset() == dt.timedelta(0)
        assert payload["event_time"].microsecond % 1000 == 0
        assert uuid.UUID(payload["event_id"]).version == 4
        assert event.wire is None
        assert event.invalid_kind is None


def test_event_ids_are_unique(modest: Modest) -> None:
    _, events = modest
    ids = [e.event_id for e in events]
    assert len(ids) == len(set(ids))


def test_raw_pii_spellings_vary(modest: Modest) -> None:
    _, events = modest
    emails = [i["value"] for e in events if e.valid for i in e.payload["identifiers"] if i["type"] == "email"]
    phones = [i["value"] for e in events if e.valid for i in e.payload["identifiers"] if i["type"] == "phone"]
    assert any(v != v.strip() for v in emails)
    assert any(v != v.lower() for v in emails)
    assert any(v == v.strip().lower() for v in emails)
    assert any(v.startswith("+39") for v in phones)
    assert any(v.startswith("0039") for v in phones)
    assert any(v[0] == "3" for v in phones)  # national form, no country code
    assert any(" " in v or "-" in v for v in phones)


def test_email_channel_events_carry_only_an_email(modest: Modest) -> None:
    _, events = modest
    email_events = [e for e in events if e.valid and e.channel == "email"]
    assert email_events
    assert {tuple(i["type"] for i in e.payload["identifiers"]) for e in email_events} == {("email",)}


def test_events_come_in_arrival_order_not_event_time_order(
    modest: Modest,
) -> None:
    _, events = modest
    arrivals = [e.arrival_ms for e in events]
    assert arrivals == sorted(arrivals)
    times = [e.payload["event_time"] for e in events if e.valid]
    assert times != sorted(times)
    for event in events:
        if event.valid:
            assert event.arrival_time >= event.payload["event_time"]


def test_batch_pos_records_arrive_about_an_hour_late(modest: Modest) -> None:
    _, events = modest
    pos = [e for e in events if e.valid and e.channel == "pos"]
    lateness = [e.arrival_time - e.payload["event_time"] for e in pos]
    late = [d for d in lateness if d >= dt.timedelta(minutes=30)]
    assert late, "some stores upload their tills in batches"
    assert all(dt.timedelta(minutes=60) <= d <= dt.timedelta(minutes=75) for d in late)
    # A late batch record is overtaken by events that happened after it.
    position = {e.event_id: n for n, e in enumerate(events)}
    overtaken = 0
    for e in pos:
        if e.arrival_time - e.payload["event_time"] >= dt.timedelta(minutes=60):
            before = events[max(0, position[e.event_id] - 50) : position[e.event_id]]
            overtaken += any(b.valid and b.payload["event_time"] > e.payload["event_time"] for b in before)
    assert overtaken > 0


def test_sessions_conversations_and_cases_are_present(modest: Modest) -> None:
    _, events = modest
    valid = [e.payload for e in events if e.valid]
    assert any(p["session_id"] for p in valid if p["channel"] == "web")
    assert any(p["session_id"] for p in valid if p["channel"] == "app")
    assert all(p["conversation_id"] for p in valid if p["channel"] == "chat")
    assert any(p["case_id"] for p in valid if p["channel"] in ("chat", "call_center"))
    types = {p["event_type"] for p in valid}
    for expected in (
        "login",
        "ad_click",
        "email_open",
        "cart_abandoned",
        "purchase",
        "reservation_picked_up",
        "return_requested",
        "consent_updated",
        "case_resolved",
        "stock_check",
    ):
        assert expected in types
    assert types <= {t.value for t in EventType}


def test_chat_continues_as_a_call_under_the_same_conversation_and_case() -> None:
    events = [e.payload for e in simulate(400, 14, seed=9, scenarios=False) if e.valid]
    chats = {(p["conversation_id"], p["case_id"]) for p in events if p["channel"] == "chat" and p["case_id"]}
    calls = [
        p for p in events if p["channel"] == "call_center" and (p["conversation_id"], p["case_id"]) in chats
    ]
    assert calls
    for call in calls:
        assert "phone" in {i["type"] for i in call["identifiers"]}


def test_purchases_carry_order_amount_and_currency(modest: Modest) -> None:
    _, events = modest
    purchases = [e.payload for e in events if e.valid and e.payload["event_type"] == "purchase"]
    assert {p["channel"] for p in purchases} >= {"web", "pos"}
    for p in purchases:
        assert p["context"]["order_id"]
        assert p["context"]["amount_cents"] > 0
        assert p["context"]["currency"] == "EUR"
    pos = [p for p in purchases if p["channel"] == "pos"]
    assert all(p["context"]["store_id"] for p in pos)


def test_generation_streams_with_a_bounded_number_of_events_in_flight() -> None:
    run = _Run(simulate(1_000, 20, seed=4).config)
    total = in_flight = 0
    for _ in run.events():
        total += 1
        in_flight = max(in_flight, len(run.heap))
    assert total > 20_000
    assert in_flight < total / 10


def test_start_is_honoured_and_must_be_aware() -> None:
    later = dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC)
    sim = simulate(30, 2, seed=1, start=later, scenarios=False)
    assert min(e.payload["event_time"] for e in sim if e.valid) >= later
    with pytest.raises(ValueError, match="aware"):
        simulate(1, 1, start=dt.datetime(2026, 10, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="invalid_share"):
        simulate(1, 1, invalid_share=1.0)


def test_default_start(modest: Modest) -> None:
    sim, events = modest
    assert sim.start == START
    assert min(e.payload["event_time"] for e in events if e.valid) >= START


def test_ads_carry_campaigns_and_mobile_ad_ids_link_to_the_landing_cookie(modest: Modest) -> None:
    _, events = modest
    ads = [e.payload for e in events if e.valid and e.channel == "ads"]
    assert all(p["context"]["campaign_id"] for p in ads)
    assert {"ad_impression", "ad_click"} <= {p["event_type"] for p in ads}
    mobile_clicks = [
        p for p in ads if p["event_type"] == "ad_click" and "ad_id" in {i["type"] for i in p["identifiers"]}
    ]
    assert mobile_clicks
    for click in mobile_clicks:
        assert "cookie" in {i["type"] for i in click["identifiers"]}
