"""Tunables of the session and journey logic, as one frozen value the composition root builds.

All durations are milliseconds of event time. Why the defaults are what they are:

- ``grace_ms`` (4 h): how late an event may arrive (behind the watermark) and still be placed
  exactly. The slowest honest sources are an app's offline queue (up to ~3 h in the simulator) and
  store tills that upload in batches about an hour late. Sessions are published while they grow;
  ``closed`` and final journey states wait for the grace period, so it is also the delay after
  which those rows stop changing.
- ``abandon_after_ms`` (2 days): a journey without an outcome that sees no touchpoint for this
  long is abandoned. Furniture is a considered purchase: in the sofa story the retargeting ads
  come about a day apart and a chat that sends the customer to a store is followed by the visit
  ~41 h later. Measured on simulated months (1,000 customers, 4 seeds): at 2 days every sofa
  variant is one journey and every recoverable outcome journey is covered from its first touch;
  at 1 day the sofa stories split into 3-4 journeys and 0.6% of pickups lose their start. The
  price of a longer limit is unrelated visits glued together (pairwise same-journey precision
  against the simulator's episodes: 0.51 at 1 day, 0.39 at 2 days, 0.32 at 3 days).
- ``intent_hold_ms`` (8 days) replaces that limit while the journey holds an open intent (a
  reservation not yet picked up or expired, a case not yet resolved, a return not yet completed):
  a store holds a reservation for 7 days, and a customer waiting on it has not abandoned anything.
  Without it (at 2 days) half of the pickups and 9% of resolutions lose the start of their journey.
- ``followup_ms`` (2 h): after an outcome, touchpoints that refer to the journey's own order,
  reservation or case within this window still belong to it (the till receipt of a pickup, a
  confirmation) instead of opening a new journey.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from schemas.errors import ConfigError
from streams.journeys.sessions import HOUR, SessionGaps

DAY: Final = 24 * HOUR


@dataclass(frozen=True)
class JourneyConfig:
    gaps: SessionGaps = field(default_factory=SessionGaps)
    grace_ms: int = 4 * HOUR
    abandon_after_ms: int = 2 * DAY
    intent_hold_ms: int = 8 * DAY
    followup_ms: int = 2 * HOUR

    def __post_init__(self) -> None:
        if min(self.grace_ms, self.followup_ms) < 0 or min(self.abandon_after_ms, self.intent_hold_ms) <= 0:
            raise ConfigError("journey durations must be positive (grace and follow-up may be 0)")


DEFAULT_CONFIG: Final = JourneyConfig()
