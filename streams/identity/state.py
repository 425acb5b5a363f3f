"""The identity stage's state: one record per identifier and one per cluster, as small JSON values.

Both live in key-value stores that Faust tables (RocksDB with a changelog topic) or plain dicts can
back: :class:`Store` asks only for ``get``, item assignment and item deletion, which ``dict`` and
``faust.Table`` both have. Records are parsed into typed dataclasses for the handlers and written
back as compact JSON-able dicts (short field names: every value is also a changelog message).

Each handler touches only the record of its message's key, and every message is keyed by the key
it touches, so a record always lives on the partition that owns its key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from streams.identity.graph import Birth
from streams.writeback import Store

JsonDict = dict[str, Any]
RECENT_LIMIT = 8  # causes remembered per cluster to repeat their effects on a replay
HISTORY_LIMIT = 200  # merges kept per cluster for whois
EVENT_MEMORY = 16  # latest events remembered per identifier and per cluster, to resolve a replay as before


def event_mark(event_id: str) -> str:
    """64 bits of an event id: how identifiers and clusters remember the events they resolved."""
    return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()


def _birth(raw: Any) -> Birth:
    return (int(raw[0]), str(raw[1]))


@dataclass(slots=True)
class Flag:
    """Why an identifier stopped linking: it was seen with more identifiers of ``kind`` than a person has."""

    kind: str
    count: int
    limit: int
    event_id: str  # the event that crossed the limit: a replay of it repeats the report
    time: int
    prior_person: str | None  # whom it belonged to before, for the report

    def to_json(self) -> list[Any]:
        return [self.kind, self.count, self.limit, self.event_id, self.time, self.prior_person]

    @classmethod
    def from_json(cls, raw: list[Any]) -> Flag:
        return cls(str(raw[0]), int(raw[1]), int(raw[2]), str(raw[3]), int(raw[4]), raw[5])


@dataclass(slots=True)
class IdentifierRecord:
    """What the partition owning an identifier knows about it.

    ``cluster``/``person``/``version`` are a cache of the cluster's decision, written only by
    versioned relabel messages (the cluster record is the authority; see :mod:`streams.identity.lookup`).
    ``neighbours`` holds, for shareable identifiers only, the distinct identifiers seen with it per
    type, capped just above the type's limit: enough to decide over-linking, never a growing list.

    ``events`` are the marks (:func:`event_mark`) of the latest events seen while ``person`` was
    cached; when a relabel changes the person they move to ``was`` with the person they saw. An
    event read again after a crash, once its person was merged away, then resolves to the person
    it resolved to the first time, as everything downstream already has it (see ``Seen.was``).
    """

    birth: Birth
    last_seen: int
    cluster: str | None = None
    person: str | None = None
    version: int = -1
    neighbours: dict[str, list[str]] = field(default_factory=dict)
    flag: Flag | None = None
    events: list[str] = field(default_factory=list)
    was: tuple[str, list[str]] | None = None

    def to_json(self) -> JsonDict:
        out: JsonDict = {"b": list(self.birth), "l": self.last_seen, "c": self.cluster, "p": self.person}
        out["v"] = self.version
        if self.neighbours:
            out["n"] = self.neighbours
        if self.flag is not None:
            out["f"] = self.flag.to_json()
        if self.events:
            out["e"] = self.events
        if self.was is not None:
            out["w"] = [self.was[0], self.was[1]]
        return out

    def first_person(self, mark: str) -> str | None:
        """The person this identifier had cached when the event ``mark`` first passed, if that
        person has been relabelled since (None: a new event, or its person is still the cached one).
        Notes a new event."""
        if self.was is not None and mark in self.was[1]:
            return self.was[0]
        if mark not in self.events:
            self.events = [*self.events[1 - EVENT_MEMORY :], mark]
        return None

    def relabel(self, cluster: str, person: str, version: int) -> None:
        """Cache the cluster's newer decision; events seen under another person keep that person."""
        if person != self.person:
            if self.person is not None and self.events:
                self.was = (self.person, self.events)
            self.events = []
        self.cluster, self.person, self.version = cluster, person, version

    @classmethod
    def from_json(cls, raw: JsonDict) -> IdentifierRecord:
        flag = raw.get("f")
        return cls(
            birth=_birth(raw["b"]),
            last_seen=int(raw["l"]),
            cluster=raw.get("c"),
            person=raw.get("p"),
            version=int(raw.get("v", -1)),
            neighbours={k: list(v) for k, v in raw.get("n", {}).items()},
            flag=None if flag is None else Flag.from_json(flag),
            events=list(raw.get("e", ())),
            was=None if "w" not in raw else (str(raw["w"][0]), list(raw["w"][1])),
        )


@dataclass(slots=True)
class Recent:
    """The effects of one state-changing cause, repeated if that cause is replayed after a crash."""

    cause: str
    keys: list[str]  # identifiers that were relabelled
    changes: list[JsonDict]  # identity changes emitted (protocol.Change as JSON)

    def to_json(self) -> JsonDict:
        return {"c": self.cause, "k": self.keys, "x": self.changes}

    @classmethod
    def from_json(cls, raw: JsonDict) -> Recent:
        return cls(str(raw["c"]), list(raw["k"]), list(raw["x"]))


