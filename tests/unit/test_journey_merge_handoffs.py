"""Hand-offs only a merge reveals: the chat reservation under one person, the store visit under another.

In the live pipeline the store visit is often resolved before identity stitching has merged the
two persons (the visit's own identifiers cause the merge), so the continuity state of each half
alone shows nothing wrong. The merged state must raise the alert the whole story deserves.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from producers.simulator import SCENARIO_BY_NAME
from schemas.codec import Codec
from streams.journeys import continuity
from streams.journeys.alerts import ALERT_AVRO_NAME
from streams.journeys.continuity_state import ContinuityState
from streams.journeys.touch import Touch
from tests.unit.journey_sim import simulated_touches

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
IN_STORE = ("store", "pos")
CODEC = Codec()


def split_story(name: str) -> tuple[list[Touch], list[Touch]]:
    """The scenario's touches as two persons: what happened online, and what happened in store."""
    person = SCENARIO_BY_NAME[name].person().person_id
    touches = [t for t in simulated_touches(customers=0, days=1, seed=11)[0] if t.person_id == person]
    online = [dataclasses.replace(t, person_id="P-online") for t in touches if t.channel not in IN_STORE]
    store = [dataclasses.replace(t, person_id="P-store") for t in touches if t.channel in IN_STORE]
    return online, store


def fold_all(person_id: str, touches: list[Touch]) -> tuple[ContinuityState, list[dict[str, object]]]:
    state, alerts = continuity.new_state(person_id), []
    for touch in touches:
        alerts += continuity.fold(state, touch, NOW)
    return state, alerts


def test_a_lost_reservation_is_found_when_the_store_visit_merges_in() -> None:
    online_touches, store_touches = split_story("sofa_reservation_lost")
    online, online_alerts = fold_all("P-online", online_touches)
    store, store_alerts = fold_all("P-store", store_touches)
    assert not [a for a in online_alerts + store_alerts if a["kind"] == "reservation_missing_at_store"]

    merged_alerts = continuity.merge(online, store, NOW)

    missing = [a for a in merged_alerts if a["kind"] == "reservation_missing_at_store"]
    assert [a["reservation_id"] for a in missing] == ["RES-SOFA-SARA"]
    assert missing[0]["person_id"] == "P-online"
    # Found missing, the reservation is not reported again as merely not picked up at its expiry.
    late = max(t.event_time for t in online_touches + store_touches) + dt.timedelta(days=30)
    assert not [a for a in continuity.expire(online, late, NOW) if a["kind"] == "reservation_not_picked_up"]


def test_the_happy_story_stays_quiet_when_merged() -> None:
    online_touches, store_touches = split_story("sofa")
    online, _ = fold_all("P-online", online_touches)
    store, _ = fold_all("P-store", store_touches)
    kinds = {a["kind"] for a in continuity.merge(store, online, NOW)}
    assert "reservation_missing_at_store" not in kinds


def test_replaying_the_checks_twice_raises_nothing_new() -> None:
    online_touches, store_touches = split_story("sofa_reservation_lost")
    online, _ = fold_all("P-online", online_touches)
    store, _ = fold_all("P-store", store_touches)
    first = continuity.merge(online, store, NOW)
    again = continuity.merge(online, continuity.new_state("P-empty"), NOW)
    assert [a for a in first if a["kind"] == "reservation_missing_at_store"]
    assert not [a for a in again if a["kind"] == "reservation_missing_at_store"]


def test_a_reservation_reported_not_picked_up_is_retracted_when_a_merge_finds_it_missing() -> None:
    online_touches, store_touches = split_story("sofa_reservation_lost")
    online, _ = fold_all("P-online", online_touches)
    store, _ = fold_all("P-store", store_touches)
    # The online half sees the reservation expire before the merge: "not picked up".
    expiry = max(t.event_time for t in online_touches + store_touches) + dt.timedelta(days=30)
    expired = [a for a in continuity.expire(online, expiry, NOW) if a["kind"] == "reservation_not_picked_up"]
    assert [a["reservation_id"] for a in expired] == ["RES-SOFA-SARA"]

    later = NOW + dt.timedelta(minutes=5)
    merged_alerts = continuity.merge(online, store, later)

    missing = [a for a in merged_alerts if a["kind"] == "reservation_missing_at_store"]
    retracted = [a for a in merged_alerts if a["retracted_by"] is not None]
    assert [a["alert_id"] for a in retracted] == [expired[0]["alert_id"]]
    assert retracted[0]["retracted_by"] == missing[0]["alert_id"]
    # A later detection than the alert it withdraws: the sink keeps one row per alert_id, the latest.
    assert retracted[0]["detected_at"] > expired[0]["detected_at"]
    assert all(a["retracted_by"] is None for a in missing)
    decoded = CODEC.decode(CODEC.encode(ALERT_AVRO_NAME, retracted[0])).record
    assert decoded["retracted_by"] == missing[0]["alert_id"]  # the contract carries it
    assert expired[0]["alert_id"] not in online.alerts
    # Merging the same halves again withdraws nothing twice.
    again = continuity.merge(online, continuity.new_state("P-empty"), later)
    assert not [a for a in again if a["retracted_by"]]
