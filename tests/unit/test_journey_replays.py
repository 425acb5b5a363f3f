"""A worker killed between writing a person's state and committing its input re-reads those events.

The stage's step functions must then leave the state as it was: the replayed touchpoints and the
replayed merge are recognised and skipped, so sessions count each touchpoint once. The state goes
through dump/load between steps, as it does through the changelog; session rows are kept the way
the sink's ReplacingMergeTree keeps them (the highest version of each session id).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from producers.simulator import SCENARIO_BY_NAME
from streams.journeys.stage import RECENT_EVENTS, Emitted, PersonStage, on_merge, on_tick, on_touch
from streams.journeys.timeline import to_ms
from streams.journeys.touch import Touch
from tests.unit.journey_sim import simulated_touches

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


class Sessions:
    """The session rows an analyst would see: the latest version of each id."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, out: Emitted) -> int:
        for row in out.sessions:
            kept = self.rows.get(row["session_id"])
            if kept is None or row["version"] > kept["version"]:
                self.rows[row["session_id"]] = row
        return len(out.sessions) + len(out.journeys) + len(out.alerts)

    def touchpoints(self) -> int:
        return sum(row["event_count"] for row in self.rows.values())


def story(name: str = "sofa") -> list[Touch]:
    person = SCENARIO_BY_NAME[name].person().person_id
    return [t for t in simulated_touches(customers=0, days=1, seed=11)[0] if t.person_id == person]


def fold(stage: PersonStage, touches: list[Touch], seen: Sessions) -> tuple[PersonStage, int]:
    """Fold through a JSON round trip per step; returns the state and how many records went out."""
    emitted, person = 0, stage.journey.person_id
    for t in touches:
        t = dataclasses.replace(t, person_id=person)
        emitted += seen.add(on_touch(stage, t, to_ms(t.event_time), NOW))
        stage = PersonStage.load(person, json.loads(json.dumps(stage.dump())))
    return stage, emitted


def test_a_replayed_tail_of_touchpoints_is_folded_once() -> None:
    touches, seen = story(), Sessions()
    once, _ = fold(PersonStage.new("P"), touches, seen)
    assert seen.touchpoints() == len(touches)
    replayed, emitted = fold(once, touches[-5:], seen)  # the uncommitted tail, read again after a crash
    assert emitted == 0
    assert replayed.dump() == once.dump()
    assert seen.touchpoints() == len(touches)


def test_only_the_latest_events_are_remembered_and_a_new_one_still_counts() -> None:
    touches, seen = story(), Sessions()
    stage, _ = fold(PersonStage.new("P"), touches, seen)
    assert len(stage.recent) == min(len(touches), RECENT_EVENTS)
    fresh = dataclasses.replace(touches[-1], event_id="a-new-event")
    _, emitted = fold(stage, [fresh], seen)
    assert emitted > 0
    assert seen.touchpoints() == len(touches) + 1


def test_a_replayed_merge_is_absorbed_once_and_carries_the_losers_memory() -> None:
    touches, seen = story(), Sessions()
    half = len(touches) // 2
    survivor, _ = fold(PersonStage.new("P-survivor"), touches[:half], seen)
    loser, _ = fold(PersonStage.new("P-loser"), touches[half:], seen)  # session ids survive merges
    seen.add(on_merge(survivor, loser, NOW))
    merged = PersonStage.load("P-survivor", json.loads(json.dumps(survivor.dump())))
    assert seen.touchpoints() == len(touches)
    assert seen.add(on_merge(merged, loser, NOW)) == 0
    # A touchpoint of the loser's replayed after the merge, forwarded to the survivor, is known.
    _, emitted = fold(merged, touches[-1:], seen)
    assert emitted == 0
    assert seen.touchpoints() == len(touches)


def _replayed_to(stage: PersonStage, touch: Touch, seen: Sessions) -> PersonStage:
    """The identity stage, replaying after a crash, resolves ``touch`` again, to ``stage``'s person."""
    stage, _ = fold(stage, [touch], seen)
    return stage


def test_an_event_the_loser_sealed_and_the_survivor_got_again_counts_once_after_the_merge() -> None:
    touches, seen = story(), Sessions()
    # The loser folded the whole story: its first touchpoints are sealed (days behind its watermark).
    loser, _ = fold(PersonStage.new("P-loser"), touches, seen)
    # After a crash the identity stage resolved the second touchpoint again, now to the survivor.
    # (Not the first of its session: a session's id comes from its first event, so a twin of a
    # first event would share the id and the sink would keep one of the two rows.)
    survivor = _replayed_to(PersonStage.new("P-survivor"), touches[1], seen)
    assert seen.touchpoints() == len(touches) + 1  # two persons, one event each: the duplicate
    seen.add(on_merge(survivor, loser, NOW))
    assert seen.touchpoints() == len(touches)


def test_an_event_the_survivor_sealed_and_the_loser_holds_raw_counts_once_after_the_merge() -> None:
    touches, seen = story(), Sessions()
    first_day = [t for t in touches if t.event_time.date() == touches[0].event_time.date()]
    replayed = touches[1]
    survivor = _replayed_to(PersonStage.new("P-survivor"), replayed, seen)
    # Event time moves on past the grace period (4 h) but not past the session's gap: the survivor's
    # copy is sealed into a session that is still live, so a late twin would be added to it.
    grace_passed = to_ms(replayed.event_time) + 4 * 3_600_000 + 10 * 60_000
    seen.add(on_tick(survivor, grace_passed, NOW))
    assert survivor.journey.tail == []
    loser, _ = fold(PersonStage.new("P-loser"), first_day, seen)
    seen.add(on_merge(survivor, loser, NOW))
    assert seen.touchpoints() == len(first_day)


def test_an_event_both_hold_raw_counts_once_after_the_merge() -> None:
    touches, seen = story(), Sessions()
    first_day = [t for t in touches if t.event_time.date() == touches[0].event_time.date()]
    loser, _ = fold(PersonStage.new("P-loser"), first_day, seen)
    survivor = _replayed_to(PersonStage.new("P-survivor"), first_day[-1], seen)
    seen.add(on_merge(survivor, loser, NOW))
    assert seen.touchpoints() == len(first_day)