@dataclass(slots=True)
class ClusterRecord:
    """A union-find root holding the evidence of everything it linked, or an alias to its survivor.

    ``members``: identifier -> birth; ``sets``: evidence set key -> earliest (time, event id);
    ``excluded``: members found over-linked; ``labels``: the persons last computed (and sent to
    the identifiers) at ``version``. An alias keeps its last state so that a replayed union can
    ship it again (a crash may have lost the first shipment). ``resolved``: person -> marks of the
    latest events this root resolved to it, so a replayed event resolves as it did the first time
    even if a merge has moved its person since (the survivor's root inherits the memory).
    """

    version: int = 0
    members: dict[str, Birth] = field(default_factory=dict)
    sets: dict[str, Birth] = field(default_factory=dict)
    excluded: set[str] = field(default_factory=set)
    labels: dict[str, str] = field(default_factory=dict)
    alias: str | None = None
    alias_cause: str | None = None
    absorbed: set[str] = field(default_factory=set)
    history: list[list[Any]] = field(default_factory=list)  # [loser, survivor, event id, time, rule]
    recent: list[Recent] = field(default_factory=list)
    resolved: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        out: JsonDict = {
            "v": self.version,
            "m": {k: list(b) for k, b in self.members.items()},
            "s": {k: list(b) for k, b in self.sets.items()},
            "g": self.labels,
        }
        if self.excluded:
            out["x"] = sorted(self.excluded)
        if self.alias is not None:
            out["a"] = self.alias
            out["ac"] = self.alias_cause
        if self.absorbed:
            out["ab"] = sorted(self.absorbed)
        if self.history:
            out["h"] = self.history
        if self.recent:
            out["r"] = [r.to_json() for r in self.recent]
        if self.resolved:
            out["q"] = self.resolved
        return out

    @classmethod
    def from_json(cls, raw: JsonDict) -> ClusterRecord:
        return cls(
            version=int(raw["v"]),
            members={k: _birth(b) for k, b in raw["m"].items()},
            sets={k: _birth(b) for k, b in raw["s"].items()},
            excluded=set(raw.get("x", ())),
            labels=dict(raw["g"]),
            alias=raw.get("a"),
            alias_cause=raw.get("ac"),
            absorbed=set(raw.get("ab", ())),
            history=[list(h) for h in raw.get("h", ())],
            recent=[Recent.from_json(r) for r in raw.get("r", ())],
            resolved={p: list(marks) for p, marks in raw.get("q", {}).items()},
        )

    def remember(self, recent: Recent) -> None:
        kept = [r for r in self.recent if r.cause != recent.cause][-(RECENT_LIMIT - 1) :]
        self.recent = [*kept, recent]

    def recalled(self, cause: str) -> Recent | None:
        return next((r for r in self.recent if r.cause == cause), None)

    def resolved_before(self, mark: str) -> str | None:
        """The person the event ``mark`` was resolved to here before (a replay), or None."""
        return next((p for p, marks in self.resolved.items() if mark in marks), None)

    def remember_resolution(self, mark: str, person: str) -> bool:
        """Remember that the event ``mark`` resolved to ``person``; False if nothing changed.

        At most :data:`EVENT_MEMORY` events are kept in all, the oldest forgotten first."""
        marks = self.resolved.get(person, [])
        if marks and marks[-1] == mark:
            return False
        self.resolved[person] = [*(m for m in marks if m != mark), mark]
        self._trim()
        return True

    def absorb_resolutions(self, other: ClusterRecord) -> None:
        """Keep the absorbed root's memory too: its replayed events now arrive here."""
        for person, marks in other.resolved.items():
            mine = self.resolved.get(person, [])
            self.resolved[person] = [*(m for m in marks if m not in mine), *mine]
        self._trim()

    def _trim(self) -> None:
        excess = sum(len(m) for m in self.resolved.values()) - EVENT_MEMORY
        for person in list(self.resolved):
            if excess <= 0:
                break
            marks = self.resolved[person]
            drop = min(excess, len(marks))
            excess -= drop
            if drop == len(marks):
                del self.resolved[person]
            else:
                self.resolved[person] = marks[drop:]


class PartitionState:
    """The two tables of one partition, with typed access."""

    __slots__ = ("clusters", "identifiers")

    def __init__(self, identifiers: Store, clusters: Store) -> None:
        self.identifiers = identifiers
        self.clusters = clusters

    def identifier(self, key: str) -> IdentifierRecord | None:
        raw = self.identifiers.get(key)
        return None if raw is None else IdentifierRecord.from_json(raw)

    def put_identifier(self, key: str, record: IdentifierRecord) -> None:
        self.identifiers[key] = record.to_json()

    def cluster(self, key: str) -> ClusterRecord | None:
        raw = self.clusters.get(key)
        return None if raw is None else ClusterRecord.from_json(raw)

    def put_cluster(self, key: str, record: ClusterRecord) -> None:
        self.clusters[key] = record.to_json()
