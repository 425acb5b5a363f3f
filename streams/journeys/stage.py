"""One person's whole journey-stage state, and what one event or one tick does to it.

The Faust agent keeps one table value per person: the journey state (sessions, journeys), the
continuity state (card, open intents, alerts) and the last journey published (for the card). This
module is the plain-Python step between "a touchpoint arrived" and "these records go out", so the
agent stays a shell and unit tests drive the exact code the worker runs, without a broker.

Replays: Faust writes a person's state to the changelog before the input offsets are committed,
so a worker killed in between re-reads events whose effects its state already holds. Folding one
twice would count it twice (a session of 4 touchpoints reported as 5), so the state remembers
the fingerprints of its latest events (:data:`RECENT_EVENTS`, far more than a person receives in
one commit interval) and the persons merged into it, and a step it has already taken is skipped.

Time: the caller passes the partition's stream time (newest event time consumed there) as the
watermark and the wall clock as ``now`` (alerts record when they were detected). Nothing here
reads a clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from streams.journeys import continuity
from streams.journeys.card import card
from streams.journeys.continuity_state import ContinuityState
from streams.journeys.journey_config import DEFAULT_CONFIG, JourneyConfig
from streams.journeys.journey_state import Outputs, PersonState, advance_ms, fold_mark, merge, next_due_ms
from streams.journeys.timeline import fingerprint, from_ms, mark_from_touch, to_ms
from streams.journeys.touch import Touch


@dataclass(slots=True)
class Emitted:
    """Records one step produced, for the journeys, sessions and alerts topics and the index."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    journeys: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    new_identifiers: list[tuple[str, str]] = field(default_factory=list)

    def add(self, outputs: Outputs) -> None:
        self.sessions.extend(outputs.sessions)
        self.journeys.extend(outputs.journeys)


RECENT_EVENTS = 64  # fingerprints of a person's latest events kept to recognise a replay
MAX_ABSORBED = 256  # persons merged into this one, remembered to recognise a replayed merge


@dataclass(slots=True)
class PersonStage:
    """The table value of one person, loaded for one step."""

    journey: PersonState
    continuity: ContinuityState
    current_journey: dict[str, Any] | None = None
    recent: list[str] = field(default_factory=list)  # fingerprints, oldest first
    absorbed: list[str] = field(default_factory=list)  # person ids merged into this one

    @classmethod
    def new(cls, person_id: str) -> PersonStage:
        return cls(PersonState(person_id), continuity.new_state(person_id))

    @classmethod
    def load(cls, person_id: str, value: dict[str, Any] | None) -> PersonStage:
        if value is None:
            return cls.new(person_id)
        return cls(
            PersonState.from_state(value["j"]),
            ContinuityState.from_state(value["c"]),
            value.get("cur"),
            list(value.get("r", ())),  # absent in state written before replays were recognised
            list(value.get("m", ())),
        )

    def dump(self) -> dict[str, Any]:
        return {
            "j": self.journey.to_state(),
            "c": self.continuity.to_state(),
            "cur": self.current_journey,
            "r": self.recent,
            "m": self.absorbed,
        }

    def next_due_ms(self, cfg: JourneyConfig = DEFAULT_CONFIG) -> int | None:
        """When the watermark next needs to reach this person (journey timers or intent expiry)."""
        dues = [next_due_ms(self.journey, cfg)]
        deadline = continuity.next_deadline(self.continuity)
        dues.append(None if deadline is None else to_ms(deadline))
        present = [d for d in dues if d is not None]
        return min(present) if present else None

    def card(self) -> dict[str, Any]:
        return card(self.continuity, self.current_journey)


def on_touch(
    stage: PersonStage, touch: Touch, watermark_ms: int, now: dt.datetime, cfg: JourneyConfig = DEFAULT_CONFIG
) -> Emitted:
    """Fold one touchpoint into the person's journeys and continuity state (once: see Replays)."""
    out = Emitted()
    seen = fingerprint(touch.event_id)
    if seen in stage.recent:
        return out
    stage.recent = [*stage.recent[1 - RECENT_EVENTS :], seen]
    before = set(stage.continuity.identifiers)
    out.alerts.extend(continuity.fold(stage.continuity, touch, now))
    out.new_identifiers.extend(sorted(set(stage.continuity.identifiers) - before))
    out.add(fold_mark(stage.journey, mark_from_touch(touch), cfg, watermark_ms))
    _remember_journey(stage, out)
    return out


def on_tick(
    stage: PersonStage, watermark_ms: int, now: dt.datetime, cfg: JourneyConfig = DEFAULT_CONFIG
) -> Emitted:
    """Let event time pass: close sessions, abandon journeys, raise expiry alerts."""
    out = Emitted()
    out.add(advance_ms(stage.journey, watermark_ms, cfg))
    out.alerts.extend(continuity.expire(stage.continuity, from_ms(watermark_ms), now))
    _remember_journey(stage, out)
    return out


def on_merge(
    survivor: PersonStage, loser: PersonStage, now: dt.datetime, cfg: JourneyConfig = DEFAULT_CONFIG
) -> Emitted:
    """An identity merge: the loser's journeys and continuity move into the survivor's state (once)."""
    out = Emitted()
    loser_id = loser.journey.person_id
    if loser_id in survivor.absorbed:
        return out
    survivor.absorbed = [*survivor.absorbed, *loser.absorbed, loser_id][-MAX_ABSORBED:]
    known = set(survivor.recent)
    # Events both persons folded: the identity stage, replaying after a crash, resolved an event
    # again to the survivor of a merge made in between. Each must count once in the merged state.
    shared = known.intersection(loser.recent)
    survivor.recent = [*survivor.recent, *(f for f in loser.recent if f not in known)][-RECENT_EVENTS:]
    before = set(survivor.continuity.identifiers)
    out.alerts.extend(continuity.merge(survivor.continuity, loser.continuity, now))
    out.new_identifiers.extend(sorted(set(survivor.continuity.identifiers) - before))
    out.add(merge(survivor.journey, loser.journey, cfg, shared))
    _remember_journey(survivor, out)
    return out


def _remember_journey(stage: PersonStage, out: Emitted) -> None:
    """Keep the newest live journey (by its latest touch) for the card, as JSON-able values."""
    for row in out.journeys:
        if row["status"] == "merged":
            if stage.current_journey and stage.current_journey["journey_id"] == row["journey_id"]:
                stage.current_journey = None
            continue
        current = stage.current_journey
        if (
            current is None
            or current["journey_id"] == row["journey_id"]
            or _iso(row["updated_at"]) >= str(current["updated_at"])
        ):
            stage.current_journey = {k: _iso(v) for k, v in row.items()}


def _iso(value: Any) -> Any:
    return value.isoformat(timespec="milliseconds") if isinstance(value, dt.datetime) else value
