"""Journeys: one person's multi-channel run of touchpoints from a first touch to an outcome.

What ends a journey (the rules, in one place so they are easy to argue with):

- An *outcome* touchpoint ends it with that status: ``purchase``; ``pickup`` for a
  ``reservation_picked_up`` and for a purchase that carries a reservation id (the till receipt of
  a reserved item is the pickup, whichever of the two is recorded first); ``resolution`` for a
  ``case_resolved``.
- No touchpoint for ``abandon_after_ms`` (``intent_hold_ms`` while a reservation, case or return
  is open) abandons it; ``ended_at`` is then that deadline, the event time of the decision.
- After an outcome, a touchpoint within ``followup_ms`` that names one of the journey's orders,
  reservations or cases still belongs to it, unless it is an outcome itself: an outcome only
  follows up when it records the very same outcome again (the till receipt of the reservation
  just picked up). Any other outcome ends a journey of its own.

:class:`JourneyAcc` keeps aggregates only (path, counts, id lists), folded in event-time order.
Ids come from the first event id alone (:func:`journey_id`), so a journey keeps its id through an
identity merge and a replay upserts the same row. A journey whose first touchpoint moves into
another journey (a late event, an identity merge) is republished with status ``merged`` and
``merged_into_journey_id`` (see :func:`journey_tombstone`); ``v_journeys`` already skips those.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from streams.journeys.journey_config import JourneyConfig
from streams.journeys.timeline import Mark, from_ms, stable_id

JOURNEY_NAMESPACE: Final = uuid.UUID("2b8e6f0a-9c41-4d7e-8e25-53a0c1f6d9e4")

# Funnel stages, lowest first. Service ranks above browsing but below intent and conversion: a
# chat that ends in a reservation is a sales journey, a chat that ends in nothing is service.
STAGES: Final = ("awareness", "consideration", "service", "intent", "conversion")
_A, _C, _S, _I, _V = range(5)
EVENT_STAGE: Final[dict[str, int]] = {
    **dict.fromkeys(
        ("ad_impression", "ad_click", "social_engagement", "email_sent", "email_open", "email_click"), _A
    ),
    **dict.fromkeys(("page_view", "search", "product_view", "login", "store_visit"), _C),
    **dict.fromkeys(
        (
            "chat_started",
            "chat_message",
            "chat_ended",
            "call_started",
            "call_ended",
            "case_opened",
            "case_resolved",
            "return_requested",
            "return_completed",
        ),
        _S,
    ),
    **dict.fromkeys(
        (
            "stock_check",
            "cart_add",
            "cart_abandoned",
            "reservation_created",
            "reservation_cancelled",
            "reservation_expired",
        ),
        _I,
    ),
    **dict.fromkeys(("purchase", "reservation_picked_up"), _V),
}
OUTCOMES: Final = frozenset({"purchase", "pickup", "resolution"})


def outcome_of(mark: Mark) -> str | None:
    """The status a touchpoint ends its journey with, or None when it is not an outcome."""
    if mark.event_type == "purchase":
        return "pickup" if mark.reservation_id is not None else "purchase"
    if mark.event_type == "reservation_picked_up":
        return "pickup"
    if mark.event_type == "case_resolved":
        return "resolution"
    return None


def outcome_key(mark: Mark) -> str | None:
    """The business id an outcome completes: the order bought, reservation picked up, case resolved."""
    outcome = outcome_of(mark)
    if outcome == "purchase":
        return mark.order_id
    if outcome == "pickup":
        return mark.reservation_id
    return mark.case_id if outcome == "resolution" else None


def journey_id(first_event_id: str) -> str:
    """Deterministic id of the journey whose first touchpoint is ``first_event_id``."""
    return stable_id(JOURNEY_NAMESPACE, first_event_id)


def _intents_after(open_intents: list[str], mark: Mark) -> None:
    """Open intents keep a journey alive past the usual inactivity limit; update them in place."""
    et = mark.event_type
    if mark.reservation_id is not None:
        key = "r:" + mark.reservation_id
        if et == "reservation_created":
            if key not in open_intents:
                open_intents.append(key)
        elif et in ("reservation_picked_up", "reservation_expired", "reservation_cancelled", "purchase"):
            _discard(open_intents, key)
    if mark.case_id is not None:
        key = "c:" + mark.case_id
        if et == "case_resolved":
            _discard(open_intents, key)
        elif key not in open_intents:
            open_intents.append(key)
    if mark.order_id is not None and et in ("return_requested", "return_completed"):
        key = "o:" + mark.order_id
        if et == "return_requested":
            if key not in open_intents:
                open_intents.append(key)
        else:
            _discard(open_intents, key)


def _discard(items: list[str], item: str) -> None:
    if item in items:
        items.remove(item)


def _add_unique(items: list[str], item: str | None) -> None:
    if item is not None and item not in items:
        items.append(item)


_FIELDS: Final = (
    "first_t",
    "first_id",
    "last_t",
    "last_id",
    "first_ch",
    "last_ch",
    "path",
    "switches",
    "count",
    "ended",
    "status",
    "stage",
    "orders",
    "reservations",
    "cases",
    "campaigns",
    "stores",
    "amount",
    "currency",
    "intents",
    "done",
)


class JourneyAcc:
    """Aggregates of one journey. Mutable; :meth:`copy` before speculating on a copy."""

    __slots__ = _FIELDS

    def __init__(self, mark: Mark) -> None:
        self.first_t, self.first_id, self.first_ch = mark.t, mark.event_id, mark.channel
        self.last_t, self.last_id, self.last_ch = mark.t, mark.event_id, mark.channel
        self.path = [mark.channel]
        self.switches = 0
        self.count = 0
        self.ended: int | None = None
        self.status = "open"
        self.stage = -1
        self.orders: list[str] = []
        self.reservations: list[str] = []
        self.cases: list[str] = []
        self.campaigns: list[str] = []
        self.stores: list[str] = []
        self.amount: int | None = None
        self.currency: str | None = None
        self.intents: list[str] = []
        self.done: str | None = None  # the business id its outcome completed
        self._facts(mark)

    @property
    def id(self) -> str:
        return journey_id(self.first_id)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def limit(self, cfg: JourneyConfig) -> int:
        """Inactivity after which this (open) journey is abandoned."""
        return cfg.intent_hold_ms if self.intents else cfg.abandon_after_ms

    def follows_up(self, mark: Mark, cfg: JourneyConfig) -> bool:
        """Whether ``mark`` still belongs to this ended journey (see the module docstring)."""
        if self.status not in OUTCOMES or self.ended is None or mark.t - self.ended > cfg.followup_ms:
            return False
        outcome = outcome_of(mark)
        if outcome is not None:  # a second record of the same outcome (pickup + till receipt)
            return outcome == self.status and self.done is not None and outcome_key(mark) == self.done
        return self.refers_to(mark)

    def refers_to(self, mark: Mark) -> bool:
        """Whether ``mark`` names one of this journey's orders, reservations or cases."""
        return (
            (mark.order_id is not None and mark.order_id in self.orders)
            or (mark.reservation_id is not None and mark.reservation_id in self.reservations)
            or (mark.case_id is not None and mark.case_id in self.cases)
        )

    def _facts(self, mark: Mark) -> None:
        """Everything a touchpoint adds that does not depend on where in time it falls."""
        self.count += 1
        self.stage = max(self.stage, EVENT_STAGE.get(mark.event_type, -1))
        _add_unique(self.orders, mark.order_id)
        _add_unique(self.reservations, mark.reservation_id)
        _add_unique(self.cases, mark.case_id)
        _add_unique(self.campaigns, mark.campaign_id)
        _add_unique(self.stores, mark.store_id)
        if mark.event_type == "purchase" and mark.amount_cents is not None:
            self.amount = (self.amount or 0) + mark.amount_cents
            self.currency = self.currency or mark.currency
        _intents_after(self.intents, mark)

    def add(self, mark: Mark) -> None:
        """Fold a mark that comes after every mark folded so far (event-time order)."""
        if mark.channel != self.last_ch:
            self.switches += 1
            self.path.append(mark.channel)
        self.last_t, self.last_id, self.last_ch = mark.t, mark.event_id, mark.channel
        self._facts(mark)

    def add_unordered(self, mark: Mark) -> None:
        """Fold a too-late mark wherever it falls (best effort: the path only grows at its ends)."""
        if mark.key < (self.first_t, self.first_id):
            if mark.channel != self.first_ch:
                self.switches += 1
                self.path.insert(0, mark.channel)
            self.first_t, self.first_id, self.first_ch = mark.t, mark.event_id, mark.channel
        elif mark.key > (self.last_t, self.last_id):
            self.add(mark)
            return
        self._facts(mark)

    def end(self, status: str, at_ms: int, done: str | None = None) -> None:
        self.status, self.ended, self.done = status, at_ms, done

    def absorb(self, other: JourneyAcc) -> None:
        """Merge another person's *open* journey into this open one (identity merge), best effort.

        Counts, ids and amounts are exact. The path is the two paths concatenated in start order,
        which is exact unless the two journeys interleave in time (the raw touchpoints that would
        interleave them are no longer kept once sealed).
        """
        if not (self.is_open and other.is_open):
            raise ValueError("only open journeys are merged; ended ones stay as they are")
        mine = (self.first_t, self.first_id) <= (other.first_t, other.first_id)
        early, late = (self, other) if mine else (other, self)
        path = list(early.path)
        switches = early.switches + late.switches + (late.path[0] != early.path[-1])
        for channel in late.path:
            if channel != path[-1]:
                path.append(channel)
        last = early if (early.last_t, early.last_id) > (late.last_t, late.last_id) else late
        lists = {}
        for name in ("orders", "reservations", "cases", "campaigns", "stores", "intents"):
            merged = list(getattr(early, name))
            for item in getattr(late, name):
                _add_unique(merged, item)
            lists[name] = merged
        amount = (
            None if early.amount is None and late.amount is None else (early.amount or 0) + (late.amount or 0)
        )
        self.first_t, self.first_id, self.first_ch = early.first_t, early.first_id, early.first_ch
        self.last_t, self.last_id, self.last_ch = last.last_t, last.last_id, last.last_ch
        self.path, self.switches = path, switches
        self.count = early.count + late.count
        self.stage = max(early.stage, late.stage)
        for name, merged in lists.items():
            setattr(self, name, merged)
        self.amount, self.currency = amount, early.currency or late.currency

    def copy(self) -> JourneyAcc:
        new = JourneyAcc.__new__(JourneyAcc)
        for name in _FIELDS:
            value = getattr(self, name)
            setattr(new, name, list(value) if isinstance(value, list) else value)
        return new

    def to_list(self) -> list[Any]:
        return [getattr(self, name) for name in _FIELDS]

    @classmethod
    def from_list(cls, data: list[Any]) -> JourneyAcc:
        new = cls.__new__(cls)
        for name, value in zip(_FIELDS, data, strict=True):
            setattr(new, name, value)
        return new

    def record(self, person_id: str, version: int) -> dict[str, Any]:
        """The ``io.omnijourney.Journey`` record of this journey."""
        outcome = self.status in OUTCOMES and self.ended is not None
        return {
            "journey_id": self.id,
            "person_id": person_id,
            "version": version,
            "started_at": from_ms(self.first_t),
            "updated_at": from_ms(self.last_t),
            "ended_at": None if self.ended is None else from_ms(self.ended),
            "status": self.status,
            "stage": STAGES[self.stage] if self.stage >= 0 else "other",
            "channel_path": list(self.path),
            "first_touch_channel": self.first_ch,
            "last_touch_channel": self.last_ch,
            "channel_switches": self.switches,
            "touch_count": self.count,
            "time_to_outcome_ms": (self.ended or 0) - self.first_t if outcome else None,
            "first_event_id": self.first_id,
            "last_event_id": self.last_id,
            "order_ids": list(self.orders),
            "reservation_ids": list(self.reservations),
            "case_ids": list(self.cases),
            "campaign_ids": list(self.campaigns),
            "store_ids": list(self.stores),
            "amount_cents": self.amount,
            "currency": self.currency,
            "merged_into_journey_id": None,
        }


def journey_tombstone(
    superseded_id: str, into: JourneyAcc | None, channel: str, person_id: str, version: int, at_ms: int
) -> dict[str, Any]:
    """The record that retires ``superseded_id``: status ``merged``, pointing at the journey that
    now carries its touchpoints, with counts, amounts and ids zeroed so that even a query that
    forgets to skip merged journeys does not count them twice. ``channel`` and ``at_ms`` (the
    superseded first touchpoint's) fill the bounds when the absorbing journey is unknown."""
    if into is not None:
        rec = into.record(person_id, version)
    else:
        stub = JourneyAcc(Mark(at_ms, superseded_id, channel, "other"))
        rec = stub.record(person_id, version)
        rec["journey_id"] = superseded_id
    rec.update(
        journey_id=superseded_id,
        status="merged",
        merged_into_journey_id=None if into is None else into.id,
        ended_at=rec["ended_at"] or rec["updated_at"],
        channel_switches=0,
        touch_count=0,
        time_to_outcome_ms=None,
        first_event_id=None,
        last_event_id=None,
        order_ids=[],
        reservation_ids=[],
        case_ids=[],
        campaign_ids=[],
        store_ids=[],
        amount_cents=None,
        currency=None,
    )
    return rec
