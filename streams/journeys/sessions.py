"""Per-channel sessions: runs of one person's touchpoints on one channel without an inactivity gap.

A session is built by folding :class:`~streams.journeys.timeline.Mark` values in event-time order
into a :class:`SessionAcc`; the owner (:mod:`streams.journeys.journey_book`) decides which session
a mark extends. The accumulator keeps only aggregates, so the state stays small however long a
session runs, and two accumulators of the same channel can be merged exactly (counts add, bounds
widen) when an identity merge brings two persons' sessions together.

Ids are derived from the first event id alone (:func:`session_id`), not from the person: a session
keeps its id when its person is merged into another, and a replay upserts the same row. When a
late event moves a session's first event (or bridges two sessions), the old id is superseded: it
is published once more as a *tombstone* (``event_count`` 0, ``closed`` true, no event ids) with a
higher version, so the sink's ReplacingMergeTree keeps the tombstone, and the session it went into
carries the touchpoints. Analysts skip tombstones with ``event_count > 0``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from schemas.errors import ConfigError
from streams.journeys.timeline import Mark, from_ms, stable_id

MINUTE: Final = 60_000
HOUR: Final = 60 * MINUTE
SESSION_NAMESPACE: Final = uuid.UUID("6f1c3a52-5d0e-4c1b-9a53-0d7a1e2f4b61")
STORE_CHANNELS: Final = frozenset({"store", "pos"})


def _default_gaps() -> dict[str, int]:
    return {
        "web": 30 * MINUTE,
        "app": 30 * MINUTE,
        "ads": 30 * MINUTE,
        "social": 30 * MINUTE,
        "email": 30 * MINUTE,
        "chat": 15 * MINUTE,
        "call_center": 15 * MINUTE,
        "store": 2 * HOUR,  # one visit: a customer walks the floor, talks, pays
        "pos": 2 * HOUR,
    }


@dataclass(frozen=True)
class SessionGaps:
    """Inactivity gap per channel in milliseconds; a longer pause starts a new session.

    ``gaps`` maps channel -> gap (the defaults are the usual web-analytics 30 minutes, 15 for
    staffed conversations, two hours for a store visit); channels not listed use ``default_ms``.
    """

    gaps: dict[str, int] = field(default_factory=_default_gaps)
    default_ms: int = 30 * MINUTE

    def __post_init__(self) -> None:
        if self.default_ms <= 0 or any(v <= 0 for v in self.gaps.values()):
            raise ConfigError("session gaps must be positive")

    def gap(self, channel: str) -> int:
        return self.gaps.get(channel, self.default_ms)

    @property
    def longest(self) -> int:
        return max([self.default_ms, *self.gaps.values()])


def session_id(first_event_id: str) -> str:
    """Deterministic id of the session whose first touchpoint is ``first_event_id``."""
    return stable_id(SESSION_NAMESPACE, first_event_id)


class SessionAcc:
    """Aggregates of one session. Mutable; :meth:`copy` before speculating on a copy."""

    __slots__ = (
        "channel",
        "channel_session_id",
        "closed",
        "count",
        "first_id",
        "first_t",
        "journey_id",
        "last_id",
        "last_t",
        "store_id",
    )

    def __init__(self, mark: Mark, journey_id: str | None) -> None:
        self.channel = mark.channel
        self.first_t, self.first_id = mark.t, mark.event_id
        self.last_t, self.last_id = mark.t, mark.event_id
        self.count = 1
        self.channel_session_id = mark.channel_session_id
        self.store_id = mark.store_id if mark.channel in STORE_CHANNELS else None
        self.journey_id = journey_id
        self.closed = False

    @property
    def id(self) -> str:
        return session_id(self.first_id)

    def add(self, mark: Mark) -> None:
        """Fold a mark that comes after every mark folded so far (event-time order)."""
        self.last_t, self.last_id = mark.t, mark.event_id
        self.count += 1
        if self.channel_session_id is None:
            self.channel_session_id = mark.channel_session_id
        if self.store_id is None and mark.channel in STORE_CHANNELS:
            self.store_id = mark.store_id

    def add_unordered(self, mark: Mark, journey_id: str | None) -> None:
        """Fold a mark that may lie anywhere in time (a too-late event, best effort)."""
        if mark.key < (self.first_t, self.first_id):
            self.first_t, self.first_id = mark.t, mark.event_id
            self.journey_id = journey_id if journey_id is not None else self.journey_id
        if mark.key > (self.last_t, self.last_id):
            self.last_t, self.last_id = mark.t, mark.event_id
        self.count += 1
        self.channel_session_id = self.channel_session_id or mark.channel_session_id
        if self.store_id is None and mark.channel in STORE_CHANNELS:
            self.store_id = mark.store_id

    def absorb(self, other: SessionAcc) -> None:
        """Merge another session of the same channel into this one (identity merge). Exact for
        counts and bounds; ids and the channel's session id come from whichever started first."""
        if (other.first_t, other.first_id) < (self.first_t, self.first_id):
            self.first_t, self.first_id = other.first_t, other.first_id
            self.journey_id = other.journey_id
            self.channel_session_id = other.channel_session_id or self.channel_session_id
            self.store_id = other.store_id or self.store_id
        if (other.last_t, other.last_id) > (self.last_t, self.last_id):
            self.last_t, self.last_id = other.last_t, other.last_id
        self.count += other.count
        self.closed = self.closed and other.closed

    def copy(self) -> SessionAcc:
        new = SessionAcc.__new__(SessionAcc)
        for name in SessionAcc.__slots__:
            setattr(new, name, getattr(self, name))
        return new

    def to_list(self) -> list[Any]:
        return [
            self.channel,
            self.first_t,
            self.first_id,
            self.last_t,
            self.last_id,
            self.count,
            self.channel_session_id,
            self.store_id,
            self.journey_id,
            self.closed,
        ]

    @classmethod
    def from_list(cls, data: list[Any]) -> SessionAcc:
        new = cls.__new__(cls)
        (
            new.channel,
            new.first_t,
            new.first_id,
            new.last_t,
            new.last_id,
            new.count,
            new.channel_session_id,
            new.store_id,
            new.journey_id,
            new.closed,
        ) = data
        return new

    def record(self, person_id: str, version: int) -> dict[str, Any]:
        """The ``io.omnijourney.Session`` record of this session."""
        return {
            "session_id": self.id,
            "person_id": person_id,
            "channel": self.channel,
            "started_at": from_ms(self.first_t),
            "ended_at": from_ms(self.last_t),
            "event_count": self.count,
            "version": version,
            "closed": self.closed,
            "journey_id": self.journey_id,
            "channel_session_id": self.channel_session_id,
            "store_id": self.store_id,
            "first_event_id": self.first_id,
            "last_event_id": self.last_id,
        }


def session_tombstone(
    superseded_id: str, into: SessionAcc | None, channel: str, person_id: str, version: int, at_ms: int
) -> dict[str, Any]:
    """The record that retires ``superseded_id``: no events, closed, bounds of the session that
    absorbed it (or of the superseded first event when that session is already gone)."""
    start, end = (into.first_t, into.last_t) if into is not None else (at_ms, at_ms)
    return {
        "session_id": superseded_id,
        "person_id": person_id,
        "channel": channel,
        "started_at": from_ms(start),
        "ended_at": from_ms(end),
        "event_count": 0,
        "version": version,
        "closed": True,
        "journey_id": None,
        "channel_session_id": None,
        "store_id": None,
        "first_event_id": None,
        "last_event_id": None,
    }
