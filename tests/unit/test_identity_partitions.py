"""The key property: one identity map whatever the partitions, the interleaving or the crashes.

Two populations: adversarial random stories (shared values, conflicting account ids, junk, late
and duplicated events) compared with the reference function of the event set, and simulated
customers (shared family tablets, store kiosks, several e-mails) scored against ground truth.
"""

from __future__ import annotations

import random
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producers.pii import PiiHasher
from producers.simulator import simulate
from streams.identity.guards import screen
from streams.identity.hops import start
from streams.identity.inmemory import Faults, PartitionedRun
from streams.identity.protocol import Observe
from streams.identity.reference import identity_map_of
from streams.identity.score import (
    PairScores,
    WireEvent,
    linkable_truth,
    pairwise_scores,
    truth_keys,
    wire_events,
)

PII_KEY = b"identity-partition-test-key-0123456789"
TYPES = ("customer_id", "crm_id", "loyalty_id", "hashed_email", "hashed_phone", "device", "cookie", "ad_id")
Event = tuple[str, int, list[tuple[str, str]]]


def story(rng: random.Random, events: int = 70, universe: int = 24) -> list[Event]:
    """Random events over a small universe, so values collide, guards fire and clusters merge."""
    values = [(rng.choice(TYPES), f"v{rng.randrange(universe)}") for _ in range(universe)]
    values += [("cookie", "null"), ("device", "0000")]
    out = []
    for n in range(events):
        identifiers = [rng.choice(values) for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))]
        out.append((f"e{n:04d}", 1_790_000_000_000 + rng.randrange(40) * 1_000, identifiers))
    return out + [rng.choice(out) for _ in range(4)]  # producer retries: the same event twice


def first_messages(events: list[Event], rng: random.Random | None = None) -> list[Observe]:
    messages = [start(e, t, ids) for e, t, ids in events if screen(ids).keys]
    if rng is not None:
        rng.shuffle(messages)
    return messages


@pytest.mark.parametrize("seed", range(12))
def test_random_stories_converge_to_the_reference_map(seed: int) -> None:
    rng = random.Random(seed)
    events = story(rng)
    expected = identity_map_of(events)
    for partitions in (1, 3, 8):
        result = PartitionedRun(partitions, seed=seed * 10 + partitions).run(first_messages(events, rng))
        assert result.identity_map() == expected
        cached = result.cached_map()
        assert {k: cached[k] for k in expected} == expected  # without crashes the caches catch up too


@pytest.mark.parametrize("seed", range(6))
def test_crashes_and_replays_do_not_change_the_map(seed: int) -> None:
    rng = random.Random(1000 + seed)
    events = story(rng)
    expected = identity_map_of(events)
    faults = Faults(crash=0.04, flush=0.2, commit=0.03, max_crashes=60)
    result = PartitionedRun(5, seed=seed, faults=faults, wire=True).run(first_messages(events, rng))
    assert result.crashes > 0
    assert result.identity_map() == expected
    assert {r.event_id for r in result.resolved} == {m.event.event_id for m in first_messages(events)}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(
        st.tuples(
            st.integers(0, 30),
            st.lists(
                st.tuples(st.sampled_from(TYPES[:7]), st.sampled_from("abcdefg")), min_size=1, max_size=4
            ),
        ),
        min_size=1,
        max_size=40,
    ),
    partitions=st.integers(2, 8),
    seed=st.integers(0, 2**16),
)
def test_any_story_any_interleaving(
    events: list[tuple[int, list[tuple[str, str]]]], partitions: int, seed: int
) -> None:
    stamped = [
        (f"e{n:03d}", 1_790_000_000_000 + minute * 60_000, ids) for n, (minute, ids) in enumerate(events)
    ]
    result = PartitionedRun(partitions, seed=seed).run(first_messages(stamped, random.Random(seed)))
    assert result.identity_map() == identity_map_of(stamped)


# -- simulated customers -----------------------------------------------------------------------------


@cache
def population(customers: int, seed: int) -> tuple[tuple[WireEvent, ...], dict[str, str], dict[str, str]]:
    """Events as the stage receives them, the ground truth and the linkable truth, by identifier key."""
    simulation = simulate(customers, 30, seed=seed)
    events = tuple(wire_events(simulation, PII_KEY))
    truth = truth_keys(simulation.ground_truth, PiiHasher(PII_KEY, "39"))
    return events, truth, linkable_truth(truth, (screen(e.identifiers).keys for e in events))


def scores(mapping: dict[str, str], truth: dict[str, str]) -> PairScores:
    result = pairwise_scores(mapping, truth)
    assert result.identifiers > 0.5 * len(truth)  # most of the population was seen and scored
    return result


@pytest.mark.parametrize(("customers", "seed"), [(400, 11), (300, 12)])
def test_a_simulated_month_is_the_same_at_1_and_8_partitions_and_matches_the_truth(
    customers: int, seed: int
) -> None:
    events, truth, linkable = population(customers, seed)
    messages = [start(e.event_id, e.time, e.identifiers) for e in events]
    single = PartitionedRun(1, seed=seed).run(messages).identity_map()
    for interleaving in range(3):
        rng = random.Random(seed * 100 + interleaving)
        shuffled = list(messages)
        rng.shuffle(shuffled)
        assert PartitionedRun(8, seed=interleaving).run(shuffled).identity_map() == single
    assert single == identity_map_of((e.event_id, e.time, e.identifiers) for e in events)
    against_linkable = scores(single, linkable)
    assert against_linkable.precision >= 0.999
    assert against_linkable.recall >= 0.999
    assert scores(single, truth).precision >= 0.999  # no two real persons glued by a kiosk or tablet


def test_a_simulated_month_survives_crashes() -> None:
    events, _, _ = population(300, 12)
    messages = [start(e.event_id, e.time, e.identifiers) for e in events]
    expected = PartitionedRun(1).run(messages).identity_map()
    faults = Faults(crash=0.002, max_crashes=40)
    crashed = PartitionedRun(8, seed=3, faults=faults).run(messages)
    assert crashed.crashes == 40
    assert crashed.identity_map() == expected


@pytest.mark.parametrize("seed", [0, 3])
def test_an_event_replayed_after_a_crash_resolves_to_the_person_it_resolved_to_first(seed: int) -> None:
    """Tables kept (changelog ahead of the offsets), the events read again meet merges made since
    their first reading. Downstream already has them under their first person: a second person
    would count them twice (in a session of each). Without the identifiers' and clusters' memory
    of resolved events, these seeds resolve a few events to two persons."""
    events, _, _ = population(300, 12)
    messages = [start(e.event_id, e.time, e.identifiers) for e in events]
    faults = Faults(crash=0.002, max_crashes=40, behind=0.0)
    crashed = PartitionedRun(8, seed=seed, faults=faults).run(messages)
    assert crashed.crashes == 40
    persons: dict[str, set[str]] = {}
    for r in crashed.resolved:
        persons.setdefault(r.event_id, set()).add(r.person_id)
    assert len(crashed.resolved) > len(persons)  # events were resolved again
    assert {e: p for e, p in persons.items() if len(p) > 1} == {}
