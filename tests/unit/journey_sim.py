"""Simulated traffic as the journey stage sees it: valid events only, person ids from ground truth.

Journey logic is scored independently of identity stitching, so the person of every event is the
simulator's true person (what a perfect identity stage would emit). Events keep arrival order, late
POS batches and all, because that is the order the stage consumes them in.
"""

from __future__ import annotations

from producers.simulator import GroundTruth, simulate
from streams.journeys.touch import Touch, touch_from_resolved


def simulated_touches(customers: int, days: int, seed: int) -> tuple[list[Touch], GroundTruth]:
    """Every valid simulated event as a :class:`Touch` in arrival order, with the ground truth."""
    sim = simulate(customers=customers, days=days, seed=seed)
    events = [e for e in sim if e.valid]
    truth = sim.ground_truth
    person_of = truth.event_person()
    return [touch_from_payload(e.payload, person_of[e.event_id]) for e in events], truth


def touch_from_payload(payload: dict[str, object], person_id: str) -> Touch:
    """A simulator payload (SDK input form) as a Touch; raw e-mail/phone values are kept as they are.

    The payload has the touchpoint record's shape, so the stage's own flattening applies.
    """
    return touch_from_resolved({"person_id": person_id, "touchpoint": payload})
