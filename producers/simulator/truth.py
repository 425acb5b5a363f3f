"""Ground truth: what really happened in a simulation, to score the pipeline against.

Identifiers are stored as (type, canonical raw value): e-mail lower-cased and stripped, phone in
E.164. The pipeline only ever sees HMAC hashes of those, so :meth:`GroundTruth.hashed` maps them
through the caller's hash functions (the SDK's own, with its key) to compare like with like.
Shared devices (a family tablet, a store kiosk) belong to no single person and are listed apart.

JSON file format (one document, UTF-8, written by :func:`write_ground_truth`)::

    {"format": "omnijourney-ground-truth", "version": 1,
     "seed": 42, "start": "2026-10-01T00:00:00.000+00:00", "days": 30, "customers": 10000,
     "scenarios": ["sofa", ...], "invalid_share": 0.005,
     "persons": [{"person_id", "household_id", "name", "profile", "scenario",
                  "identifiers": [[type, value], ...]}],
     "shared_identifiers": [{"type", "value", "kind", "person_ids": [...]}],
     "journeys": [{"journey_id", "person_id", "kind", "outcome", "start", "end",
                   "event_ids": [...], "channels": [...]}],      # events in event-time order
     "handoffs": [{"kind", "person_id", "journey_id", "event_ids", "store_id",
                   "reservation_id", "campaign_id", "case_id"}],
     "channel_counts": {"web": n, ...},                           # valid events per channel
     "invalid": [{"event_id", "kind", "stage": "sdk" | "wire", "channel"}]}

Journey outcomes: ``purchase``, ``pickup``, ``resolution`` or ``abandoned`` (no outcome reached).
Hand-off kinds: ``unpurchasable_landing``, ``stock_blind_chat``, ``reservation_lost``,
``reservation_not_picked_up``, ``repeat_contact``. Every valid event is in exactly one journey.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final

FORMAT: Final = "omnijourney-ground-truth"
VERSION: Final = 1
PII_WIRE_TYPE: Final = {"email": "hashed_email", "phone": "hashed_phone"}


@dataclass(frozen=True, slots=True)
class PersonTruth:
    person_id: str
    household_id: str
    name: str
    profile: str
    scenario: str | None
    identifiers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class SharedIdentifier:
    type: str
    value: str
    kind: str  # family_tablet or store_kiosk
    person_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class JourneyTruth:
    journey_id: str
    person_id: str
    kind: str
    outcome: str
    start: dt.datetime
    end: dt.datetime
    event_ids: tuple[str, ...]
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HandoffTruth:
    kind: str
    person_id: str
    journey_id: str
    event_ids: tuple[str, ...]
    store_id: str | None = None
    reservation_id: str | None = None
    campaign_id: str | None = None
    case_id: str | None = None


@dataclass(frozen=True, slots=True)
class InvalidTruth:
    event_id: str
    kind: str
    stage: str  # "sdk": the SDK must refuse it; "wire": raw bytes that consumers must dead-letter
    channel: str


@dataclass
class GroundTruth:
    """Everything a test or benchmark needs to score identity stitching, journeys and alerts."""

    seed: int
    start: dt.datetime
    days: int
    customers: int
    scenarios: tuple[str, ...]
    invalid_share: float
    persons: list[PersonTruth] = field(default_factory=list)
    shared_identifiers: list[SharedIdentifier] = field(default_factory=list)
    journeys: list[JourneyTruth] = field(default_factory=list)
    handoffs: list[HandoffTruth] = field(default_factory=list)
    channel_counts: dict[str, int] = field(default_factory=dict)
    invalid: list[InvalidTruth] = field(default_factory=list)

    # -- lookups ----------------------------------------------------------------------------------

    def person(self, person_id: str) -> PersonTruth:
        for p in self.persons:
            if p.person_id == person_id:
                return p
        raise KeyError(person_id)

    def identifier_person(self) -> dict[tuple[str, str], str]:
        """(type, canonical raw value) -> person id, for identifiers owned by exactly one person."""
        return {ident: p.person_id for p in self.persons for ident in p.identifiers}

    def hashed(
        self, hash_email: Callable[[str], str], hash_phone: Callable[[str], str]
    ) -> dict[tuple[str, str], str]:
        """Like :meth:`identifier_person` but keyed as on the wire: (hashed_email, hash) etc.

        Pass the SDK's hash functions (they normalise first, so canonical values hash like any raw
        spelling of them).
        """
        hashers = {"email": hash_email, "phone": hash_phone}
        out: dict[tuple[str, str], str] = {}
        for (kind, value), person_id in self.identifier_person().items():
            if kind in hashers:
                out[(PII_WIRE_TYPE[kind], hashers[kind](value))] = person_id
            else:
                out[(kind, value)] = person_id
        return out

    def event_person(self) -> dict[str, str]:
        """event id -> person id for every valid event."""
        return {e: j.person_id for j in self.journeys for e in j.event_ids}

    def journeys_of(self, person_id: str) -> list[JourneyTruth]:
        return [j for j in self.journeys if j.person_id == person_id]

    @property
    def valid_events(self) -> int:
        return sum(self.channel_counts.values())

    # -- JSON ---------------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        def when(value: dt.datetime) -> str:
            return value.isoformat(timespec="milliseconds")

        return {
            "format": FORMAT,
            "version": VERSION,
            "seed": self.seed,
            "start": when(self.start),
            "days": self.days,
            "customers": self.customers,
            "scenarios": list(self.scenarios),
            "invalid_share": self.invalid_share,
            # Tuples are written as JSON arrays; only the datetimes need converting.
            "persons": [_shallow(p) for p in self.persons],
            "shared_identifiers": [_shallow(s) for s in self.shared_identifiers],
            "journeys": [{**_shallow(j), "start": when(j.start), "end": when(j.end)} for j in self.journeys],
            "handoffs": [_shallow(h) for h in self.handoffs],
            "channel_counts": dict(self.channel_counts),
            "invalid": [_shallow(i) for i in self.invalid],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> GroundTruth:
        if doc.get("format") != FORMAT or doc.get("version") != VERSION:
            raise ValueError(f"not an {FORMAT} v{VERSION} document")
        when = dt.datetime.fromisoformat
        return cls(
            seed=doc["seed"],
            start=when(doc["start"]),
            days=doc["days"],
            customers=doc["customers"],
            scenarios=tuple(doc["scenarios"]),
            invalid_share=doc["invalid_share"],
            persons=[
                PersonTruth(**{**p, "identifiers": tuple((t, v) for t, v in p["identifiers"])})
                for p in doc["persons"]
            ],
            shared_identifiers=[
                SharedIdentifier(**{**s, "person_ids": tuple(s["person_ids"])})
                for s in doc["shared_identifiers"]
            ],
            journeys=[
                JourneyTruth(
                    **{
                        **j,
                        "start": when(j["start"]),
                        "end": when(j["end"]),
                        "event_ids": tuple(j["event_ids"]),
                        "channels": tuple(j["channels"]),
                    }
                )
                for j in doc["journeys"]
            ],
            handoffs=[HandoffTruth(**{**h, "event_ids": tuple(h["event_ids"])}) for h in doc["handoffs"]],
            channel_counts=dict(doc["channel_counts"]),
            invalid=[InvalidTruth(**i) for i in doc["invalid"]],
        )


def _shallow(record: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict without ``asdict``'s deep copy (a month has ~10^6 event ids)."""
    names = _FIELD_NAMES.get(type(record))
    if names is None:
        names = _FIELD_NAMES[type(record)] = tuple(f.name for f in fields(record))
    return {name: getattr(record, name) for name in names}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def write_ground_truth(truth: GroundTruth, path: str | Path) -> Path:
    """Write ``truth`` as one JSON document; same truth, same bytes."""
    target = Path(path)
    target.write_text(
        json.dumps(truth.to_json(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    return target


def load_ground_truth(path: str | Path) -> GroundTruth:
    """Read a file written by :func:`write_ground_truth`."""
    return GroundTruth.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
