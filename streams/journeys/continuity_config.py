"""Windows and limits of the continuity rules, as one plain config object built by the composition root.

Defaults follow the simulated retailer (and most real ones): reservations are held 7 days, a repeat
contact counts when it comes within a week of the previous one, a store visit is the last few hours.
The reservation hold is a default because the touchpoint's ``attributes.hold_until`` (a date) does
not reach the journey stage's :class:`~streams.journeys.touch.Touch`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


def ms(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() * 1_000)


@dataclass(frozen=True, slots=True)
class ContinuityConfig:
    reservation_hold: dt.timedelta = dt.timedelta(days=7)
    """A reservation not picked up this long after it was created has expired."""
    repeat_window: dt.timedelta = dt.timedelta(days=7)
    """A new contact about an open case within this time of the previous contact is a repeat contact."""
    stock_window: dt.timedelta = dt.timedelta(days=14)
    """A store stock check this long after an unanswered chat stock check still follows from it."""
    visit_window: dt.timedelta = dt.timedelta(hours=4)
    """A store visit this long before a stock check is the visit it happened in (evidence)."""
    click_window: dt.timedelta = dt.timedelta(minutes=30)
    """A campaign click this long before a landing page view is the click that led there."""
    conversation_idle: dt.timedelta = dt.timedelta(days=7)
    """A conversation with no open case or reservation stays open this long after its last touch."""
    retention: dt.timedelta = dt.timedelta(days=14)
    """Closed conversations, reservations, visits and clicks are kept this long (late events, the card)."""
    open_ttl: dt.timedelta = dt.timedelta(days=45)
    """An open case, cart or return with no touch for this long is dropped (the customer moved on)."""
    alert_retention: dt.timedelta = dt.timedelta(days=30)
    """Alerts stay on the card this long after the break."""
    max_alerts: int = 20
    max_identifiers: int = 32
