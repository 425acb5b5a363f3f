"""The identity stage's state: one record per identifier and one per cluster, as small JSON values.

Both live in key-value stores that Faust tables (RocksDB with a changelog topic) or plain dicts can
back: :class:`Store` asks only for ``get``, item assignment and item deletion, which ``dict`` and
``faust.Table`` both have. Records are parsed into typed dataclasses for the handlers and written
back as compact JSON-able dicts (short field names: every value is also a changelog message).

Each handler touches only the record of its message's key, and every message is keyed by the key
it touches, so a record always lives on the partition that owns its key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.identity.graph import Birth
from streams.writeback import Store

JsonDict = dict[str, Any]
RECENT_LIMIT = 8  # causes remembered per cluster to repeat their effects on a replay
HISTORY_LIMIT = 200  # merges kept per cluster for whois


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
    """

    birth: Birth
    last_seen: int
    cluster: str | None = None
    person: str | None = None
    version: int = -1
    neighbours: dict[str, list[str]] = field(default_factory=dict)
    flag: Flag | None = None

    def to_json(self) -> JsonDict:
        out: JsonDict = {"b": list(self.birth), "l": self.last_seen, "c": self.cluster, "p": self.person}
        out["v"] = self.version
        if self.neighbours:
            out["n"] = self.neighbours
        if self.flag is not None:
            out["f"] = self.flag.to_json()
        return out

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
    ship it again (a crash may have lost the first shipment).
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
        )

    def remember(self, recent: Recent) -> None:
        kept = [r for r in self.recent if r.cause != recent.cause][-(RECENT_LIMIT - 1) :]
        self.recent = [*kept, recent]

    def recalled(self, cause: str) -> Recent | None:
        return next((r for r in self.recent if r.cause == cause), None)


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
