"""The journey stage's view of one resolved touchpoint: flat, immutable, cheap to compare.

The Avro record (``io.omnijourney.ResolvedTouchpoint``) nests the touchpoint and its context; the
journey logic reads a dozen of its fields per event and sorts by event time, so it is flattened once
on the way in instead of being walked as nested dicts in every rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class Touch:
    """One touchpoint of one person, as the journey stage needs it. Times are aware UTC."""

    event_id: str
    event_time: dt.datetime
    channel: str
    event_type: str
    person_id: str
    identifiers: tuple[tuple[str, str], ...] = ()
    session_id: str | None = None
    conversation_id: str | None = None
    case_id: str | None = None
    store_id: str | None = None
    agent_id: str | None = None
    campaign_id: str | None = None
    url: str | None = None
    purchasable: bool | None = None
    product_ids: tuple[str, ...] = ()
    order_id: str | None = None
    reservation_id: str | None = None
    amount_cents: int | None = None
    currency: str | None = None
    summary: str | None = None
    consent: tuple[tuple[str, bool], ...] = ()

    @property
    def order_key(self) -> tuple[dt.datetime, str]:
        """Event-time order with the event id as tie-break, so every replay sorts the same way."""
        return (self.event_time, self.event_id)


def _utc(value: Any) -> dt.datetime:
    """fastavro gives aware datetimes for timestamp-millis; raw ints (ms) are accepted too."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive event_time: journey logic works in aware UTC only")
        return value.astimezone(dt.UTC)
    return EPOCH + dt.timedelta(milliseconds=int(value))


def touch_from_resolved(record: dict[str, Any]) -> Touch:
    """Flatten a decoded ``ResolvedTouchpoint`` Avro record (as the codec returns it)."""
    tp = record["touchpoint"]
    ctx = tp.get("context") or {}
    consent = tp.get("consent") or {}
    return Touch(
        event_id=str(tp["event_id"]),
        event_time=_utc(tp["event_time"]),
        channel=tp["channel"],
        event_type=tp["event_type"],
        person_id=record["person_id"],
        identifiers=tuple((i["type"], i["value"]) for i in tp.get("identifiers") or ()),
        session_id=tp.get("session_id"),
        conversation_id=tp.get("conversation_id"),
        case_id=tp.get("case_id"),
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
        consent=tuple((k, bool(v)) for k, v in consent.items() if v is not None),
    )
