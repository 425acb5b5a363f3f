"""Small hand-built touchpoints and an in-memory sink for the journey-stage unit tests.

``touch(minutes, ...)`` places an event that many minutes after a fixed start, with a readable
deterministic event id; :class:`Table` plays the sink (ReplacingMergeTree: highest version per
id wins) and checks on the way in that versions of one id only ever increase.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

from streams.journeys.journey_state import Outputs
from streams.journeys.touch import Touch

BASE = dt.datetime(2026, 10, 5, 9, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
_ids = itertools.count(1)


def eid(n: int) -> str:
    """A valid UUID string that sorts by ``n`` (ties in event time break on the event id)."""
    return str(uuid.UUID(int=n))


def at(minutes: float) -> dt.datetime:
    return BASE + dt.timedelta(minutes=minutes)


def touch(
    minutes: float,
    channel: str = "web",
    event_type: str = "page_view",
    *,
    person: str = "P-1",
    n: int | None = None,
    **fields: Any,
) -> Touch:
    """A touchpoint ``minutes`` after :data:`BASE`; ``fields`` are any other :class:`Touch` field."""
    return Touch(
        event_id=eid(next(_ids) if n is None else n),
        event_time=at(minutes),
        channel=channel,
        event_type=event_type,
        person_id=person,
        **fields,
    )


class Table:
    """What the sink keeps: the highest version of every session and journey id."""

    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.journeys: dict[str, dict[str, Any]] = {}

    def apply(self, out: Outputs) -> Outputs:
        for rows, key, table in (
            (out.sessions, "session_id", self.sessions),
            (out.journeys, "journey_id", self.journeys),
        ):
            for row in rows:
                prev = table.get(row[key])
                assert prev is None or row["version"] > prev["version"], (row, prev)
                table[row[key]] = row
        return out

    def live_sessions(self) -> list[dict[str, Any]]:
        """Sessions analysts see: tombstones (event_count 0) left out, in start order."""
        rows = [r for r in self.sessions.values() if r["event_count"] > 0]
        return sorted(rows, key=lambda r: (r["started_at"], r["first_event_id"]))

    def live_journeys(self) -> list[dict[str, Any]]:
        """Journeys analysts see (``v_journeys``: status merged left out), in start order."""
        rows = [r for r in self.journeys.values() if r["status"] != "merged"]
        return sorted(rows, key=lambda r: (r["started_at"], r["first_event_id"]))

    def content(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Live rows without their version: what must not depend on arrival order."""

        def strip(row: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in row.items() if k != "version"}

        return [strip(r) for r in self.live_sessions()], [strip(r) for r in self.live_journeys()]
