"""Records of every topic the sink reads, and small tools the sink tests share.

Deterministic for a seed, built through the pydantic models (so they satisfy the contract) and
varied where the tables have edge cases: null consent, empty maps, optional context, versioned
upserts, an alias chain a -> b -> c, poison bytes. Imported by unit tests too: nothing here
touches the network at import time.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from schemas.codec import Codec
from schemas.models import (
    Alert,
    AlertKind,
    Channel,
    DeadLetter,
    EventType,
    IdentifierType,
    IdentityChange,
    IdentityChangeKind,
    Journey,
    JourneyStage,
    JourneyStatus,
    ResolvedTouchpoint,
    Session,
    Touchpoint,
)
from schemas.models.base import AvroModel
from schemas.topics import TopicNames

BASE = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
CHANNELS = [Channel.WEB, Channel.APP, Channel.CHAT, Channel.STORE, Channel.POS, Channel.EMAIL]
PERSONS = [f"p-{i:03d}" for i in range(12)]
# Merges: p-000 -> p-001 -> p-002 (a chain), p-005 -> p-004; p-009 has a blocked identifier.
MERGES = [("p-000", "p-001"), ("p-001", "p-002"), ("p-005", "p-004")]
FINAL_SURVIVOR = {"p-000": "p-002", "p-001": "p-002", "p-005": "p-004"}


def resolved_touchpoints(count: int, seed: int) -> list[ResolvedTouchpoint]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        channel = CHANNELS[i % len(CHANNELS)]
        tp = Touchpoint(
            event_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            event_time=BASE + dt.timedelta(minutes=rng.randint(0, 20_000), milliseconds=rng.randint(0, 999)),
            channel=channel,
            event_type=rng.choice([EventType.PAGE_VIEW, EventType.CHAT_MESSAGE, EventType.PURCHASE]),
            identifiers=[
                {"type": IdentifierType.COOKIE, "value": f"ck-{rng.randint(1, 40)}"},
                {"type": IdentifierType.HASHED_EMAIL, "value": f"{rng.getrandbits(256):064x}"},
            ][: 1 + i % 2],
            source=f"{channel.value}-app",
            session_id=f"s-{i}" if i % 2 else None,
            conversation_id="conv-1" if channel is Channel.CHAT else None,
            case_id="case-9" if i % 7 == 0 else None,
            context={
                "store_id": "MI3" if channel in (Channel.STORE, Channel.POS) else None,
                "url": f"https://shop.example/p/{i}" if channel is Channel.WEB else None,
                "purchasable": [None, True, False][i % 3],
                "product_ids": [f"sku-{j}" for j in range(i % 3)],
                "amount_cents": 129_900 + i if i % 4 == 0 else None,
                "currency": "EUR" if i % 4 == 0 else None,
                "summary": "asked for the green velvet sofa, è verde" if channel is Channel.CHAT else None,
            },
            consent={"analytics": True, "marketing": i % 2 == 0} if i % 5 else None,
            attributes={"colour": "green", "n": str(i)} if i % 2 else {},
        )
        out.append(
            ResolvedTouchpoint(
                person_id=PERSONS[i % len(PERSONS)],
                resolved_at=BASE + dt.timedelta(days=30, seconds=i),
                source_topic=f"touchpoints.{channel.value}",
                source_partition=i % 4,
                source_offset=i,
                touchpoint=tp,
            )
        )
    return out


def identity_changes() -> list[IdentityChange]:
    out = []
    for n, (loser, survivor) in enumerate(MERGES):
        out.append(
            IdentityChange(
                change_id=uuid.uuid5(uuid.NAMESPACE_URL, f"merge/{loser}/{survivor}"),
                kind=IdentityChangeKind.MERGE,
                person_id=loser,
                survivor_person_id=survivor,
                event_id=uuid.UUID(int=n + 1),
                identifiers=[{"type": IdentifierType.LOYALTY_ID, "value": f"L{n}"}],
                rule="shared_identifier",
                reason=f"L{n} seen on both",
                event_time=BASE + dt.timedelta(hours=n),
                changed_at=BASE + dt.timedelta(hours=n, seconds=1),
            )
        )
    out.append(
        IdentityChange(
            change_id=uuid.uuid5(uuid.NAMESPACE_URL, "blocked/p-009"),
            kind=IdentityChangeKind.IDENTIFIER_BLOCKED,
            person_id="p-009",
            related_person_ids=["p-010"],
            identifiers=[{"type": IdentifierType.COOKIE, "value": "null"}],
            rule="junk_value",
            event_time=BASE,
            changed_at=BASE + dt.timedelta(seconds=5),
        )
    )
    return out


def journeys() -> list[Journey]:
    """Two versions of each journey (the sink must keep the higher), one merged away."""
    out = []
    for j, person in enumerate(["p-000", "p-003", "p-005"]):
        for version in (1, 2):
            ended = version == 2 and j != 1
            out.append(
                Journey(
                    journey_id=f"j-{person}",
                    person_id=person,
                    version=version,
                    started_at=BASE,
                    updated_at=BASE + dt.timedelta(hours=version),
                    ended_at=BASE + dt.timedelta(hours=version) if ended else None,
                    status=JourneyStatus.PURCHASE if ended else JourneyStatus.OPEN,
                    stage=JourneyStage.CONVERSION if ended else JourneyStage.CONSIDERATION,
                    channel_path=[Channel.WEB, Channel.CHAT, Channel.STORE][: version + 1],
                    first_touch_channel=Channel.WEB,
                    last_touch_channel=[Channel.WEB, Channel.CHAT, Channel.STORE][version],
                    channel_switches=version,
                    touch_count=3 * version,
                    time_to_outcome_ms=3_600_000 * version if ended else None,
                    first_event_id=uuid.UUID(int=100 + j),
                    last_event_id=uuid.UUID(int=200 + j + version),
                    order_ids=["o-1"] if ended else [],
                    store_ids=["MI3"] if version == 2 else [],
                    amount_cents=129_900 if ended else None,
                    currency="EUR" if ended else None,
                )
            )
    out.append(
        Journey(
            journey_id="j-merged",
            person_id="p-001",
            version=1,
            started_at=BASE,
            updated_at=BASE,
            status=JourneyStatus.MERGED,
            stage=JourneyStage.AWARENESS,
            first_touch_channel=Channel.ADS,
            last_touch_channel=Channel.ADS,
            merged_into_journey_id="j-p-000",
        )
    )
    return out


def sessions() -> list[Session]:
    return [
        Session(
            session_id=f"s-{person}",
            person_id=person,
            channel=Channel.WEB,
            started_at=BASE,
            ended_at=BASE + dt.timedelta(minutes=version),
            event_count=version,
            version=version,
            closed=version == 3,
            journey_id=f"j-{person}",
            channel_session_id="ws-1" if version > 1 else None,
            first_event_id=uuid.UUID(int=300),
            last_event_id=uuid.UUID(int=300 + version),
        )
        for person in ("p-000", "p-007")
        for version in (1, 2, 3)
    ]


def alerts() -> list[Alert]:
    return [
        Alert(
            alert_id=f"a-{n}",
            kind=AlertKind.RESERVATION_NOT_PICKED_UP if n else AlertKind.REPEAT_CONTACT_OTHER_CHANNEL,
            person_id=person,
            detected_at=BASE + dt.timedelta(days=2, seconds=n),
            event_time=BASE + dt.timedelta(days=1),
            channel=Channel.STORE if n else Channel.CALL_CENTER,
            previous_channel=Channel.CHAT if n == 0 else None,
            store_id="MI3" if n else None,
            case_id="case-9" if n == 0 else None,
            reservation_id="r-1" if n else None,
            message="The reservation r-1 was never picked up." if n else "Called about case-9 again.",
            evidence_event_ids=[uuid.UUID(int=400 + n), uuid.UUID(int=500 + n)][: n + 1],
        )
        for n, person in enumerate(["p-000", "p-006"])
    ]


def dead_letters() -> list[DeadLetter]:
    return [
        DeadLetter(
            failed_at=BASE + dt.timedelta(seconds=n),
            stage="identity",
            error_type="DecodeError",
            reason="not Avro single-object encoding (starts 6e6f7420)",
            field=None if n else "identifiers",
            source_topic="touchpoints.web",
            source_partition=n % 2,
            source_offset=10 + n,
            key=b"k\xff" if n else None,
            payload=b"not avro \x00\x01" * (n + 1),
            payload_size=11 * (n + 1),
        )
        for n in range(3)
    ]


def by_topic(topics: TopicNames, touchpoints: int, seed: int) -> dict[str, list[AvroModel]]:
    """Every sink topic with its records."""
    return {
        topics.resolved: list(resolved_touchpoints(touchpoints, seed)),
        topics.identity_changes: list(identity_changes()),
        topics.journeys: list(journeys()),
        topics.sessions: list(sessions()),
        topics.alerts: list(alerts()),
        topics.dead_letters: list(dead_letters()),
    }


def encode(codec: Codec, record: AvroModel) -> bytes:
    return codec.encode(record.AVRO_NAME, record.to_avro())


@dataclass
class FakeMessage:
    """What the sink reads of a ``confluent_kafka.Message``."""

    t: str
    v: bytes | None
    o: int
    p: int = 0
    k: bytes | None = None
    ts: int = 1_790_000_000_000
    err: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def topic(self) -> str:
        return self.t

    def partition(self) -> int:
        return self.p

    def offset(self) -> int:
        return self.o

    def key(self) -> bytes | None:
        return self.k

    def value(self) -> bytes | None:
        return self.v

    def timestamp(self) -> tuple[int, int]:
        return (1, self.ts)

    def error(self) -> Any:
        return self.err


def messages(codec: Codec, records: dict[str, list[AvroModel]]) -> list[FakeMessage]:
    """Every record as a message of its topic, offsets counting per topic from 0."""
    return [
        FakeMessage(topic, encode(codec, record), offset, k=f"k{offset}".encode())
        for topic, items in records.items()
        for offset, record in enumerate(items)
    ]


ANALYST_VIEWS = (
    "v_touchpoints",
    "v_touchpoints_unified",
    "v_dead_letters",
    "v_journeys",
    "v_sessions",
    "v_alerts",
    "v_identity_changes",
    "v_person_aliases",
)


def snapshot(client: Any, views: tuple[str, ...] = ANALYST_VIEWS) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every analyst view, sorted, as comparable tuples."""
    out = {}
    for view in views:
        rows = client.query(f"SELECT * FROM {view}").result_rows
        out[view] = sorted((tuple(repr(v) for v in row) for row in rows), key=repr)
    return out
