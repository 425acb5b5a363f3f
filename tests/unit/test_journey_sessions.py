"""Per-channel sessions in event time: gaps, grace, late and bridging events, state round trips."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from schemas.codec import Codec
from schemas.errors import ConfigError, DecodeError
from streams.journeys.journey_config import JourneyConfig
from streams.journeys.journey_state import Outputs, PersonState, advance, fold, next_due
from streams.journeys.sessions import MINUTE, SessionGaps, session_id
from streams.journeys.touch import Touch
from tests.unit.journey_builders import MIN, Table, at, eid, touch

CFG = JourneyConfig()
GRACE = dt.timedelta(milliseconds=CFG.grace_ms)
MS = dt.timedelta(milliseconds=1)


def run(touches: list[Touch], cfg: JourneyConfig = CFG) -> tuple[PersonState, Table]:
    state, table = PersonState("P-1"), Table()
    for t in touches:
        table.apply(fold(state, t, cfg))
    return state, table


def spans(table: Table, channel: str) -> list[tuple[dt.datetime, dt.datetime, int]]:
    return [
        (r["started_at"], r["ended_at"], r["event_count"])
        for r in table.live_sessions()
        if r["channel"] == channel
    ]


def test_each_channel_has_its_own_inactivity_gap() -> None:
    web = [touch(m) for m in (0, 10, 40, 71)]  # 30 min gap: 40 joins 10, 71 is 31 min after 40
    chat = [touch(m, "chat", "chat_message") for m in (5, 20, 36)]  # 15 min: 36 is 16 after 20
    _, table = run(sorted(web + chat, key=lambda t: t.event_time))
    assert spans(table, "web") == [(at(0), at(40), 3), (at(71), at(71), 1)]
    assert spans(table, "chat") == [(at(5), at(20), 2), (at(36), at(36), 1)]
    first = table.live_sessions()[0]
    assert first["session_id"] == session_id(web[0].event_id)
    assert (first["first_event_id"], first["last_event_id"]) == (web[0].event_id, web[2].event_id)
    assert not any(r["closed"] for r in table.live_sessions())


def test_gaps_are_configurable() -> None:
    cfg = JourneyConfig(gaps=SessionGaps(gaps={"web": 5 * MINUTE}, default_ms=60 * MINUTE))
    _, table = run([touch(0), touch(4), touch(10), touch(0, "app"), touch(50, "app")], cfg)
    assert spans(table, "web") == [(at(0), at(4), 2), (at(10), at(10), 1)]
    assert spans(table, "app") == [(at(0), at(50), 2)]  # app falls back to the 60-minute default


def test_a_session_closes_once_its_gap_and_the_grace_period_have_passed() -> None:
    state, table = run([touch(0), touch(10)])
    deadline = at(10) + 30 * MIN + GRACE  # until then an in-grace event could still extend it
    assert next_due(state) == deadline + MS
    assert not table.apply(advance(state, deadline)).sessions
    out = table.apply(advance(state, deadline + MS))
    assert [(r["closed"], r["event_count"], r["ended_at"]) for r in out.sessions] == [(True, 2, at(10))]
    assert table.live_sessions()[0]["closed"]


def test_a_late_event_that_bridges_two_sessions_merges_them() -> None:
    early, later = touch(0, n=101), touch(45, n=102)
    state, table = run([early, later])
    assert len(table.live_sessions()) == 2
    before = table.sessions[session_id(later.event_id)]["version"]
    out = table.apply(fold(state, touch(20, n=103)))
    assert spans(table, "web") == [(at(0), at(45), 3)]
    assert table.live_sessions()[0]["session_id"] == session_id(early.event_id)
    retired = table.sessions[session_id(later.event_id)]
    assert (retired["event_count"], retired["closed"], retired["first_event_id"]) == (0, True, None)
    assert retired["version"] > before
    assert {r["session_id"] for r in out.sessions} == {session_id(early.event_id), session_id(later.event_id)}
    assert state.late_events == 0


def test_a_late_event_before_the_first_one_gives_the_session_its_id() -> None:
    first_seen, earlier = touch(10, n=201), touch(0, n=202)
    _, table = run([first_seen, earlier])
    assert [r["session_id"] for r in table.live_sessions()] == [session_id(earlier.event_id)]
    assert table.live_sessions()[0]["event_count"] == 2
    assert table.sessions[session_id(first_seen.event_id)]["event_count"] == 0


def test_an_event_later_than_the_grace_period_is_counted_and_kept() -> None:
    state, table = run([touch(0)])
    table.apply(advance(state, at(0) + 10 * dt.timedelta(hours=1)))  # the session is closed and gone
    out = table.apply(fold(state, touch(5)))
    assert state.late_events == 1
    assert [r["closed"] for r in out.sessions] == [True]  # a session of its own, final at once
    assert sum(r["event_count"] for r in table.live_sessions()) == 2
    assert sum(r["touch_count"] for r in table.live_journeys()) == 2  # the journey is still open


def test_a_too_late_event_joins_the_session_it_falls_in() -> None:
    state, table = run([touch(0), touch(20)])
    advance(state, at(30) + GRACE)  # seal point at minute 30: the session (until 20 + 30) is open
    table.apply(fold(state, touch(10)))
    assert state.late_events == 1
    assert spans(table, "web") == [(at(0), at(20), 3)]
    assert len(table.sessions) == 1


def test_a_redelivered_event_changes_nothing() -> None:
    t = touch(0)
    state, table = run([t, touch(3)])
    assert not fold(state, t)
    assert spans(table, "web") == [(at(0), at(3), 2)]


def test_store_sessions_carry_store_and_channel_session_ids() -> None:
    _, table = run(
        [
            touch(0, "store", "store_visit", store_id="ST-MI-01", session_id="sv-1"),
            touch(90, "store", "reservation_picked_up", store_id="ST-MI-01", session_id="sv-1"),
            touch(5, "chat", "chat_started", conversation_id="CONV-9"),
        ]
    )
    by_channel = {r["channel"]: r for r in table.live_sessions()}
    assert by_channel["store"]["event_count"] == 2  # 90 minutes on the floor is still one visit
    assert (by_channel["store"]["store_id"], by_channel["store"]["channel_session_id"]) == (
        "ST-MI-01",
        "sv-1",
    )
    assert (by_channel["chat"]["store_id"], by_channel["chat"]["channel_session_id"]) == (None, "CONV-9")


def test_state_survives_a_json_round_trip() -> None:
    first = [touch(0, n=301), touch(7, "chat", "chat_started", n=302), touch(50, n=303)]
    rest = [touch(30, n=304), touch(60, "app", "page_view", n=305)]
    state, _ = run(first)
    copy = PersonState.from_state(json.loads(json.dumps(state.to_state())))
    assert copy.to_state() == state.to_state()
    for t in rest:
        assert fold(copy, t) == fold(state, t)
    deadline = at(60) + dt.timedelta(days=9)
    assert advance(copy, deadline) == advance(state, deadline)
    assert copy.to_state() == state.to_state()


def test_session_rows_fit_the_session_schema() -> None:
    codec = Codec()
    state = PersonState("P-1")
    out = Outputs()
    bridge = touch(25, n=403)
    for t in [
        touch(0, n=401),
        touch(45, "store", "store_visit", n=402, store_id="S1"),
        touch(50, n=404),
        bridge,
    ]:
        out.extend(fold(state, t))
    out.extend(advance(state, at(0) + dt.timedelta(days=10)))
    assert any(r["event_count"] == 0 for r in out.sessions)  # a tombstone is among them
    for row in out.sessions:
        decoded = codec.decode(codec.encode("io.omnijourney.Session", row))
        assert decoded.name == "io.omnijourney.Session"
        assert decoded.record["session_id"] == row["session_id"]
        assert decoded.record["started_at"] == row["started_at"]
    assert eid(401) in {r["first_event_id"] for r in out.sessions}


def test_bad_gaps_and_unknown_state_formats_are_refused() -> None:
    with pytest.raises(ConfigError):
        SessionGaps(gaps={"web": 0})
    with pytest.raises(ConfigError):
        JourneyConfig(abandon_after_ms=0)
    with pytest.raises(DecodeError):
        PersonState.from_state({**PersonState("P-1").to_state(), "v": 99})
