"""Ground truth: complete, consistent with the events, and round-trips through its JSON file."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from pathlib import Path

import pytest

from producers.simulator import (
    SDK_INVALID_KINDS,
    WIRE_INVALID_KINDS,
    GroundTruth,
    SimulatedEvent,
    Simulation,
    load_ground_truth,
    simulate,
    write_ground_truth,
)

Run = tuple[Simulation, list[SimulatedEvent], GroundTruth]


@pytest.fixture(scope="module")
def run() -> Run:
    sim = simulate(800, 14, seed=21, invalid_share=0.01)
    events = list(sim)
    return sim, events, sim.ground_truth


def canonical(kind: str, raw: str) -> str:
    """Independent of the simulator's code: how an e-mail or an Italian mobile number is normalised."""
    if kind == "email":
        return raw.strip().lower()
    if kind == "phone":
        digits = "".join(ch for ch in raw if ch.isdigit())
        if "+" in raw:
            return "+" + digits
        if digits.startswith("00"):
            return "+" + digits[2:]
        return "+39" + digits
    return raw


def test_every_valid_event_is_in_exactly_one_journey(run: Run) -> None:
    _, events, truth = run
    valid = [e.event_id for e in events if e.valid]
    in_journeys = [eid for j in truth.journeys for eid in j.event_ids]
    assert len(in_journeys) == len(set(in_journeys))
    assert set(in_journeys) == set(valid)
    assert truth.channel_counts == dict(sorted(Counter(e.channel for e in events if e.valid).items()))
    assert truth.valid_events == len(valid)


def test_window_shoppers_never_convert_and_others_do(run: Run) -> None:
    _, _, truth = run
    profile = {p.person_id: p.profile for p in truth.persons}
    converted = {j.person_id for j in truth.journeys if j.outcome in ("purchase", "pickup")}
    assert converted
    assert not {p for p in converted if profile[p] == "window_shopper"}
    assert {j.person_id for j in truth.journeys if profile[j.person_id] == "window_shopper"}


def test_journeys_are_in_event_time_order_with_their_channels(run: Run) -> None:
    _, events, truth = run
    by_id = {e.event_id: e for e in events}
    assert {j.outcome for j in truth.journeys} <= {"purchase", "pickup", "resolution", "abandoned"}
    assert {"purchase", "pickup", "resolution", "abandoned"} <= {j.outcome for j in truth.journeys}
    for journey in truth.journeys:
        times = [by_id[e].payload["event_time"] for e in journey.event_ids]
        assert times == sorted(times)
        assert journey.start == times[0]
        assert journey.end == times[-1]
        assert list(journey.channels) == [by_id[e].payload["channel"] for e in journey.event_ids]


def test_every_identifier_on_an_event_belongs_to_the_events_person(run: Run) -> None:
    _, events, truth = run
    owner = truth.identifier_person()
    shared = {(s.type, s.value): set(s.person_ids) for s in truth.shared_identifiers}
    person_of_event = truth.event_person()
    checked = 0
    for event in events:
        if not event.valid:
            continue
        person = person_of_event[event.event_id]
        for ident in event.payload["identifiers"]:
            key = (ident["type"], canonical(ident["type"], ident["value"]))
            if key in shared:
                assert person in shared[key]
            else:
                assert owner[key] == person, key
            checked += 1
    assert checked > 10_000


def test_identifiers_of_different_persons_never_collide(run: Run) -> None:
    _, _, truth = run
    all_ids = [i for p in truth.persons for i in p.identifiers]
    assert len(all_ids) == len(set(all_ids))
    assert len(truth.persons) == truth.customers + len(truth.scenarios)


def test_shared_devices_do_not_make_their_users_one_person(run: Run) -> None:
    _, events, truth = run
    by_kind: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
    for s in truth.shared_identifiers:
        by_kind.setdefault(s.kind, []).append((s.type, s.value, s.person_ids))
    owner = truth.identifier_person()
    households = {p.person_id: p.household_id for p in truth.persons}
    tablets = [t for t in by_kind["family_tablet"] if len(t[2]) == 2]
    assert tablets, "a family tablet used by two persons of one household"
    for kind, value, persons in tablets:
        assert (kind, value) not in owner
        assert persons[0] != persons[1]
        assert households[persons[0]] == households[persons[1]]
    kiosks = [k for k in by_kind["store_kiosk"] if len(k[2]) >= 3]
    assert kiosks, "a store kiosk used by many customers"
    person_of_event = truth.event_person()
    for kind, value, persons in kiosks:
        assert (kind, value) not in owner
        users = {
            person_of_event[e.event_id]
            for e in events
            if e.valid and {"type": kind, "value": value} in e.payload["identifiers"]
        }
        assert users == set(persons)
        assert len({households[p] for p in users}) > 1


