"""Continuity state: conversations across channels, open intents, consent, serialisation, expiry, merges."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest

from streams.journeys.card import card
from streams.journeys.continuity import expire, fold, merge, new_state, next_deadline
from streams.journeys.continuity_config import ContinuityConfig
from streams.journeys.continuity_state import ContinuityState
from streams.journeys.touch import Touch
from tests.unit.test_journey_alerts import DAY, NOW, at, chat_contact, chat_reservation, ev, feed


def state_of(*touches: Touch, person: str = "P-1") -> ContinuityState:
    state = new_state(person)
    feed(state, *touches)
    return state


def case_story() -> list[Touch]:
    """A chat about a case, continued as a call in the same conversation, then raised in the store."""
    chat = chat_contact(0, "CASE-1", "CONV-1")
    call = [
        ev(9, "call_center", "call_started", case_id="CASE-1", conversation_id="CONV-1", agent_id="AG-2"),
        ev(
            20,
            "call_center",
            "call_ended",
            case_id="CASE-1",
            conversation_id="CONV-1",
            summary="Courier called.",
        ),
    ]
    store = [
        ev(DAY, "store", "store_visit", case_id="CASE-1", session_id="sv-1", store_id="ST-MI-01"),
        ev(DAY + 10, "store", "case_opened", case_id="CASE-1", session_id="sv-1", store_id="ST-MI-01"),
    ]
    return [*chat, *call, *store]


def rich_story() -> list[Touch]:
    return [
        *case_story(),
        *chat_reservation(2 * DAY, rid="RES-2", conversation="CONV-R"),
        ev(2 * DAY + 30, "web", "cart_add", product_ids=("LAMP",), amount_cents=3_900, currency="EUR"),
        ev(2 * DAY + 40, "web", "return_requested", order_id="ORD-1"),
        ev(2 * DAY + 50, "web", "consent_updated", consent=(("marketing", False), ("analytics", True))),
        ev(2 * DAY + 60, "social", "page_view", campaign_id="CMP-1", url="https://fb/x", purchasable=False),
        ev(2 * DAY + 61, "web", "login", identifiers=(("customer_id", "C-1"), ("cookie", "ck.1"))),
    ]


def test_chat_continued_by_phone_and_in_store_is_one_conversation() -> None:
    state = state_of(*case_story())
    (conversation,) = card(state, None)["open_conversations"]
    assert conversation["case_ids"] == ["CASE-1"]
    assert conversation["conversation_ids"] == ["CONV-1"]
    assert [c["channel"] for c in conversation["channels"]] == ["chat", "call_center", "store"]
    assert [c["events"] for c in conversation["channels"]] == [3, 2, 2]
    assert conversation["summary"] == "Courier called."
    assert [s["text"] for s in conversation["summaries"]] == ["Late delivery", "Courier called."]
    assert conversation["store_id"] == "ST-MI-01"
    feed(state, ev(DAY + 30, "store", "case_resolved", case_id="CASE-1", store_id="ST-MI-01"))
    shown = card(state, None)
    assert shown["open_conversations"] == []
    assert [c["resolved_case_ids"] for c in shown["recent_conversations"]] == [["CASE-1"]]


def test_chat_reservation_picked_up_in_store_continues_the_chat() -> None:
    chat = chat_reservation()
    state = state_of(*chat)
    shown = card(state, None)
    (reservation,) = shown["open_intents"]["reservations"]
    assert reservation["reservation_id"] == "RES-1"
    assert reservation["store_id"] == "ST-MI-01"
    assert reservation["channel"] == "chat"
    assert reservation["expires_at"] == (chat[2].event_time + dt.timedelta(days=7)).isoformat(
        timespec="milliseconds"
    )
    (conversation,) = shown["open_conversations"]
    assert conversation["summary"] == "Reserved SOFA."
    hold_end = chat[2].event_time + dt.timedelta(days=7)
    assert next_deadline(state) == hold_end
    feed(
        state,
        ev(3 * DAY, "store", "store_visit", store_id="ST-MI-01", session_id="sv-2"),
        ev(3 * DAY + 4, "store", "reservation_picked_up", store_id="ST-MI-01", reservation_id="RES-1"),
    )
    shown = card(state, None)
    assert shown["open_intents"]["reservations"] == []
    deadline = next_deadline(state)
    assert deadline is not None
    assert deadline > hold_end, "nothing expires any more, only retention is left"
    (closed,) = shown["recent_conversations"]
    assert [c["channel"] for c in closed["channels"]] == ["chat", "store"]
    assert closed["reservation_ids"] == ["RES-1"]


def test_touch_carrying_ids_of_two_conversations_joins_them() -> None:
    state = state_of(*chat_contact(0, "CASE-1", "CONV-1"), *chat_contact(60, "CASE-2", "CONV-2"))
    assert len(card(state, None)["open_conversations"]) == 2
    feed(state, ev(90, "chat", "chat_message", case_id="CASE-1", conversation_id="CONV-2"))
    (joined,) = card(state, None)["open_conversations"]
    assert joined["conversation_id"] == "conv:CONV-1", "named after the first key of its earliest touch"
    assert joined["case_ids"] == ["CASE-1", "CASE-2"]


def test_card_does_not_depend_on_arrival_order() -> None:
    story = [
        *case_story(),
        *chat_reservation(2 * DAY),
        ev(3 * DAY, "store", "store_visit", store_id="ST-MI-01", session_id="sv-2"),
        ev(3 * DAY + 4, "store", "reservation_picked_up", store_id="ST-MI-01", reservation_id="RES-1"),
        ev(3 * DAY + 9, "web", "consent_updated", consent=(("marketing", True),)),
        ev(3 * DAY + 8, "app", "consent_updated", consent=(("marketing", False),)),
    ]
    expected = card(state_of(*story), None)
    rng = random.Random(5)
    for _ in range(5):
        shuffled = story[:]
        rng.shuffle(shuffled)
        assert card(state_of(*shuffled), None) == expected


def test_consent_and_last_touches_keep_the_newest_by_event_time() -> None:
    newer = ev(10, "web", "consent_updated", consent=(("marketing", False),), url="https://shop/privacy")
    older = ev(5, "web", "page_view", consent=(("marketing", True), ("analytics", True)), url="https://shop/")
    shown = card(state_of(newer, older), None)
    assert shown["consent"]["marketing"] == {
        "granted": False,
        "at": at(10).isoformat(timespec="milliseconds"),
    }
    assert shown["consent"]["analytics"]["granted"] is True
    assert shown["last_touchpoints"]["web"]["event_id"] == newer.event_id
    assert shown["last_touchpoints"]["web"]["url"] == "https://shop/privacy"


def test_identifiers_known_with_last_seen_newest_first_and_capped() -> None:
    config = ContinuityConfig(max_identifiers=3)
    state = new_state("P-1")
    for n in range(5):
        fold(
            state,
            ev(n, "web", "page_view", identifiers=(("cookie", f"ck.{n}"), ("customer_id", "C-1"))),
            NOW,
            config,
        )
    shown = card(state, None)["identifiers"]
    assert [(i["type"], i["value"]) for i in shown] == [
        ("cookie", "ck.4"),
        ("customer_id", "C-1"),
        ("cookie", "ck.3"),
    ]
    assert shown[1]["last_seen"] == at(4).isoformat(timespec="milliseconds")


def test_carts_and_returns_are_open_intents_until_bought_or_completed() -> None:
    state = state_of(
        ev(0, "web", "cart_add", product_ids=("LAMP",), amount_cents=3_900, currency="EUR"),
        ev(1, "web", "cart_add", product_ids=("RUG",), amount_cents=24_900, currency="EUR"),
        ev(40, "web", "cart_abandoned"),
        ev(50, "web", "return_requested", order_id="ORD-1"),
    )
    intents = card(state, None)["open_intents"]
    (cart,) = intents["carts"]
    assert (cart["product_ids"], cart["amount_cents"], cart["status"]) == (
        ["LAMP", "RUG"],
        28_800,
        "abandoned",
    )
    assert [r["order_id"] for r in intents["returns"]] == ["ORD-1"]
    feed(
        state,
        ev(DAY, "web", "purchase", order_id="ORD-2"),
        ev(DAY, "pos", "return_completed", order_id="ORD-1"),
    )
    assert card(state, None)["open_intents"] == {"reservations": [], "carts": [], "returns": []}


def test_state_round_trips_through_json_exactly() -> None:
    state = state_of(*rich_story())
    expire(state, at(2 * DAY + 70), NOW)
    data = state.to_state()
    text = json.dumps(data)  # no default=: proves the form is plain JSON
    loaded = ContinuityState.from_state(json.loads(text))
    assert loaded.to_state() == data
    assert card(loaded, {"journey_id": "J-1"}) == card(state, {"journey_id": "J-1"})
    assert loaded.links == state.links
    # The loaded state keeps working: the open reservation still expires with its alert.
    (alert,) = expire(loaded, at(2 * DAY + 2 + 7 * DAY), NOW)
    assert alert["reservation_id"] == "RES-2"


def test_unknown_state_version_is_refused() -> None:
    data = new_state("P-1").to_state()
    data["v"] = 99
    with pytest.raises(ValueError, match="version"):
        ContinuityState.from_state(data)


def test_expire_prunes_what_is_closed_or_stale_but_keeps_open_cases() -> None:
    state = state_of(*rich_story())
    feed(
        state, ev(2 * DAY + 5, "store", "reservation_picked_up", store_id="ST-MI-01", reservation_id="RES-2")
    )
    assert state.alerts, "the story has an unpurchasable landing"
    assert card(state, None)["recent_conversations"] != []
    expire(state, at(20 * DAY), NOW)
    shown = card(state, None)
    assert [c["case_ids"] for c in shown["open_conversations"]] == [["CASE-1"]], "an unresolved case stays"
    assert shown["recent_conversations"] == [], "the picked-up reservation's chat is past retention"
    assert state.reservations == {}
    assert shown["alerts"] != [], "alerts stay for alert_retention (30 days)"
    expire(state, at(40 * DAY), NOW)
    assert card(state, None)["alerts"] == []
    assert card(state, None)["open_conversations"] != []
    expire(state, at(50 * DAY), NOW)
    assert card(state, None)["open_conversations"] == [], "an open case idle past open_ttl is dropped"
    assert state.threads == {}
    assert state.links == {}


def test_expiring_at_each_next_deadline_always_moves_it_on_until_only_the_last_touches_remain() -> None:
    state = state_of(*rich_story())
    deadlines: list[dt.datetime] = []
    alerts: list[dict[str, Any]] = []
    while (deadline := next_deadline(state)) is not None:
        assert not deadlines or deadline > deadlines[-1], "a deadline that does not move would spin a timer"
        deadlines.append(deadline)
        alerts += expire(state, deadline, NOW)
        assert len(deadlines) < 100
    assert [a["reservation_id"] for a in alerts] == ["RES-2"], "the hold ends once, with its alert"
    shown = card(state, None)
    assert shown["open_conversations"] == shown["recent_conversations"] == shown["alerts"] == []
    assert shown["open_intents"] == {"reservations": [], "carts": [], "returns": []}
    assert set(shown["last_touchpoints"]) == {"chat", "call_center", "store", "web", "social"}


# -- identity merges -----------------------------------------------------------------------------------


def split(story: list[Touch], loser_share: float, seed: int) -> tuple[ContinuityState, ContinuityState]:
    rng = random.Random(seed)
    survivor, loser = new_state("P-S"), new_state("P-L")
    for t in story:
        feed(loser if rng.random() < loser_share else survivor, t)
    return survivor, loser


@pytest.mark.parametrize("seed", range(4))
def test_merge_gives_the_card_of_one_person_who_did_everything(seed: int) -> None:
    story = [
        *case_story(),
        *chat_reservation(2 * DAY, conversation="CONV-R"),
        ev(3 * DAY, "store", "store_visit", store_id="ST-MI-01", session_id="sv-2"),
        ev(3 * DAY + 4, "store", "reservation_picked_up", store_id="ST-MI-01", reservation_id="RES-1"),
        ev(
            3 * DAY + 9,
            "web",
            "consent_updated",
            consent=(("marketing", True),),
            identifiers=(("cookie", "c"),),
        ),
        ev(
            3 * DAY + 8,
            "app",
            "consent_updated",
            consent=(("marketing", False),),
            identifiers=(("device", "d"),),
        ),
    ]
    whole = new_state("P-S")
    feed(whole, *story)
    survivor, loser = split(story, 0.5, seed)
    merge(survivor, loser, NOW)
    merged, expected = card(survivor, None), card(whole, None)
    merged.pop("alerts"), expected.pop("alerts")  # alert evidence may differ with the split (see below)
    assert merged == expected


def test_merge_reveals_a_repeat_contact_split_across_two_persons() -> None:
    chat = chat_contact(0, "CASE-1", "CONV-1")
    call = ev(DAY, "call_center", "call_started", case_id="CASE-1", conversation_id="CONV-2")
    loser, survivor = state_of(*chat, person="P-L"), state_of(call, person="P-S")
    (alert,) = merge(survivor, loser, NOW)
    assert alert["kind"] == "repeat_contact_other_channel"
    assert alert["person_id"] == "P-S"
    assert alert["evidence_event_ids"] == [chat[0].event_id, call.event_id]
    assert merge(survivor, new_state("P-X"), NOW) == [], "nothing new: no second alert"


def test_merge_carries_reservations_and_relabels_alerts() -> None:
    loser = state_of(*chat_reservation(), person="P-L")
    loser_alerts = feed(loser, ev(5, "social", "page_view", campaign_id="CMP-1", purchasable=False))
    survivor = state_of(
        ev(3 * DAY, "store", "reservation_picked_up", store_id="ST-MI-01", reservation_id="RES-1"),
        person="P-S",
    )
    assert merge(survivor, loser, NOW) == []
    assert survivor.reservations["RES-1"].status == "picked_up"
    assert survivor.reservations["RES-1"].created_event is not None
    assert expire(survivor, at(30 * DAY), NOW) == [], "picked up under the other id: no expiry alert"
    (alert,) = card(survivor, None)["alerts"]
    assert alert["alert_id"] == loser_alerts[0]["alert_id"]
    assert alert["person_id"] == "P-S"
