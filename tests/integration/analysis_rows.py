"""A small hand-built store for the saved analyses and the report: journeys, alerts, touchpoints, merges.

Small enough that every expected number can be worked out by reading the rows, and shaped around the
cases analysts get wrong: older versions written after newer ones, a journey folded away by a merge
(status merged), merge chains (q-f -> q-e -> q-d), time-to-outcome exactly on a bucket boundary,
a resolution that is an outcome but not a conversion, an alert re-detected with a different store,
and a case seen on two channels only once its two persons are merged.

The records are written through the sink's own router and writer, so the tables hold exactly what
the pipeline would store; the tests compute what the analyses must say from these same records.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

from schemas.codec import Codec
from schemas.models import (
    Alert,
    AlertKind,
    Channel,
    EventType,
    IdentifierType,
    IdentityChange,
    IdentityChangeKind,
    Journey,
    JourneyStage,
    JourneyStatus,
    ResolvedTouchpoint,
    Touchpoint,
)
from schemas.models.base import AvroModel
from schemas.topics import TopicNames
from sinks.batch import Batch
from sinks.connection import StoreConnection
from sinks.routing import Router
from sinks.store import StoreConfig
from sinks.writer import BatchWriter
from tests.integration.sink_helpers import messages

BASE = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
TOPICS = TopicNames("analysis.")
HOUR_MS = 3_600_000

# loser -> survivor, one hop each; q-f -> q-e -> q-d is a chain.
MERGES = [("q-b", "q-a"), ("q-f", "q-e"), ("q-e", "q-d")]


@dataclass(frozen=True)
class J:
    """One journey version, compactly: the fields the analyses read."""

    journey_id: str
    person: str
    version: int
    status: str
    stage: str
    path: tuple[str, ...]
    hours: float | None = None


# In write order; j4's version 2 arrives after its version 3 and must still lose.
JOURNEYS = [
    J("j1", "q-a", 1, "open", "awareness", ("ads",)),
    J("j1", "q-a", 2, "purchase", "conversion", ("ads", "web", "store"), 30.0),
    J("j2", "q-b", 1, "pickup", "conversion", ("web", "store"), 1.0),
    J("j3", "q-c", 1, "abandoned", "intent", ("web", "chat")),
    J("j4", "q-c", 3, "open", "consideration", ("app",)),
    J("j4", "q-c", 2, "open", "awareness", ("app",)),
    J("j5", "q-d", 1, "purchase", "conversion", ("web",), 0.5),
    J("j6", "q-e", 1, "purchase", "conversion", ("web", "chat", "store"), 6.0),
    J("j7", "q-f", 1, "merged", "intent", ("chat",)),
    J("j8", "q-g", 1, "resolution", "service", ("chat", "call_center"), 2.0),
    J("j9", "q-g", 1, "open", "other", ("email",)),
    J("j10", "q-h", 1, "purchase", "conversion", ("web", "store"), 80.0),
    J("j11", "q-h", 1, "pickup", "conversion", ("web", "chat", "store"), 24.0),
    J("j12", "q-i", 1, "abandoned", "consideration", ("ads", "web")),
    J("j13", "q-i", 2, "abandoned", "intent", ("web", "store")),
    J("j13", "q-i", 1, "open", "consideration", ("web",)),
]


@dataclass(frozen=True)
class A:
    """One alert detection; the latest detection (highest ``minute``) of an alert_id wins."""

    alert_id: str
    kind: str
    person: str
    channel: str
    store: str | None = None
    case: str | None = None
    minute: int = 0


ALERTS = [
    A("al1", "reservation_not_picked_up", "q-a", "store", "MI3"),
    A("al2", "reservation_not_picked_up", "q-b", "store", "MI3"),
    A("al3", "reservation_not_picked_up", "q-c", "store", "RM1", minute=5),
    A("al3", "reservation_not_picked_up", "q-c", "store", "RM2", minute=1),  # older detection: loses
    A("al4", "reservation_missing_at_store", "q-d", "store", "MI3"),
    A("al5", "campaign_landing_not_purchasable", "q-e", "web"),
    A("al6", "campaign_landing_not_purchasable", "q-h", "ads", ""),
    A("al7", "repeat_contact_other_channel", "q-f", "call_center", case="case-1"),
    A("al8", "repeat_contact_other_channel", "q-g", "call_center", case="case-7"),
    A("al9", "repeat_contact_other_channel", "q-i", "chat"),
]


@dataclass(frozen=True)
class T:
    """One touchpoint: who, on which channel, about which case, minutes after BASE."""

    person: str
    channel: str
    minute: int
    case: str | None = None


TOUCHES = [
    T("q-e", "chat", 10, "case-1"),
    T("q-f", "call_center", 50, "case-1"),  # case-1 spans two channels only after q-f -> q-e -> q-d
    T("q-g", "chat", 0, "case-7"),
    T("q-g", "chat", 30, "case-7"),
    T("q-c", "web", 5, "case-3"),
    T("q-c", "store", 600, "case-3"),
    T("q-h", "call_center", 20, "case-8"),
    T("q-a", "web", 0),
    T("q-b", "store", 90),
    T("q-a", "web", 200),
    T("q-i", "ads", 1),
    T("q-i", "web", 3),
]


def journey_record(j: J, index: int) -> Journey:
    ended = BASE + dt.timedelta(hours=j.hours) if j.hours is not None else None
    return Journey(
        journey_id=j.journey_id,
        person_id=j.person,
        version=j.version,
        started_at=BASE,
        updated_at=ended or BASE + dt.timedelta(minutes=index),
        ended_at=ended,
        status=JourneyStatus(j.status),
        stage=JourneyStage(j.stage),
        channel_path=[Channel(c) for c in j.path],
        first_touch_channel=Channel(j.path[0]),
        last_touch_channel=Channel(j.path[-1]),
        channel_switches=len(j.path) - 1,
        touch_count=len(j.path) + 1,
        time_to_outcome_ms=round(j.hours * HOUR_MS) if j.hours is not None else None,
    )


def alert_record(a: A) -> Alert:
    return Alert(
        alert_id=a.alert_id,
        kind=AlertKind(a.kind),
        person_id=a.person,
        detected_at=BASE + dt.timedelta(days=1, minutes=a.minute),
        event_time=BASE + dt.timedelta(hours=12),
        channel=Channel(a.channel),
        store_id=a.store,
        case_id=a.case,
        message=f"{a.kind} for {a.person}",
    )


def touch_record(t: T, index: int) -> ResolvedTouchpoint:
    return ResolvedTouchpoint(
        person_id=t.person,
        resolved_at=BASE + dt.timedelta(days=1),
        source_topic=f"touchpoints.{t.channel}",
        source_partition=0,
        source_offset=index,
        touchpoint=Touchpoint(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"touch/{index}"),
            event_time=BASE + dt.timedelta(minutes=t.minute),
            channel=Channel(t.channel),
            event_type=EventType.PAGE_VIEW,
            identifiers=[{"type": IdentifierType.COOKIE, "value": f"ck-{t.person}"}],
            case_id=t.case,
        ),
    )


def merge_records() -> list[IdentityChange]:
    return [
        IdentityChange(
            change_id=uuid.uuid5(uuid.NAMESPACE_URL, f"merge/{loser}/{survivor}"),
            kind=IdentityChangeKind.MERGE,
            person_id=loser,
            survivor_person_id=survivor,
            rule="shared_identifier",
            event_time=BASE + dt.timedelta(hours=n),
            changed_at=BASE + dt.timedelta(hours=n, seconds=1),
        )
        for n, (loser, survivor) in enumerate(MERGES)
    ]


def records(
    journeys: list[J] = JOURNEYS, alerts: list[A] = ALERTS, touches: list[T] = TOUCHES
) -> dict[str, list[AvroModel]]:
    return {
        TOPICS.identity_changes: list(merge_records()),
        TOPICS.journeys: [journey_record(j, i) for i, j in enumerate(journeys)],
        TOPICS.alerts: [alert_record(a) for a in alerts],
        TOPICS.resolved: [touch_record(t, i) for i, t in enumerate(touches)],
    }


def final_survivor(person: str) -> str:
    """Follows the merge chain to its end, the way analysts expect a merged customer to be counted."""
    links = dict(MERGES)
    while person in links:
        person = links[person]
    return person


def latest_journeys(journeys: list[J] = JOURNEYS) -> list[J]:
    """What analysts should see: the highest version of each journey, merged ones left out."""
    latest: dict[str, J] = {}
    for j in journeys:
        if j.journey_id not in latest or j.version > latest[j.journey_id].version:
            latest[j.journey_id] = j
    return [j for j in latest.values() if j.status != "merged"]


def latest_alerts(alerts: list[A] = ALERTS) -> list[A]:
    latest: dict[str, A] = {}
    for a in alerts:
        if a.alert_id not in latest or a.minute > latest[a.alert_id].minute:
            latest[a.alert_id] = a
    return list(latest.values())


def load_store(path: Path, data: dict[str, list[AvroModel]] | None = None) -> StoreConfig:
    """A migrated chDB store at ``path`` holding ``data`` (default: every record above), closed again.

    Each topic's records go in one message each, in list order, through the sink's router and
    writer: the same tables, materialized views and dedup the pipeline uses.
    """
    config = StoreConfig(f"chdb://{path}")
    store = StoreConnection(config)
    try:
        store.connect()
        batch = Batch(10**6, 10**6)
        router = Router(TOPICS, Codec())
        router.feed(batch, messages(Codec(), records() if data is None else data))
        BatchWriter(store, router).write(batch)
    finally:
        store.close()
    return config