def test_a_person_with_two_emails_uses_both(run: Run) -> None:
    _, events, truth = run
    two = {p.person_id: {v for t, v in p.identifiers if t == "email"} for p in truth.persons}
    two = {pid: emails for pid, emails in two.items() if len(emails) == 2}
    assert two
    person_of_event = truth.event_person()
    used: dict[str, set[str]] = {}
    for event in events:
        if event.valid and person_of_event[event.event_id] in two:
            for ident in event.payload["identifiers"]:
                if ident["type"] == "email":
                    used.setdefault(person_of_event[event.event_id], set()).add(
                        canonical("email", ident["value"])
                    )
    assert any(used.get(pid) == emails for pid, emails in two.items())


def test_hashed_keys_identifiers_as_on_the_wire(run: Run) -> None:
    _, _, truth = run

    def h(value: str) -> str:
        return hashlib.sha256(value.encode()).hexdigest()

    hashed = truth.hashed(h, lambda v: "p" + h(v))
    raw = truth.identifier_person()
    assert len(hashed) == len(raw)
    giulia = "P-SOFA-GIULIA"
    assert hashed[("hashed_phone", "p" + h("+393331234567"))] == giulia
    assert hashed[("hashed_email", h("giulia.rossi@example.it"))] == giulia
    assert hashed[("loyalty_id", "LOY-00003001")] == giulia
    assert not {k for k in hashed if k[0] in ("email", "phone")}


def test_invalid_events_are_listed_with_kind_and_stage(run: Run) -> None:
    _, events, truth = run
    invalid = [e for e in events if not e.valid]
    assert sorted((i.event_id, i.kind, i.channel) for i in truth.invalid) == sorted(
        (e.event_id, str(e.invalid_kind), e.channel) for e in invalid
    )
    for record in truth.invalid:
        assert record.kind in (WIRE_INVALID_KINDS if record.stage == "wire" else SDK_INVALID_KINDS)
    stages = {e.event_id: ("wire" if e.wire is not None else "sdk") for e in invalid}
    assert {i.event_id: i.stage for i in truth.invalid} == stages
    assert not set(stages) & set(truth.event_person())


def test_handoffs_point_at_the_persons_own_events(run: Run) -> None:
    _, events, truth = run
    person_of_event = truth.event_person()
    kinds = Counter(h.kind for h in truth.handoffs)
    assert {"repeat_contact", "reservation_not_picked_up", "unpurchasable_landing"} <= set(kinds)
    by_id = {e.event_id: e.payload for e in events}
    for handoff in truth.handoffs:
        assert {person_of_event[e] for e in handoff.event_ids} == {handoff.person_id}
        if handoff.kind == "repeat_contact":
            assert {by_id[e]["case_id"] for e in handoff.event_ids} == {handoff.case_id}
            channels = [by_id[e]["channel"] for e in handoff.event_ids]
            assert all(a != b for a, b in itertools.pairwise(channels))
        if handoff.kind == "reservation_not_picked_up":
            assert by_id[handoff.event_ids[-1]]["event_type"] == "reservation_expired"
            picked = [p for p in by_id.values() if p["event_type"] == "reservation_picked_up"]
            assert all(p["context"].get("reservation_id") != handoff.reservation_id for p in picked)
        if handoff.kind == "unpurchasable_landing":
            assert by_id[handoff.event_ids[-1]]["context"]["purchasable"] is False


def test_ground_truth_round_trips_through_json(run: Run, tmp_path: Path) -> None:
    sim, _, truth = run
    path = write_ground_truth(truth, tmp_path / "truth.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == "omnijourney-ground-truth"
    assert doc["customers"] == 800
    loaded = load_ground_truth(path)
    assert loaded == truth
    assert loaded.event_person() == truth.event_person()
    assert sim.write_ground_truth(tmp_path / "again.json").read_bytes() == path.read_bytes()


def test_loading_something_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"format": "something-else"}', encoding="utf-8")
    with pytest.raises(ValueError, match="omnijourney-ground-truth"):
        load_ground_truth(path)


def test_truth_asked_before_iterating_equals_truth_after() -> None:
    eager = simulate(60, 4, seed=8).ground_truth
    sim = simulate(60, 4, seed=8)
    events = list(sim)
    assert sim.ground_truth == eager
    assert eager.valid_events == sum(e.valid for e in events)


def test_summary_counts_match_the_stream(run: Run) -> None:
    sim, events, truth = run
    summary = sim.summary()
    assert summary.valid == sum(e.valid for e in events)
    assert summary.invalid == sum(not e.valid for e in events)
    assert summary.events_by_channel == dict(Counter(e.channel for e in events))
    assert sum(summary.events_by_channel.values()) == len(events)
    assert summary.journeys == len(truth.journeys)
    text = summary.render()
    assert "customers=800" in text
    assert "sofa" in text
