"""The green-velvet-sofa story and its broken variants, fed as the simulator emits them (arrival order).

Each variant must leave the continuity card a store clerk or agent would need, and raise exactly the
alert its ground truth records (kind and defining id through ``HANDOFF_ALERT_KINDS``); the happy
story must raise none. Expected values come from the scenario definitions and the ground truth, not
from this implementation's output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from producers.simulator import SCENARIO_BY_NAME, GroundTruth
from producers.simulator.desk import RESERVATION_HOLD_DAYS
from producers.simulator.scenarios import RETARGET_TO_PAGE
from streams.journeys.alerts import HANDOFF_ALERT_KINDS
from streams.journeys.card import card
from streams.journeys.continuity import expire, fold, new_state
from streams.journeys.continuity_state import ContinuityState
from streams.journeys.touch import Touch
from tests.unit.journey_sim import simulated_touches

NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
_CACHE: dict[str, tuple[list[Touch], GroundTruth]] = {}
DEFINING_FIELD = {r.alert_kind.value: r.defining_field for r in HANDOFF_ALERT_KINDS.values()}


def scenario_touches(name: str) -> tuple[list[Touch], GroundTruth]:
    """The scenario person's touches in arrival order (scenarios only: no population needed)."""
    if "all" not in _CACHE:
        _CACHE["all"] = simulated_touches(customers=0, days=1, seed=11)
    touches, truth = _CACHE["all"]
    person = SCENARIO_BY_NAME[name].person().person_id
    return [t for t in touches if t.person_id == person], truth


def run(touches: list[Touch]) -> tuple[ContinuityState, list[dict[str, Any]]]:
    state = new_state(touches[0].person_id)
    alerts: list[dict[str, Any]] = []
    for t in touches:
        alerts += fold(state, t, NOW)
    return state, alerts


def finish(state: ContinuityState, touches: list[Touch]) -> list[dict[str, Any]]:
    """Let event time run well past the story (every hold ends)."""
    end = max(t.event_time for t in touches) + dt.timedelta(days=RESERVATION_HOLD_DAYS + 1)
    return expire(state, end, NOW)


def until(touches: list[Touch], event_type: str, channel: str) -> Iterator[Touch]:
    for t in touches:
        if (t.event_type, t.channel) == (event_type, channel):
            return
        yield t


def one(touches: list[Touch], event_type: str, channel: str) -> Touch:
    (found,) = [t for t in touches if (t.event_type, t.channel) == (event_type, channel)]
    return found


def test_happy_story_card_before_pickup_and_no_alert_ever() -> None:
    touches, _ = scenario_touches("sofa")
    person = SCENARIO_BY_NAME["sofa"].person()
    state, alerts = run(list(until(touches, "store_visit", "store")))
    shown = card(state, None)
    created = one(touches, "reservation_created", "chat")
    ended = one(touches, "chat_ended", "chat")
    (reservation,) = shown["open_intents"]["reservations"]
    assert reservation["reservation_id"] == created.reservation_id
    assert reservation["store_id"] == person.store.store_id
    assert reservation["channel"] == "chat"
    hold = created.event_time + dt.timedelta(days=RESERVATION_HOLD_DAYS)
    assert reservation["expires_at"] == hold.isoformat(timespec="milliseconds")
    (conversation,) = shown["open_conversations"]
    assert conversation["conversation_ids"] == [ended.conversation_id]
    assert conversation["summary"] == ended.summary
    assert created.reservation_id is not None
    assert created.reservation_id in (ended.summary or "")
    assert conversation["reservation_ids"] == [created.reservation_id]
    assert shown["last_touchpoints"]["chat"]["event_id"] == ended.event_id
    assert ("loyalty_id", person.loyalty_id) not in {(i["type"], i["value"]) for i in shown["identifiers"]}
    assert ("cookie", person.cookies[0]) in {(i["type"], i["value"]) for i in shown["identifiers"]}
    # She comes to the store, picks the sofa up and pays: nothing broke, nothing stays open.
    state, alerts = run(touches)
    alerts += finish(state, touches)
    assert alerts == []
    shown = card(state, None)
    assert shown["open_intents"]["reservations"] == []
    assert shown["alerts"] == []
    (closed,) = shown["recent_conversations"]
    assert [c["channel"] for c in closed["channels"]] == ["chat", "store", "pos"]
    assert ("loyalty_id", person.loyalty_id) in {(i["type"], i["value"]) for i in shown["identifiers"]}


