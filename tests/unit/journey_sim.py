"""Simulated traffic as the journey stage sees it: valid events only, person ids from ground truth.

Journey logic is scored independently of identity stitching, so the person of every event is the
simulator's true person (what a perfect identity stage would emit). Events keep arrival order, late
POS batches and all, because that is the order the stage consumes them in.
"""

from __future__ import annotations

from producers.simulator import GroundTruth, simulate
from streams.journeys.touch import Touch


def simulated_touches(customers: int, days: int, seed: int) -> tuple[list[Touch], GroundTruth]:
    """Every valid simulated event as a :class:`Touch` in arrival order, with the ground truth."""
    sim = simulate(customers=customers, days=days, seed=seed)
    events = [e for e in sim if e.valid]
    truth = sim.ground_truth
    person_of = truth.event_person()
    return [touch_from_payload(e.payload, person_of[e.event_id]) for e in events], truth


def touch_from_payload(payload: dict[str, object], person_id: str) -> Touch:
    """A simulator payload (SDK input form) as a Touch; raw e-mail/phone values are kept as they are."""
    ctx = payload.get("context") or {}
    assert isinstance(ctx, dict)
    consent = payload.get("consent") or {}
    assert isinstance(consent, dict)
    idents = payload.get("identifiers") or []
    assert isinstance(idents, list)
    return Touch(
        event_id=str(payload["event_id"]),
        event_time=payload["event_time"],  # type: ignore[arg-type]
        channel=str(payload["channel"]),
        event_type=str(payload["event_type"]),
        person_id=person_id,
        identifiers=tuple((str(i["type"]), str(i["value"])) for i in idents),
        session_id=payload.get("session_id"),  # type: ignore[arg-type]
        conversation_id=payload.get("conversation_id"),  # type: ignore[arg-type]
        case_id=payload.get("case_id"),  # type: ignore[arg-type]
        store_id=ctx.get("store_id"),
        agent_id=ctx.get("agent_id"),
        campaign_id=ctx.get("campaign_id"),
        url=ctx.get("url"),
        purchasable=ctx.get("purchasable"),
        product_ids=tuple(ctx.get("product_ids") or ()),
        order_id=ctx.get("order_id"),
        reservation_id=ctx.get("reservation_id"),
        amount_cents=ctx.get("amount_cents"),
        currency=ctx.get("currency"),
        summary=ctx.get("summary"),
        consent=tuple((str(k), bool(v)) for k, v in consent.items() if v is not None),
    )
