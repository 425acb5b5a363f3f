"""The green velvet sofa story (domain article 003) and its three broken variants."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from producers.simulator import GroundTruth, SimulatedEvent, simulate

Story = tuple[list[dict[str, Any]], GroundTruth, dict[str, SimulatedEvent]]
GIULIA_PHONE = "+393331234567"


@pytest.fixture(scope="module")
def story() -> Story:
    sim = simulate(50, 3, seed=99)
    events = list(sim)
    return [e.payload for e in events if e.valid], sim.ground_truth, {e.event_id: e for e in events}


def journey_events(story: Story, person_id: str) -> list[dict[str, Any]]:
    _, truth, by_id = story
    (journey,) = truth.journeys_of(person_id)
    return [by_id[e].payload for e in journey.event_ids]


def steps(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["channel"], e["event_type"]) for e in events]


def in_order(seq: list[tuple[str, str]], wanted: list[tuple[str, str]]) -> bool:
    """``wanted`` occurs in ``seq`` as a subsequence."""
    it = iter(seq)
    return all(step in it for step in wanted)


def person_by(truth: GroundTruth, kind: str, value: str) -> str:
    return truth.identifier_person()[(kind, value)]


def test_giulia_can_be_looked_up_by_her_phone_and_loyalty_card(story: Story) -> None:
    _, truth, _ = story
    assert person_by(truth, "phone", GIULIA_PHONE) == "P-SOFA-GIULIA"
    assert person_by(truth, "loyalty_id", "LOY-00003001") == "P-SOFA-GIULIA"
    assert truth.person("P-SOFA-GIULIA").scenario == "sofa"


def test_the_sofa_story_runs_from_search_to_pickup(story: Story) -> None:
    _, truth, by_id = story
    person = person_by(truth, "phone", GIULIA_PHONE)
    events = journey_events(story, person)
    assert in_order(
        steps(events),
        [
            ("ads", "ad_impression"),
            ("ads", "ad_click"),
            ("web", "page_view"),
            ("social", "ad_impression"),
            ("social", "ad_click"),
            ("web", "page_view"),
            ("web", "product_view"),
            ("chat", "chat_started"),
            ("chat", "stock_check"),
            ("chat", "reservation_created"),
            ("chat", "chat_ended"),
            ("store", "store_visit"),
            ("store", "reservation_picked_up"),
            ("pos", "purchase"),
        ],
    )
    # The first search is for the green velvet sofa; retargeting goes on for days.
    assert "verde" in events[0]["attributes"]["query"]
    retargeting_days = {e["event_time"].date() for e in events if steps([e]) == [("social", "ad_impression")]}
    assert len(retargeting_days) >= 3
    # On the shop only blue is in stock; the chat agent finds a green one in a store of her city.
    shop_views = [e for e in events if e["event_type"] == "product_view"]
    assert shop_views[-1]["context"]["product_ids"] == ["SOFA-VELVET-BLUE"]
    (check,) = [e for e in events if e["event_type"] == "stock_check"]
    assert check["attributes"]["result"] == "available"
    assert check["context"]["product_ids"] == ["SOFA-VELVET-GREEN"]
    (created,) = [e for e in events if e["event_type"] == "reservation_created"]
    (picked,) = [e for e in events if e["event_type"] == "reservation_picked_up"]
    (bought,) = [e for e in events if e["event_type"] == "purchase"]
    reservation = created["context"]["reservation_id"]
    assert picked["context"]["reservation_id"] == reservation
    assert bought["context"]["reservation_id"] == reservation
    assert created["context"]["store_id"] == picked["context"]["store_id"] == bought["context"]["store_id"]
    assert picked["event_time"] - created["event_time"] >= dt.timedelta(days=2)
    assert "phone" in {i["type"] for i in created["identifiers"]}
    assert bought["context"]["currency"] == "EUR"
    assert bought["context"]["amount_cents"] > 0
    # The chat conversation is one thread with an agent.
    chat = [e for e in events if e["channel"] == "chat"]
    assert len({e["conversation_id"] for e in chat}) == 1
    assert all(e["context"]["agent_id"] for e in chat)
    (journey,) = truth.journeys_of(person)
    assert journey.outcome == "pickup"
    assert not [h for h in truth.handoffs if h.person_id == person]
    assert len({by_id[e].payload["channel"] for e in journey.event_ids}) >= 6


def test_variant_a_the_ad_lands_where_nothing_can_be_bought(story: Story) -> None:
    _, truth, _ = story
    events = journey_events(story, "P-SOFA-MARTA")
    assert in_order(
        steps(events), [("social", "ad_impression"), ("social", "ad_click"), ("social", "page_view")]
    )
    click, landing = events[-2], events[-1]
    assert landing["context"]["purchasable"] is False
    assert landing["context"]["campaign_id"] == click["context"]["campaign_id"]
    assert not {"purchase", "reservation_created", "cart_add"} & {e["event_type"] for e in events}
    (handoff,) = [h for h in truth.handoffs if h.person_id == "P-SOFA-MARTA"]
    assert handoff.kind == "unpurchasable_landing"
    assert handoff.event_ids == (click["event_id"], landing["event_id"])
    assert handoff.campaign_id == click["context"]["campaign_id"]
    assert truth.journeys_of("P-SOFA-MARTA")[0].outcome == "abandoned"


def test_variant_b_the_chat_agent_cannot_see_stock(story: Story) -> None:
    _, truth, _ = story
    events = journey_events(story, "P-SOFA-LUCA")
    assert in_order(
        steps(events),
        [
            ("web", "product_view"),
            ("chat", "chat_started"),
            ("chat", "stock_check"),
            ("chat", "chat_ended"),
            ("store", "store_visit"),
            ("store", "stock_check"),
        ],
    )
    checks = [e for e in events if e["event_type"] == "stock_check"]
    assert [c["attributes"]["result"] for c in checks] == ["unknown", "unavailable"]
    assert not {"reservation_created", "reservation_picked_up", "purchase"} & {
        e["event_type"] for e in events
    }
    (handoff,) = [h for h in truth.handoffs if h.person_id == "P-SOFA-LUCA"]
    assert handoff.kind == "stock_blind_chat"
    visit = next(e for e in events if e["event_type"] == "store_visit")
    assert handoff.store_id == visit["context"]["store_id"]
    assert handoff.event_ids[0] == checks[0]["event_id"]


def test_variant_c_the_reservation_is_lost_between_chat_and_store(story: Story) -> None:
    payloads, truth, _ = story
    events = journey_events(story, "P-SOFA-SARA")
    assert in_order(
        steps(events),
        [("chat", "reservation_created"), ("store", "store_visit"), ("store", "reservation_expired")],
    )
    (created,) = [e for e in events if e["event_type"] == "reservation_created"]
    reservation = created["context"]["reservation_id"]
    assert not [
        p
        for p in payloads
        if p["event_type"] == "reservation_picked_up" and p["context"].get("reservation_id") == reservation
    ]
    (expired,) = [e for e in events if e["event_type"] == "reservation_expired"]
    assert expired["context"]["reservation_id"] == reservation
    visit = next(e for e in events if e["event_type"] == "store_visit")
    assert created["event_time"] < visit["event_time"] < expired["event_time"]
    assert visit["context"]["store_id"] == created["context"]["store_id"]
    (handoff,) = [h for h in truth.handoffs if h.person_id == "P-SOFA-SARA"]
    assert handoff.kind == "reservation_lost"
    assert handoff.reservation_id == reservation
    assert handoff.store_id == created["context"]["store_id"]


def scenario_payloads(seed: int, customers: int) -> list[dict[str, Any]]:
    sim = simulate(customers, 2, seed=seed)
    truth = sim.ground_truth
    ids = {e for j in truth.journeys if j.person_id.startswith("P-SOFA-") for e in j.event_ids}
    return [e.payload for e in sim if e.event_id in ids]


def test_scenarios_are_the_same_whatever_the_seed() -> None:
    first = scenario_payloads(seed=1, customers=20)
    assert len(first) > 50
    assert first == scenario_payloads(seed=2, customers=70)


def test_scenarios_can_be_turned_off() -> None:
    sim = simulate(20, 2, seed=1, scenarios=False)
    truth = sim.ground_truth
    assert truth.scenarios == ()
    assert not [p for p in truth.persons if p.person_id.startswith("P-SOFA-")]
    carried = {i["value"] for e in sim for i in e.payload["identifiers"]}
    assert carried
    assert "LOY-00003001" not in carried
