"""Broken hand-off alerts on small hand-built stories: each kind fires, and its look-alikes do not.

Every alert raised here is also encoded with the real codec, so a record that drifts from
``schemas/alert.avsc`` fails here, not on the ``alerts`` topic.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import pytest

from schemas.codec import Codec
from schemas.models.alert import Alert, AlertKind
from streams.journeys.alerts import ALERT_AVRO_NAME, HANDOFF_ALERT_KINDS, alert_id
from streams.journeys.continuity import expire, fold, new_state
from streams.journeys.continuity_state import ContinuityState
from streams.journeys.touch import Touch

T0 = dt.datetime(2026, 10, 5, 10, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
DAY = 24 * 60.0
CODEC = Codec()
_ids = itertools.count(1)


def ev(minutes: float, channel: str, event_type: str, person: str = "P-1", **fields: Any) -> Touch:
    """A touch ``minutes`` after T0 with a fresh UUID event id."""
    return Touch(
        event_id=str(uuid.UUID(int=next(_ids))),
        event_time=T0 + dt.timedelta(minutes=minutes),
        channel=channel,
        event_type=event_type,
        person_id=person,
        **fields,
    )


def feed(state: ContinuityState, *touches: Touch) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for t in touches:
        out += fold(state, t, NOW)
    for record in out:
        decoded = CODEC.decode(CODEC.encode(ALERT_AVRO_NAME, record)).record
        decoded["evidence_event_ids"] = [str(e) for e in decoded["evidence_event_ids"]]  # uuid -> text
        assert decoded == record, "an alert does not survive the Avro round trip unchanged"
        assert Alert.from_avro(record).alert_id == record["alert_id"]  # and the pydantic mirror agrees
    return out


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


# -- reservation not picked up ------------------------------------------------------------------------


def chat_reservation(
    minutes: float = 0, rid: str = "RES-1", store: str = "ST-MI-01", conversation: str = "CONV-1"
) -> list[Touch]:
    """A chat whose agent checks stock and reserves SOFA at ``store`` (created at ``minutes + 2``)."""
    c = conversation
    return [
        ev(minutes, "chat", "chat_started", conversation_id=c),
        ev(minutes + 1, "chat", "stock_check", conversation_id=c, store_id=store, product_ids=("SOFA",)),
        ev(
            minutes + 2,
            "chat",
            "reservation_created",
            conversation_id=c,
            store_id=store,
            product_ids=("SOFA",),
            reservation_id=rid,
        ),
        ev(minutes + 3, "chat", "chat_ended", conversation_id=c, summary="Reserved SOFA."),
    ]


def test_reservation_expires_at_the_end_of_its_hold_in_event_time() -> None:
    state = new_state("P-1")
    touches = chat_reservation()
    assert feed(state, *touches) == []
    created = touches[2]
    assert expire(state, at(2 + 7 * DAY) - dt.timedelta(milliseconds=1), NOW) == []
    (alert,) = expire(state, at(2 + 7 * DAY), NOW)
    assert alert["kind"] == "reservation_not_picked_up"
    assert alert["reservation_id"] == "RES-1"
    assert alert["store_id"] == "ST-MI-01"
    assert alert["previous_channel"] == "chat"
    assert alert["conversation_id"] == "CONV-1"
    assert alert["event_time"] == at(2 + 7 * DAY)
    assert alert["detected_at"] == NOW
    assert alert["evidence_event_ids"] == [created.event_id]
    assert alert["alert_id"] == alert_id(AlertKind.RESERVATION_NOT_PICKED_UP, "RES-1")
    CODEC.encode(ALERT_AVRO_NAME, alert)
    assert expire(state, at(30 * DAY), NOW) == [], "an expired reservation alerts once"
    # The store's own expiry record arrives: the same alert, upserted with it as evidence.
    expired = ev(2 + 7 * DAY + 5, "store", "reservation_expired", store_id="ST-MI-01", reservation_id="RES-1")
    (again,) = feed(state, expired)
    assert again["alert_id"] == alert["alert_id"]
    assert again["evidence_event_ids"] == [created.event_id, expired.event_id]


def test_store_expiry_record_raises_the_alert_before_the_watermark_does() -> None:
    state = new_state("P-1")
    feed(state, *chat_reservation())
    expired = ev(7 * DAY + 6, "store", "reservation_expired", store_id="ST-MI-01", reservation_id="RES-1")
    (alert,) = feed(state, expired)
    assert alert["kind"] == "reservation_not_picked_up"
    assert alert["event_time"] == at(2 + 7 * DAY), "the hold's end, whichever path saw it"
    assert expire(state, at(40 * DAY), NOW) == []


@pytest.mark.parametrize("closing", ["reservation_picked_up", "reservation_cancelled"])
def test_picked_up_or_cancelled_reservation_never_alerts(closing: str) -> None:
    state = new_state("P-1")
    feed(state, *chat_reservation())
    feed(state, ev(3 * DAY, "store", closing, store_id="ST-MI-01", reservation_id="RES-1"))
    assert expire(state, at(60 * DAY), NOW) == []


def test_till_receipt_for_the_reservation_counts_as_pickup() -> None:
    state = new_state("P-1")
    feed(state, *chat_reservation())
    feed(state, ev(3 * DAY, "pos", "purchase", store_id="ST-MI-01", reservation_id="RES-1", order_id="O-1"))
    assert expire(state, at(60 * DAY), NOW) == []


# -- repeat contact about an open case ------------------------------------------------------------------


def chat_contact(minutes: float, case: str, conversation: str) -> list[Touch]:
    kw: dict[str, Any] = {"case_id": case, "conversation_id": conversation}
    return [
        ev(minutes, "chat", "chat_started", **kw),
        ev(minutes + 2, "chat", "chat_message", **kw),
        ev(minutes + 5, "chat", "chat_ended", summary="Late delivery", **kw),
    ]


def test_case_raised_again_by_phone_alerts_with_both_contacts() -> None:
    state = new_state("P-1")
    first = chat_contact(0, "CASE-1", "CONV-1")
    assert feed(state, *first) == []
    call = ev(DAY, "call_center", "call_started", case_id="CASE-1", conversation_id="CONV-2")
    (alert,) = feed(
        state, call, ev(DAY + 9, "call_center", "call_ended", case_id="CASE-1", conversation_id="CONV-2")
    )
    assert alert["kind"] == "repeat_contact_other_channel"
    assert alert["case_id"] == "CASE-1"
    assert (alert["channel"], alert["previous_channel"]) == ("call_center", "chat")
    assert alert["event_time"] == call.event_time
    assert alert["evidence_event_ids"] == [first[0].event_id, call.event_id]
    # A third contact, in the store: the same alert (one per case), with one more piece of evidence.
    visit = ev(2 * DAY, "store", "store_visit", case_id="CASE-1", session_id="sv-1", store_id="ST-MI-01")
    (again,) = feed(state, visit)
    assert (
        again["alert_id"] == alert["alert_id"] == alert_id(AlertKind.REPEAT_CONTACT_OTHER_CHANNEL, "CASE-1")
    )
    assert again["evidence_event_ids"] == [first[0].event_id, call.event_id, visit.event_id]


def test_chat_continued_as_a_call_in_the_same_conversation_is_not_a_repeat() -> None:
    state = new_state("P-1")
    feed(state, *chat_contact(0, "CASE-1", "CONV-1"))
    follow = ev(8, "call_center", "call_started", case_id="CASE-1", conversation_id="CONV-1")
    assert (
        feed(state, follow, ev(20, "call_center", "call_ended", case_id="CASE-1", conversation_id="CONV-1"))
        == []
    )


def test_second_chat_about_the_case_is_not_another_channel() -> None:
    state = new_state("P-1")
    feed(state, *chat_contact(0, "CASE-1", "CONV-1"))
    assert feed(state, *chat_contact(DAY, "CASE-1", "CONV-2")) == []


def test_contact_after_the_window_or_about_a_resolved_case_is_not_a_repeat() -> None:
    late = new_state("P-1")
    feed(late, *chat_contact(0, "CASE-1", "CONV-1"))
    assert (
        feed(late, ev(8 * DAY, "call_center", "call_started", case_id="CASE-1", conversation_id="CONV-2"))
        == []
    )
    resolved = new_state("P-2")
    feed(resolved, *chat_contact(0, "CASE-2", "CONV-3"))
    feed(resolved, ev(10, "chat", "case_resolved", case_id="CASE-2", conversation_id="CONV-3"))
    assert (
        feed(resolved, ev(DAY, "call_center", "call_started", case_id="CASE-2", conversation_id="CONV-4"))
        == []
    )


def test_other_cases_do_not_make_a_repeat() -> None:
    state = new_state("P-1")
    feed(state, *chat_contact(0, "CASE-1", "CONV-1"))
    assert (
        feed(state, ev(DAY, "call_center", "call_started", case_id="CASE-9", conversation_id="CONV-2")) == []
    )


# -- campaign landing where nothing can be bought -------------------------------------------------------

PAGE = "https://www.facebook.com/arreda.example/videos"


def test_campaign_click_landing_on_unpurchasable_page_alerts() -> None:
    state = new_state("P-1")
    click = ev(0, "ads", "ad_click", campaign_id="CMP-1", url=PAGE)
    assert feed(state, click) == []
    page = ev(0.1, "social", "page_view", campaign_id="CMP-1", url=PAGE, purchasable=False)
    (alert,) = feed(state, page)
    assert alert["kind"] == "campaign_landing_not_purchasable"
    assert (alert["campaign_id"], alert["url"]) == ("CMP-1", PAGE)
    assert (alert["channel"], alert["previous_channel"]) == ("social", "ads")
    assert alert["evidence_event_ids"] == [click.event_id, page.event_id]


def test_click_arriving_after_its_landing_upserts_the_alert() -> None:
    state = new_state("P-1")
    page = ev(1, "social", "page_view", campaign_id="CMP-1", url=PAGE, purchasable=False)
    (first,) = feed(state, page)
    assert first["evidence_event_ids"] == [page.event_id]
    click = ev(0, "social", "ad_click", campaign_id="CMP-1", url=PAGE)
    (second,) = feed(state, click)
    assert second["alert_id"] == first["alert_id"]
    assert second["evidence_event_ids"] == [click.event_id, page.event_id]
    assert second["previous_channel"] == "social"
    assert feed(state, page) == [], "the same landing again changes nothing"


def test_purchasable_landing_or_page_without_campaign_does_not_alert() -> None:
    state = new_state("P-1")
    assert (
        feed(
            state,
            ev(0, "ads", "ad_click", campaign_id="CMP-1"),
            ev(0.1, "web", "page_view", campaign_id="CMP-1", url="https://shop/c", purchasable=True),
            ev(5, "social", "page_view", url=PAGE, purchasable=False),
            ev(6, "social", "social_engagement", url=PAGE),
        )
        == []
    )


# -- a store visit finds no reservation -----------------------------------------------------------------


def store_visit(minutes: float, store: str = "ST-MI-01", product: str = "SOFA") -> list[Touch]:
    return [
        ev(minutes, "store", "store_visit", store_id=store, session_id="sv-9"),
        ev(minutes + 8, "store", "stock_check", store_id=store, session_id="sv-9", product_ids=(product,)),
    ]


def test_store_cannot_find_the_chat_reservation() -> None:
    state = new_state("P-1")
    reservation = chat_reservation()
    feed(state, *reservation)
    visit = store_visit(3 * DAY)
    (alert,) = feed(state, *visit)
    assert alert["kind"] == "reservation_missing_at_store"
    assert (alert["reservation_id"], alert["store_id"]) == ("RES-1", "ST-MI-01")
    assert (alert["channel"], alert["previous_channel"]) == ("store", "chat")
    assert alert["evidence_event_ids"] == [reservation[2].event_id, visit[0].event_id, visit[1].event_id]
    # One break, one alert: the lost reservation does not alert again as "not picked up".
    assert expire(state, at(30 * DAY), NOW) == []


def test_store_cannot_find_the_web_reservation() -> None:
    state = new_state("P-1")
    created = ev(
        0,
        "web",
        "reservation_created",
        session_id="ws-1",
        store_id="ST-MI-01",
        product_ids=("SOFA",),
        reservation_id="RES-W",
    )
    feed(state, created)
    (alert,) = feed(state, *store_visit(2 * DAY))
    assert (alert["kind"], alert["reservation_id"]) == ("reservation_missing_at_store", "RES-W")
    assert alert["previous_channel"] == "web"
    assert alert["evidence_event_ids"][0] == created.event_id


@pytest.mark.parametrize(("store", "product"), [("ST-RM-01", "SOFA"), ("ST-MI-01", "LAMP")])
def test_stock_check_for_another_store_or_product_is_not_a_missing_reservation(
    store: str, product: str
) -> None:
    state = new_state("P-1")
    feed(state, *chat_reservation())
    assert feed(state, *store_visit(3 * DAY, store, product)) == []


def test_visit_that_picks_the_reservation_up_does_not_alert() -> None:
    state = new_state("P-1")
    feed(state, *chat_reservation())
    visit = ev(3 * DAY, "store", "store_visit", store_id="ST-MI-01", session_id="sv-1")
    pickup = ev(3 * DAY + 5, "store", "reservation_picked_up", store_id="ST-MI-01", reservation_id="RES-1")
    assert feed(state, visit, pickup, *store_visit(3 * DAY + 20)) == []


# -- the chat agent cannot see stock --------------------------------------------------------------------


def stock_blind_chat(minutes: float = 0) -> list[Touch]:
    kw: dict[str, Any] = {"conversation_id": "CONV-7"}
    return [
        ev(minutes, "chat", "chat_started", **kw),
        ev(minutes + 1, "chat", "stock_check", store_id="ST-BO-01", product_ids=("SOFA",), **kw),
        ev(minutes + 3, "chat", "chat_ended", summary="Stock not visible from chat.", **kw),
    ]


def test_customer_comes_to_the_store_after_a_stock_blind_chat() -> None:
    state = new_state("P-1")
    chat = stock_blind_chat()
    assert feed(state, *chat) == []
    visit = store_visit(2 * DAY, "ST-BO-01")
    (alert,) = feed(state, *visit)
    assert alert["kind"] == "chat_cannot_see_stock"
    assert (alert["store_id"], alert["conversation_id"]) == ("ST-BO-01", "CONV-7")
    assert (alert["channel"], alert["previous_channel"]) == ("store", "chat")
    assert alert["evidence_event_ids"] == [chat[1].event_id, visit[0].event_id, visit[1].event_id]
    assert (
        feed(state, ev(2 * DAY + 20, "store", "stock_check", store_id="ST-BO-01", product_ids=("SOFA",)))
        == []
    )


def test_chat_that_reserved_or_a_store_elsewhere_is_not_stock_blind() -> None:
    reserved = new_state("P-1")
    feed(reserved, *chat_reservation(store="ST-BO-01"))
    feed(reserved, ev(DAY, "store", "reservation_picked_up", store_id="ST-BO-01", reservation_id="RES-1"))
    assert feed(reserved, *store_visit(2 * DAY, "ST-BO-01")) == []
    elsewhere = new_state("P-2")
    feed(elsewhere, *stock_blind_chat())
    assert feed(elsewhere, *store_visit(2 * DAY, "ST-MI-01")) == []
    too_late = new_state("P-3")
    feed(too_late, *stock_blind_chat())
    assert feed(too_late, *store_visit(15 * DAY, "ST-BO-01")) == []


# -- ids and the hand-off table -------------------------------------------------------------------------


def test_replay_raises_the_same_alert_ids_with_a_new_detection_time() -> None:
    story = [*chat_reservation(), *store_visit(3 * DAY), *stock_blind_chat(DAY)]
    first, second = new_state("P-1"), new_state("P-1")
    a = [fold(first, t, NOW) for t in story]
    later = NOW + dt.timedelta(hours=1)
    b = [fold(second, t, later) for t in story]
    assert [x["alert_id"] for xs in a for x in xs] == [x["alert_id"] for xs in b for x in xs]
    assert all(x["detected_at"] == later for xs in b for x in xs)
    assert len({x["alert_id"] for xs in a for x in xs}) == len([x for xs in a for x in xs]) == 1


def test_every_simulator_handoff_kind_maps_to_a_schema_alert_kind_with_its_defining_field() -> None:
    symbols = set(CODEC.catalog.reader(ALERT_AVRO_NAME).parsed["fields"][1]["type"]["symbols"])
    assert set(HANDOFF_ALERT_KINDS) == {
        "unpurchasable_landing",
        "stock_blind_chat",
        "reservation_lost",
        "reservation_not_picked_up",
        "repeat_contact",
    }
    for rule in HANDOFF_ALERT_KINDS.values():
        assert rule.alert_kind.value in symbols
        assert rule.defining_field in {"reservation_id", "campaign_id", "case_id", "store_id"}
    assert len({r.alert_kind for r in HANDOFF_ALERT_KINDS.values()}) == len(HANDOFF_ALERT_KINDS)
