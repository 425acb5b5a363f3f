"""Journeys: outcomes, abandonment, paths, follow-ups, late events, identity merges, arrival order."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import Codec
from streams.journeys.journey_config import DAY, JourneyConfig
from streams.journeys.journey_driver import Driver
from streams.journeys.journey_state import Outputs, PersonState, advance, fold, merge
from streams.journeys.journeys import journey_id
from streams.journeys.sessions import HOUR, session_id
from streams.journeys.touch import Touch
from tests.unit.journey_builders import MIN, Table, at, eid, touch
from tests.unit.journey_sim import simulated_touches

CFG = JourneyConfig()
MS = dt.timedelta(milliseconds=1)
D = dt.timedelta(days=1)
MIN_PER_DAY = 24 * 60
ABANDON = dt.timedelta(milliseconds=CFG.abandon_after_ms)
GRACE = dt.timedelta(milliseconds=CFG.grace_ms)


def run(touches: list[Touch], cfg: JourneyConfig = CFG, person: str = "P-1") -> tuple[PersonState, Table]:
    state, table = PersonState(person), Table()
    for t in touches:
        table.apply(fold(state, t, cfg))
    return state, table


def test_a_purchase_ends_the_journey_and_the_next_touch_starts_another() -> None:
    touches = [
        touch(0, "ads", "ad_click", n=1, campaign_id="CMP-1"),
        touch(2, n=2),
        touch(5, "web", "cart_add", n=3, amount_cents=12_900, currency="EUR"),
        touch(9, "web", "purchase", n=4, order_id="O-1", amount_cents=12_900, currency="EUR"),
        touch(30, n=5),
    ]
    _, table = run(touches)
    bought, after = table.live_journeys()
    assert bought["journey_id"] == journey_id(eid(1))
    assert (bought["status"], bought["stage"], bought["ended_at"]) == ("purchase", "conversion", at(9))
    assert bought["time_to_outcome_ms"] == 9 * 60_000
    assert (bought["channel_path"], bought["channel_switches"], bought["touch_count"]) == (
        ["ads", "web"],
        1,
        4,
    )
    assert (bought["first_touch_channel"], bought["last_touch_channel"]) == ("ads", "web")
    assert (bought["first_event_id"], bought["last_event_id"]) == (eid(1), eid(4))
    assert (bought["order_ids"], bought["campaign_ids"]) == (["O-1"], ["CMP-1"])
    assert (bought["amount_cents"], bought["currency"]) == (12_900, "EUR")  # the cart is not a purchase
    assert (after["status"], after["touch_count"], after["ended_at"]) == ("open", 1, None)
    assert after["stage"] == "consideration"


def test_the_channel_path_collapses_repeats_and_counts_switches() -> None:
    steps = [
        ("ads", "ad_impression"),
        ("ads", "ad_impression"),
        ("web", "page_view"),
        ("web", "product_view"),
        ("chat", "chat_message"),
        ("web", "page_view"),
        ("store", "store_visit"),
    ]
    _, table = run([touch(10 * i, c, e) for i, (c, e) in enumerate(steps)])
    (j,) = table.live_journeys()
    assert j["channel_path"] == ["ads", "web", "chat", "web", "store"]
    assert (j["channel_switches"], j["touch_count"]) == (4, 7)
    assert (j["first_touch_channel"], j["last_touch_channel"], j["stage"]) == ("ads", "store", "service")


def test_a_journey_is_abandoned_after_inactivity_once_the_grace_period_has_passed() -> None:
    state, table = run([touch(0), touch(60)])
    decided = at(60) + ABANDON
    assert not advance(state, decided + GRACE).journeys
    out = table.apply(advance(state, decided + GRACE + MS))
    assert [(r["status"], r["ended_at"], r["time_to_outcome_ms"]) for r in out.journeys] == [
        ("abandoned", decided, None)
    ]


def test_a_touch_after_the_inactivity_limit_abandons_the_journey_and_starts_one() -> None:
    _, table = run([touch(0, n=1), touch(ABANDON / MIN + 1, "app", n=2)])
    first, second = table.live_journeys()
    assert (first["status"], first["ended_at"]) == ("abandoned", at(0) + ABANDON)
    assert (second["journey_id"], second["status"]) == (journey_id(eid(2)), "open")


def test_an_open_reservation_keeps_its_journey_alive_until_the_pickup() -> None:
    touches = [
        touch(0, "chat", "reservation_created", reservation_id="R-1", store_id="ST-1"),
        touch(3 * MIN_PER_DAY, "store", "reservation_picked_up", reservation_id="R-1", store_id="ST-1"),
    ]
    _, table = run(touches)
    (j,) = table.live_journeys()
    assert (j["status"], j["channel_path"], j["time_to_outcome_ms"]) == ("pickup", ["chat", "store"], 3 * DAY)
    assert (j["reservation_ids"], j["store_ids"]) == (["R-1"], ["ST-1"])
    _, plain = run(touches, JourneyConfig(intent_hold_ms=CFG.abandon_after_ms))  # without the intent rule
    assert [r["status"] for r in plain.live_journeys()] == ["abandoned", "pickup"]


def test_a_pickup_and_its_till_receipt_are_one_journey_whichever_is_first() -> None:
    visit = 2 * MIN_PER_DAY
    till = touch(visit + 5, "pos", "purchase", reservation_id="R-1", order_id="O-9", amount_cents=89_900)
    arrivals = [
        touch(0, "chat", "reservation_created", reservation_id="R-1", n=1),
        touch(visit, "store", "store_visit", n=2),
        touch(visit + 8, "store", "reservation_picked_up", reservation_id="R-1", n=3),
        till,  # the batch till uploads an hour late, after the pickup was recorded
        touch(visit + 60, "web", "page_view", n=4),
    ]
    _, table = run(arrivals)
    picked, after = table.live_journeys()
    assert (picked["status"], picked["ended_at"], picked["touch_count"]) == ("pickup", at(visit + 5), 4)
    assert (picked["amount_cents"], picked["order_ids"]) == (89_900, ["O-9"])
    assert (picked["last_event_id"], picked["channel_path"]) == (eid(3), ["chat", "store", "pos", "store"])
    assert (after["journey_id"], after["status"]) == (journey_id(eid(4)), "open")


def test_a_case_followed_across_chat_and_phone_ends_in_resolution() -> None:
    _, table = run(
        [
            touch(0, "chat", "chat_started", case_id="C-1", conversation_id="CONV-1"),
            touch(1, "chat", "case_opened", case_id="C-1", conversation_id="CONV-1"),
            touch(30, "call_center", "call_started", case_id="C-1", conversation_id="CONV-1"),
            touch(40, "call_center", "case_resolved", case_id="C-1", conversation_id="CONV-1"),
        ]
    )
    (j,) = table.live_journeys()
    assert (j["status"], j["stage"], j["case_ids"]) == ("resolution", "service", ["C-1"])
    assert (j["channel_path"], j["time_to_outcome_ms"]) == (["chat", "call_center"], 40 * 60_000)


def test_a_different_outcome_is_not_a_follow_up() -> None:
    _, table = run(
        [
            touch(0, "web", "purchase", order_id="O-1", case_id="C-7"),
            touch(20, "web", "return_requested", order_id="O-1"),  # names the order: a follow-up
            touch(30, "chat", "case_resolved", case_id="C-7"),  # names it too, but is its own outcome
        ]
    )
    bought, resolved = table.live_journeys()
    assert (bought["status"], bought["touch_count"], bought["updated_at"]) == ("purchase", 2, at(20))
    assert (resolved["status"], resolved["touch_count"]) == ("resolution", 1)


def test_resolving_another_case_right_after_a_resolution_is_a_journey_of_its_own() -> None:
    _, table = run(
        [
            touch(0, "chat", "chat_message", case_id="C-1"),
            touch(5, "chat", "chat_message", case_id="C-2"),  # the same chat touches a second case
            touch(10, "chat", "case_resolved", case_id="C-1"),
            touch(40, "call_center", "case_resolved", case_id="C-2"),
        ]
    )
    first, second = table.live_journeys()
    assert (first["status"], first["case_ids"], first["touch_count"]) == ("resolution", ["C-1", "C-2"], 3)
    assert (second["status"], second["case_ids"], second["ended_at"]) == ("resolution", ["C-2"], at(40))


def test_a_late_outcome_splits_the_journey_it_lands_in() -> None:
    state, table = run([touch(0, n=1), touch(10, n=2), touch(20, n=3)])
    assert table.live_journeys()[0]["touch_count"] == 3
    table.apply(fold(state, touch(5, "app", "purchase", n=4, order_id="O-1")))
    bought, rest = table.live_journeys()
    assert (bought["journey_id"], bought["status"], bought["touch_count"]) == (
        journey_id(eid(1)),
        "purchase",
        2,
    )
    assert (rest["journey_id"], rest["status"], rest["touch_count"]) == (journey_id(eid(2)), "open", 2)
    assert state.late_events == 0


def test_a_late_first_touch_retires_the_journey_id_it_replaces() -> None:
    _, table = run([touch(10, n=11), touch(0, "ads", "ad_click", n=12)])
    (live,) = table.live_journeys()
    assert (live["journey_id"], live["touch_count"]) == (journey_id(eid(12)), 2)
    old = table.journeys[journey_id(eid(11))]
    assert (old["status"], old["merged_into_journey_id"], old["touch_count"]) == (
        "merged",
        live["journey_id"],
        0,
    )


def test_a_too_late_first_touch_still_joins_the_open_journey() -> None:
    state, table = run([touch(0, n=71)])
    table.apply(advance(state, at(6 * 60)))  # seal point at 2 h: the web session is closed
    table.apply(fold(state, touch(-60, "email", "email_click", n=72)))
    assert state.late_events == 1
    (j,) = table.live_journeys()
    assert (j["journey_id"], j["touch_count"]) == (journey_id(eid(72)), 2)
    assert j["channel_path"] == ["email", "web"]
    assert table.journeys[journey_id(eid(71))]["merged_into_journey_id"] == j["journey_id"]
    email = table.sessions[session_id(eid(72))]
    assert (email["closed"], email["journey_id"], email["event_count"]) == (True, j["journey_id"], 1)


def test_events_under_two_persons_end_up_in_one_journey_after_the_merge() -> None:
    table = Table()
    survivor, _ = run([touch(0, n=21, person="P-A"), touch(20, n=23, person="P-A")], person="P-A")
    loser, _ = run([touch(10, "app", n=22, person="P-B"), touch(30, "app", n=24, person="P-B")], person="P-B")
    for state in (survivor, loser):  # what the sink saw before the merge
        table.apply(advance(state, at(31)))
    table.apply(fold(survivor, touch(21, n=25, person="P-A")))
    table.apply(fold(loser, touch(31, "app", n=26, person="P-B")))
    out = table.apply(merge(survivor, loser))
    (j,) = table.live_journeys()
    assert (j["journey_id"], j["person_id"], j["touch_count"]) == (journey_id(eid(21)), "P-A", 6)
    assert (j["channel_path"], j["channel_switches"]) == (["web", "app", "web", "app"], 3)  # exact interleave
    gone = table.journeys[journey_id(eid(22))]
    assert (gone["status"], gone["merged_into_journey_id"]) == ("merged", j["journey_id"])
    assert {r["person_id"] for r in table.live_sessions()} == {"P-A"}
    assert [(r["channel"], r["event_count"]) for r in table.live_sessions()] == [("web", 3), ("app", 3)]
    assert {r["session_id"] for r in out.sessions} >= {session_id(eid(22))}  # republished as P-A's


def test_a_merge_of_sealed_state_keeps_every_touch() -> None:
    hour = 60
    survivor, table = run([touch(0, n=31, person="P-A"), touch(10, n=32, person="P-A")], person="P-A")
    loser, _ = run([touch(5 * hour, "app", n=33), touch(5 * hour + 10, "app", n=34)], person="P-B")
    for state in (survivor, loser):
        table.apply(advance(state, at(10 * hour)))  # everything sealed, sessions closed
    table.apply(merge(survivor, loser))
    (j,) = table.live_journeys()
    assert (j["touch_count"], j["channel_path"], j["channel_switches"]) == (4, ["web", "app"], 1)
    assert (j["started_at"], j["updated_at"], j["person_id"]) == (at(0), at(5 * hour + 10), "P-A")
    assert table.journeys[journey_id(eid(33))]["merged_into_journey_id"] == journey_id(eid(31))


def test_merging_a_person_without_touchpoints_changes_nothing() -> None:
    survivor, _ = run([touch(0, n=51, person="P-A"), touch(5, n=52, person="P-A")], person="P-A")
    before = survivor.to_state()
    assert not merge(survivor, PersonState("P-B"))
    assert survivor.to_state() == before
    assert not merge(PersonState("P-C"), PersonState("P-D"))


def test_coalesced_outputs_keep_the_last_row_of_every_id() -> None:
    state, out, table = PersonState("P-1"), Outputs(), Table()
    for t in [touch(0, n=61), touch(5, "chat", "chat_message", n=62), touch(9, n=63), touch(2, n=64)]:
        out.extend(fold(state, t))
    table.apply(out)
    short = out.coalesced()
    assert len(short.sessions) + len(short.journeys) < len(out.sessions) + len(out.journeys)
    assert {r["session_id"]: r for r in short.sessions} == table.sessions
    assert {r["journey_id"]: r for r in short.journeys} == table.journeys


def test_journey_rows_fit_the_journey_schema() -> None:
    codec = Codec()
    state, out = PersonState("P-1"), Outputs()
    for t in [
        touch(10, "email", "email_click", n=41, campaign_id="CMP-E"),
        touch(0, "email", "email_open", n=42),  # retires the first journey id
        touch(20, "web", "purchase", n=43, order_id="O-1", amount_cents=100, currency="EUR"),
        touch(40, n=44),
    ]:
        out.extend(fold(state, t))
    out.extend(advance(state, at(0) + 10 * D))
    assert {r["status"] for r in out.journeys} >= {"open", "merged", "purchase", "abandoned"}
    for row in out.journeys:
        decoded = codec.decode(codec.encode("io.omnijourney.Journey", row))
        assert decoded.record["journey_id"] == row["journey_id"]
        assert decoded.record["status"] == row["status"]


# -- arrival order does not matter within the grace period ------------------------------------------

EVENTS = [
    ("web", "page_view", {}),
    ("web", "cart_add", {}),
    ("app", "product_view", {}),
    ("ads", "ad_impression", {"campaign_id": "CMP-1"}),
    ("chat", "chat_message", {"case_id": "C-1"}),
    ("chat", "reservation_created", {"reservation_id": "R-1"}),
    ("store", "reservation_picked_up", {"reservation_id": "R-1"}),
    ("pos", "purchase", {"reservation_id": "R-1", "order_id": "O-2", "amount_cents": 500}),
    ("web", "purchase", {"order_id": "O-1", "amount_cents": 300}),
    ("call_center", "case_resolved", {"case_id": "C-1"}),
    ("web", "return_requested", {"order_id": "O-1"}),
]


def final_content(touches: list[Touch]) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    driver, table = Driver(), Table()
    for t in touches:
        table.apply(driver.feed(t))
    table.apply(driver.finish(int(max(t.event_time for t in touches).timestamp() * 1000) + 30 * DAY))
    assert all(r["closed"] for r in table.live_sessions())
    return table.content()


def shuffled_within_grace(touches: list[Touch], rng: random.Random, grace_ms: int) -> list[Touch]:
    """An arrival order in which no event is more than ~90% of the grace period behind the newest."""
    delay = {t.event_id: rng.randrange(int(grace_ms * 0.9)) for t in touches}
    return sorted(touches, key=lambda t: t.event_time + dt.timedelta(milliseconds=delay[t.event_id]))


@settings(max_examples=120, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(range(len(EVENTS))),
            st.one_of(st.integers(0, 40), st.integers(0, 3 * 24 * 60)),  # minutes: bursts and long pauses
        ),
        min_size=1,
        max_size=30,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_same_events_in_any_order_within_grace_give_the_same_rows(
    steps: list[tuple[int, int]], seed: int
) -> None:
    touches, t = [], 0
    for n, (kind, pause) in enumerate(steps, start=1):
        t += pause
        channel, event_type, fields = EVENTS[kind]
        touches.append(touch(t, channel, event_type, n=n, **fields))  # type: ignore[arg-type]
    expected = final_content(touches)
    assert final_content(shuffled_within_grace(touches, random.Random(seed), CFG.grace_ms)) == expected
    assert sum(r["touch_count"] for r in expected[1]) == len(touches)  # type: ignore[misc]
    assert sum(r["event_count"] for r in expected[0]) == len(touches)  # type: ignore[misc]


def test_simulated_traffic_gives_the_same_rows_in_arrival_order_and_shuffled() -> None:
    touches, _ = simulated_touches(customers=60, days=10, seed=5)
    in_time_order = sorted(touches, key=lambda t: (t.event_time, t.event_id))
    expected = final_content(in_time_order)
    assert final_content(touches) == expected  # the simulator's own arrival order: late POS, offline apps
    assert final_content(shuffled_within_grace(touches, random.Random(11), CFG.grace_ms)) == expected
    assert sum(r["touch_count"] for r in expected[1]) == len(touches)  # type: ignore[misc]
    assert CFG.grace_ms > HOUR  # the simulator's late sources need more than an hour of grace


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(range(len(EVENTS))), st.integers(0, 24 * 60), st.booleans()),
        min_size=1,
        max_size=25,
    ),
    cut=st.integers(0, 25),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_merge_at_any_point_loses_no_touchpoint(
    steps: list[tuple[int, int, bool]], cut: int, seed: int
) -> None:
    """Two persons' events, shuffled within grace; the second is merged into the first after
    ``cut`` arrivals and later events under the old id are forwarded (what the stage does)."""
    touches, t = [], 0
    for n, (kind, pause, first) in enumerate(steps, start=1):
        t += pause
        channel, event_type, fields = EVENTS[kind]
        touches.append(touch(t, channel, event_type, n=n, person="P-A" if first else "P-B", **fields))  # type: ignore[arg-type]
    driver, table = Driver(), Table()
    for i, arrival in enumerate(shuffled_within_grace(touches, random.Random(seed), CFG.grace_ms)):
        if i == cut:
            table.apply(driver.merge("P-A", "P-B"))
        if i >= cut:
            arrival = dataclasses.replace(arrival, person_id="P-A")
        table.apply(driver.feed(arrival))
    table.apply(driver.merge("P-A", "P-B"))
    table.apply(driver.finish(int(max(x.event_time for x in touches).timestamp() * 1000) + 30 * DAY))
    assert sum(r["touch_count"] for r in table.live_journeys()) == len(touches)
    assert sum(r["event_count"] for r in table.live_sessions()) == len(touches)
    assert all(r["status"] != "open" for r in table.live_journeys())
    assert set(driver.states) <= {"P-A"}