@pytest.mark.parametrize(
    "name", ["sofa", "sofa_unpurchasable_landing", "sofa_stock_blind", "sofa_reservation_lost"]
)
def test_each_variant_raises_exactly_the_alert_its_ground_truth_records(name: str) -> None:
    touches, truth = scenario_touches(name)
    person = touches[0].person_id
    state, alerts = run(touches)
    alerts += finish(state, touches)
    expected = set()
    for h in truth.handoffs:
        if h.person_id == person:
            rule = HANDOFF_ALERT_KINDS[h.kind]
            expected.add((rule.alert_kind.value, getattr(h, rule.defining_field)))
    assert len(expected) == (0 if name == "sofa" else 1)
    on_card = card(state, None)["alerts"]
    for shown in (alerts, on_card):
        assert {(a["kind"], a[DEFINING_FIELD[a["kind"]]]) for a in shown} == expected
    assert len(on_card) == len(expected), "upserts of one break are one alert on the card"


def test_marta_campaign_lands_where_nothing_can_be_bought() -> None:
    touches, truth = scenario_touches("sofa_unpurchasable_landing")
    state, _ = run(touches)
    (alert,) = card(state, None)["alerts"]
    (handoff,) = [h for h in truth.handoffs if h.person_id == touches[0].person_id]
    assert alert["kind"] == "campaign_landing_not_purchasable"
    assert alert["campaign_id"] == RETARGET_TO_PAGE.campaign_id
    assert alert["url"] == RETARGET_TO_PAGE.landing_url
    assert alert["evidence_event_ids"] == list(handoff.event_ids), "the click and its landing"
    shown = card(state, None)
    assert shown["open_intents"]["reservations"] == []
    assert shown["open_conversations"] == []


def test_luca_store_visit_after_a_chat_that_could_not_see_stock() -> None:
    touches, truth = scenario_touches("sofa_stock_blind")
    person = SCENARIO_BY_NAME["sofa_stock_blind"].person()
    state, _ = run(touches)
    shown = card(state, None)
    (alert,) = shown["alerts"]
    (handoff,) = [h for h in truth.handoffs if h.person_id == person.person_id]
    assert alert["kind"] == "chat_cannot_see_stock"
    assert alert["store_id"] == person.store.store_id == handoff.store_id
    assert (alert["channel"], alert["previous_channel"]) == ("store", "chat")
    assert alert["evidence_event_ids"] == list(handoff.event_ids)
    ended = one(touches, "chat_ended", "chat")
    (conversation,) = shown["open_conversations"]
    assert conversation["summary"] == ended.summary
    assert [c["channel"] for c in conversation["channels"]] == ["chat", "store"], (
        "the visit continues the chat"
    )
    assert alert["conversation_id"] == ended.conversation_id
    assert shown["open_intents"]["reservations"] == []


def test_sara_reservation_missing_at_the_store() -> None:
    touches, truth = scenario_touches("sofa_reservation_lost")
    person = SCENARIO_BY_NAME["sofa_reservation_lost"].person()
    (handoff,) = [h for h in truth.handoffs if h.person_id == person.person_id]
    before_expiry = list(until(touches, "reservation_expired", "store"))
    state, alerts = run(before_expiry)
    shown = card(state, None)
    (reservation,) = shown["open_intents"]["reservations"]
    assert reservation["reservation_id"] == handoff.reservation_id
    assert reservation["store_id"] == person.store.store_id
    assert reservation["missing_at_store"] is True
    (alert,) = alerts
    assert alert["kind"] == "reservation_missing_at_store"
    assert (alert["reservation_id"], alert["store_id"]) == (handoff.reservation_id, handoff.store_id)
    assert (alert["channel"], alert["previous_channel"]) == ("store", "chat")
    assert alert["evidence_event_ids"][:2] == list(handoff.event_ids[:2]), "the reservation, then the visit"
    (conversation,) = shown["open_conversations"]
    ended = one(touches, "chat_ended", "chat")
    assert conversation["summary"] == ended.summary
    assert [c["channel"] for c in conversation["channels"]] == ["chat", "store"]
    # The hold ends: the reservation closes without a second, "not picked up" alert for the same break.
    state, alerts = run(touches)
    alerts += finish(state, touches)
    assert {a["kind"] for a in alerts} == {"reservation_missing_at_store"}
    assert set(handoff.event_ids) <= set(alerts[-1]["evidence_event_ids"])
    assert card(state, None)["open_intents"]["reservations"] == []
