"""Building blocks for behaviour: a journey under construction and the state shared while expanding.

A behaviour function receives a :class:`Journey` and emits events into it at event times it chooses
(never before the journey's start, which is what lets the generator stream in arrival order).
The journey assigns ids, computes when each event *arrives* at the producer (network delay, ESP
webhooks, an app's offline queue, a store's POS batch upload) and remembers hand-offs and shared
devices for ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random
from typing import Any, Final

from producers.simulator.events import DAY, HOUR, MINUTE, below, to_datetime, uuid4
from producers.simulator.formats import email_variant, phone_variant
from producers.simulator.population import Person
from producers.simulator.world import Store

# Channel -> (min, max) milliseconds between the event and its arrival at the producer.
ARRIVAL_DELAY: Final = {
    "web": (30, 1_500),
    "app": (50, 3_000),
    "ads": (1_000, 90_000),  # ad-server logs are shipped every minute or so
    "social": (5_000, 600_000),  # platform webhooks are slow and bursty
    "email": (1_000, 300_000),  # ESP open/click webhooks
    "chat": (20, 800),
    "call_center": (500, 5_000),
    "store": (200, 3_000),
    "pos": (200, 3_000),  # online tills; batch tills are handled by Journey.pos_arrival
}
ARRIVAL_DELAY_MS: Final = {c: (lo, hi - lo) for c, (lo, hi) in ARRIVAL_DELAY.items()}  # (min, span)
POS_BATCH_DELAY_MS: Final = HOUR
POS_BATCH_WINDOW_MS: Final = 10 * MINUTE


def ident(kind: str, value: str) -> dict[str, str]:
    """An identifier entry in SDK input form (``email``/``phone`` entries carry raw values)."""
    return {"type": kind, "value": value}


@dataclass(slots=True)
class Handoff:
    """A broken hand-off between departments, as an alert should find it."""

    kind: str
    event_ids: list[str]
    store_id: str | None = None
    reservation_id: str | None = None
    campaign_id: str | None = None
    case_id: str | None = None


class Expander:
    """The random stream and id counters shared by every journey of one run (or one scenario)."""

    def __init__(self, rng: Random, id_tag: str = "") -> None:
        self.rng = rng
        self.id_tag = id_tag
        self._counters: dict[str, int] = {}

    def next_id(self, prefix: str) -> str:
        """Sequential business ids (orders, cases, reservations): unique without any lookup."""
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        return f"{prefix}-{self.id_tag}{n:07d}"


class Journey:
    """One person's journey towards an outcome; collects its events with event and arrival times."""

    __slots__ = (
        "events",
        "handoffs",
        "journey_id",
        "kind",
        "outcome",
        "person",
        "rng",
        "shared",
        "start",
        "x",
    )

    def __init__(self, x: Expander, person: Person, kind: str, journey_id: str, start: int) -> None:
        self.x = x
        self.rng = x.rng
        self.person = person
        self.kind = kind
        self.journey_id = journey_id
        self.start = start
        self.outcome = "abandoned"
        self.events: list[tuple[int, int, dict[str, Any]]] = []
        self.handoffs: list[Handoff] = []
        self.shared: list[tuple[str, str, str]] = []  # (type, value, shared kind)

    def emit(
        self,
        t: int,
        channel: str,
        event_type: str,
        identifiers: list[dict[str, str]],
        source: str,
        *,
        session_id: str | None = None,
        conversation_id: str | None = None,
        case_id: str | None = None,
        context: dict[str, Any] | None = None,
        consent: dict[str, bool | None] | None = None,
        attributes: dict[str, str] | None = None,
        arrival: int | None = None,
    ) -> str:
        """Record one event at epoch-ms ``t``; returns its event id."""
        if t < self.start:
            raise ValueError(f"{self.kind}: event at {t} before the journey start {self.start}")
        if arrival is None:
            lo, span = ARRIVAL_DELAY_MS[channel]
            arrival = t + lo + int(self.rng.random() * span)
        event_id = uuid4(self.rng)
        payload: dict[str, Any] = {
            "event_id": event_id,
            "event_time": to_datetime(t),
            "channel": channel,
            "event_type": event_type,
            "identifiers": identifiers,
            "source": source,
            "session_id": session_id,
            "conversation_id": conversation_id,
            "case_id": case_id,
            "context": {} if context is None else context,
            "consent": consent,
            "attributes": {} if attributes is None else attributes,
        }
        self.events.append((t, arrival, payload))
        return event_id

    def handoff(self, kind: str, event_ids: list[str], **ids: str | None) -> None:
        self.handoffs.append(Handoff(kind, event_ids, **ids))

    def use_shared(self, kind: str, value: str, shared_kind: str) -> dict[str, str]:
        """An identifier of a device several persons use; remembered so ground truth can list them."""
        self.shared.append((kind, value, shared_kind))
        return ident(kind, value)

    # -- identifiers in raw form ------------------------------------------------------------------

    def email(self) -> dict[str, str]:
        """One of the person's e-mail addresses, spelled as someone typed it this time."""
        emails = self.person.emails
        chosen = emails[0] if len(emails) == 1 else emails[below(self.rng, len(emails))]
        return ident("email", email_variant(chosen, self.rng))

    def phone(self) -> dict[str, str]:
        assert self.person.phone is not None
        return ident("phone", phone_variant(self.person.phone, self.rng))

    def cookie(self) -> str:
        cookies = self.person.cookies
        return cookies[0] if len(cookies) == 1 else cookies[below(self.rng, len(cookies))]

    # -- time ---------------------------------------------------------------------------------------

    def gap(self, lo_s: float, hi_s: float) -> int:
        """A pause between two actions, in ms."""
        return int(self.rng.uniform(lo_s, hi_s) * 1_000)

    def opening_hours(self, t: int, open_h: int, close_h: int) -> int:
        """``t`` if a staffed channel is open then, otherwise a moment soon after the next opening."""
        midnight = t - t % DAY
        if midnight + open_h * HOUR <= t < midnight + close_h * HOUR:
            return t
        day = midnight if t < midnight + open_h * HOUR else midnight + DAY
        return day + open_h * HOUR + self.rng.randrange(90 * MINUTE)

    def days_later(self, t: int, days: int, open_h: int, close_h: int) -> int:
        """A random moment between ``open_h`` and ``close_h`` o'clock, ``days`` days after ``t``."""
        midnight = t - t % DAY + days * DAY
        return max(t, midnight + self.rng.randrange(open_h * HOUR, close_h * HOUR))

    def pos_arrival(self, store: Store, t: int) -> int:
        """When a till's record reaches the producer: batch tills upload ~an hour late, in batches."""
        if not store.pos_batch:
            lo, span = ARRIVAL_DELAY_MS["pos"]
            return t + lo + int(self.rng.random() * span)
        window_end = (t + POS_BATCH_DELAY_MS) // POS_BATCH_WINDOW_MS * POS_BATCH_WINDOW_MS
        return window_end + POS_BATCH_WINDOW_MS + store.batch_offset_ms
