"""The load generator: a deterministic stream of touchpoints in arrival order, plus ground truth.

How it streams without holding a month of events: journeys are planned one day at a time and
expanded in order of their start time. Every event of a journey happens at or after its start and
arrives at or after it happens, so once the next journey starts at ``t`` every pending event that
arrives by ``t`` can be emitted: a heap keyed by arrival time holds only the events still in
flight (late POS batches, reservations picked up days later), never the whole run.

Three independent random streams (population, planning, behaviour) plus one for invalid events
derive from the seed, so the same seed gives the same bytes, and changing ``invalid_share`` or
turning scenarios off does not change the valid population events. Nothing reads the clock.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate, count
from operator import itemgetter
from pathlib import Path
from random import Random
from typing import Final

from producers.simulator.behaviour import KINDS, choose_kind
from producers.simulator.events import DAY, HOUR, SimulatedEvent, to_datetime, to_ms
from producers.simulator.invalid import derive_invalid
from producers.simulator.journey import Expander, Journey
from producers.simulator.population import build_population
from producers.simulator.scenarios import SCENARIOS, Scenario, scenario_expander
from producers.simulator.summary import SimulationSummary, summarize
from producers.simulator.truth import (
    GroundTruth,
    HandoffTruth,
    InvalidTruth,
    JourneyTruth,
    PersonTruth,
    SharedIdentifier,
    write_ground_truth,
)

DEFAULT_START: Final = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
# Relative activity by UTC hour of day (evening peak, quiet nights).
HOUR_WEIGHTS: Final = (
    0.3,
    0.15,
    0.1,
    0.05,
    0.05,
    0.1,
    0.4,
    1.0,
    1.5,
    2.0,
    2.5,
    2.7,
    2.5,
    2.5,
    2.3,
    2.3,
    2.5,
    2.8,
    3.0,
    3.0,
    3.2,
    3.2,
    2.2,
    1.0,
)
_HOUR_CUM: Final = tuple(accumulate(HOUR_WEIGHTS))


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    customers: int
    days: int
    seed: int
    start: dt.datetime
    invalid_share: float
    scenarios: bool


class Simulation:
    """A re-iterable, deterministic simulation: each iteration regenerates the same events.

    Iterating yields :class:`SimulatedEvent` in arrival order. :attr:`ground_truth` is recorded by
    the first complete iteration; asked for earlier, it runs a silent generation pass of its own.
    """

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self._truth: GroundTruth | None = None

    def __iter__(self) -> Iterator[SimulatedEvent]:
        run = _Run(self.config)
        yield from run.events()
        if self._truth is None:
            self._truth = run.truth

    @property
    def ground_truth(self) -> GroundTruth:
        if self._truth is None:
            for _ in self:
                pass
        assert self._truth is not None
        return self._truth

    def write_ground_truth(self, path: str | Path) -> Path:
        return write_ground_truth(self.ground_truth, path)

    def summary(self) -> SimulationSummary:
        return summarize(self.ground_truth)

    @property
    def start(self) -> dt.datetime:
        return self.config.start

    @property
    def end(self) -> dt.datetime:
        """End of the window in which journeys start; their last steps may run past it."""
        return self.config.start + dt.timedelta(days=self.config.days)


def simulate(
    customers: int,
    days: int,
    seed: int = 42,
    start: dt.datetime | None = None,
    invalid_share: float = 0.005,
    scenarios: bool = True,
) -> Simulation:
    """A simulation of ``customers`` persons over ``days`` days from ``start`` (default 2026-10-01Z).

    ``invalid_share`` of the emitted events are invalid (SDK-refused payloads or wire poison);
    ``scenarios`` adds the fixed sofa story and its broken variants, identical for every seed.
    """
    if customers < 0 or days < 0:
        raise ValueError("customers and days must not be negative")
    if not 0.0 <= invalid_share < 1.0:
        raise ValueError("invalid_share must be in [0, 1)")
    when = DEFAULT_START if start is None else start
    if when.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    start_utc = to_datetime(to_ms(when))
    return Simulation(SimulationConfig(customers, days, seed, start_utc, invalid_share, scenarios))


class _Run:
    """One generation pass: plans, expands, orders by arrival and records ground truth."""

    def __init__(self, cfg: SimulationConfig) -> None:
        self.cfg = cfg
        self.start_ms = to_ms(cfg.start)
        self.persons = build_population(cfg.customers, Random(f"{cfg.seed}:population"))
        self.plan_rng = Random(f"{cfg.seed}:plan")
        self.x = Expander(Random(f"{cfg.seed}:behaviour"))
        self.invalid_rng = Random(f"{cfg.seed}:invalid")
        self.invalid_p = cfg.invalid_share / (1.0 - cfg.invalid_share)
        self.scenarios = SCENARIOS if cfg.scenarios else ()
        self.scenario_persons = {s.name: s.person() for s in self.scenarios}
        self.truth = GroundTruth(
            cfg.seed,
            cfg.start,
            cfg.days,
            cfg.customers,
            tuple(s.name for s in self.scenarios),
            cfg.invalid_share,
        )
        for person in [*self.persons, *self.scenario_persons.values()]:
            self.truth.persons.append(
                PersonTruth(
                    person.person_id,
                    person.household_id,
                    person.name,
                    person.profile,
                    person.scenario,
                    tuple(person.identifiers()),
                )
            )
        self.counts: dict[str, int] = {}
        self.shared: dict[tuple[str, str, str], set[str]] = {}
        self.heap: list[tuple[int, int, SimulatedEvent]] = []
        self.seq = count()
        self.journey_no = count(1)

    def events(self) -> Iterator[SimulatedEvent]:
        heap = self.heap
        # Orders are unique (scenarios negative), so tuples never compare their third element.
        scenario_starts = sorted(
            (self.start_ms + s.offset_ms, -1 - i, s) for i, s in enumerate(self.scenarios)
        )
        episodes: Iterator[tuple[int, int, int | Scenario]] = heapq.merge(self._planned(), scenario_starts)
        for t0, _, who in episodes:
            while heap and heap[0][0] <= t0:
                yield heapq.heappop(heap)[2]
            if isinstance(who, Scenario):
                journey = Journey(
                    scenario_expander(who), self.scenario_persons[who.name], who.name, f"J-{who.name}", t0
                )
                who.build(journey)
            else:
                person = self.persons[who]
                kind = choose_kind(person.profile, self.x.rng)
                journey = Journey(self.x, person, kind, f"J{next(self.journey_no):08d}", t0)
                KINDS[kind](journey)
            self._finish(journey, isinstance(who, Scenario))
        while heap:
            yield heapq.heappop(heap)[2]
        self.truth.channel_counts = {c: self.counts[c] for c in sorted(self.counts)}
        self.truth.shared_identifiers = [
            SharedIdentifier(t, v, k, tuple(sorted(ids))) for (t, v, k), ids in sorted(self.shared.items())
        ]

    def _planned(self) -> Iterator[tuple[int, int, int]]:
        """(start ms, order, person index) of population journeys, one day at a time, in start order."""
        if not self.persons:
            return
        rng = self.plan_rng
        cum = list(accumulate(p.activity for p in self.persons))
        rate = cum[-1]
        indices = range(len(self.persons))
        for day in range(self.cfg.days):
            window = self.start_ms + day * DAY
            midnight = window - window % DAY
            n = _poisson(rate, rng)
            who = rng.choices(indices, cum_weights=cum, k=n)
            planned = []
            for person_index in who:
                hour = _pick_hour(rng.random() * _HOUR_CUM[-1])
                t = midnight + hour * HOUR + rng.randrange(HOUR)
                if t < window:
                    t += DAY
                planned.append((t, next(self.seq), person_index))
            planned.sort()
            yield from planned

    def _finish(self, j: Journey, scenario: bool) -> None:
        """Record the journey in ground truth and put its events (and invalid siblings) in flight."""
        events = j.events
        if not events:
            return
        events.sort(key=itemgetter(0))
        person_id = j.person.person_id
        self.truth.journeys.append(
            JourneyTruth(
                j.journey_id,
                person_id,
                j.kind,
                j.outcome,
                to_datetime(events[0][0]),
                to_datetime(events[-1][0]),
                tuple(e[2]["event_id"] for e in events),
                tuple(e[2]["channel"] for e in events),
            )
        )
        for h in j.handoffs:
            self.truth.handoffs.append(
                HandoffTruth(
                    h.kind,
                    person_id,
                    j.journey_id,
                    tuple(h.event_ids),
                    h.store_id,
                    h.reservation_id,
                    h.campaign_id,
                    h.case_id,
                )
            )
        for kind, value, shared_kind in j.shared:
            self.shared.setdefault((kind, value, shared_kind), set()).add(person_id)
        counts, heap, seq, invalid_p, rng = self.counts, self.heap, self.seq, self.invalid_p, self.invalid_rng
        for _, arrival, payload in events:
            channel = payload["channel"]
            counts[channel] = counts.get(channel, 0) + 1
            heapq.heappush(heap, (arrival, next(seq), SimulatedEvent(payload, True, None, arrival, channel)))
            if scenario or invalid_p == 0.0 or rng.random() >= invalid_p:
                continue
            kind, bad, wire = derive_invalid(payload, rng)
            late = arrival + rng.randrange(1, 500)
            heapq.heappush(heap, (late, next(seq), SimulatedEvent(bad, False, kind, late, channel, wire)))
            self.truth.invalid.append(
                InvalidTruth(str(bad["event_id"]), kind, "sdk" if wire is None else "wire", channel)
            )


def _pick_hour(roll: float) -> int:
    return min(bisect_right(_HOUR_CUM, roll), 23)


def _poisson(lam: float, rng: Random) -> int:
    """Journeys started in a day; the normal approximation is exact enough beyond small rates."""
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
