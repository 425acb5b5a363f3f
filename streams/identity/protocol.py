"""Messages between the identity stage's partitions, and what the stage hands out.

All internal messages travel on one routing topic, keyed by the state key they concern (an
identifier key ``"type:value"`` or a cluster key ``"@..."``), so each is handled on the partition
that owns that key's records. ``message.key`` is that key; :func:`encode`/:func:`decode` turn a
message into a JSON-able dict and back (the topic's value).

============  ====================  =====================================================
message       key                   what the owning partition does
============  ====================  =====================================================
Observe       ``event.keys[hop]``   update the identifier (birth, last seen, neighbours,
                                    over-link flag, cluster pointer); add what it knows to
                                    ``seen``; send on to the next identifier, or finish
Link          cluster               add the event's evidence; union with the other
                                    clusters seen; recompute persons; resolve the event
Union         the larger cluster    alias it to ``into`` and ship its state there
Absorb        ``into``              merge the shipped state; recompute; relabel
Exclude       cluster               stop linking through an over-linked identifier
Relabel       identifier            cache (cluster, person) if ``version`` is newer
============  ====================  =====================================================
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from streams.identity.graph import Birth

JsonDict = dict[str, Any]
ChangeKind = Literal["merge", "identifier_blocked", "identifier_over_linked", "other"]
_CHANGE_NAMESPACE = uuid.UUID("6f1d7a52-3c8e-4e0b-9a8f-6b1f0d3c2a91")


@dataclass(frozen=True, slots=True)
class EventRef:
    """The touchpoint as identity sees it: id, event time (epoch ms) and its usable identifier keys."""

    event_id: str
    time: int
    keys: tuple[str, ...]  # strongest first: the order of the hops
    blocked: tuple[tuple[str, str], ...] = ()  # (key, reason), reported once the person is known


@dataclass(frozen=True, slots=True)
class Seen:
    """What one identifier's partition knew when the event passed.

    ``over``: 0 links, 1 over-linked before this event, 2 over-linked by this event (then
    ``person`` is whom it belonged to until now and ``reason`` explains the flag).
    ``new``: this event is the identifier's first (earliest) sighting, so its cluster must hear of it.
    ``was``: set on a replay after a crash: the person this identifier had cached when the event
    first passed, since relabelled (a merge). An event resolved on the spot resolves to it again.
    """

    key: str
    cluster: str | None
    person: str | None
    version: int
    birth: Birth
    over: int = 0
    new: bool = False
    reason: str | None = None
    was: str | None = None


@dataclass(frozen=True, slots=True)
class Observe:
    event: EventRef
    hop: int
    seen: tuple[Seen, ...]
    payload: Any = None  # opaque and JSON-able (e.g. the touchpoint), handed back in the Resolution

    @property
    def key(self) -> str:
        return self.event.keys[self.hop]


@dataclass(frozen=True, slots=True)
class Link:
    key: str  # the cluster
    event: EventRef
    seen: tuple[Seen, ...]
    payload: Any = None


@dataclass(frozen=True, slots=True)
class Cause:
    """Provenance carried from the event that set a union going to the merges it causes."""

    event_id: str
    time: int
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Union:
    key: str  # the larger cluster id, which becomes an alias of ``into``
    into: str
    cause: Cause


@dataclass(frozen=True, slots=True)
class Absorb:
    key: str  # the cluster that absorbs
    source: str
    record: JsonDict  # the source's ClusterRecord as JSON
    cause: Cause


@dataclass(frozen=True, slots=True)
class Exclude:
    key: str  # the cluster the identifier belonged to
    identifier: str
    cause: Cause


@dataclass(frozen=True, slots=True)
class Relabel:
    key: str  # the identifier
    cluster: str
    person: str
    version: int


Message = Observe | Link | Union | Absorb | Exclude | Relabel


@dataclass(frozen=True, slots=True)
class Resolution:
    """One touchpoint's person, for touchpoints.resolved (provisional if a merge is still under way)."""

    event_id: str
    time: int
    person_id: str
    payload: Any


@dataclass(frozen=True, slots=True)
class Change:
    """An identity.changes record, minus processing time (the agent adds ``changed_at``).

    ``identifiers`` are keys ``"type:value"`` (split them for the Avro ``Identifier`` records).
    """

    kind: ChangeKind
    person_id: str
    event_id: str | None
    time: int
    identifiers: tuple[str, ...] = ()
    survivor_person_id: str | None = None
    related_person_ids: tuple[str, ...] = ()
    rule: str | None = None
    reason: str | None = None

    @property
    def change_id(self) -> uuid.UUID:
        """Deterministic, so a change repeated after a replay deduplicates downstream.

        A blocked identifier's id leaves the event out: a tracker sending "null" on every event
        then makes one row per person and value in the sink, not one per event.
        """
        survivor = self.survivor_person_id or ""
        event = "" if self.kind == "identifier_blocked" else self.event_id or ""
        parts = (self.kind, self.person_id, survivor, event, *self.identifiers)
        return uuid.uuid5(_CHANGE_NAMESPACE, "|".join(parts))

    def to_json(self) -> JsonDict:
        return {
            "k": self.kind,
            "p": self.person_id,
            "e": self.event_id,
            "t": self.time,
            "i": list(self.identifiers),
            "s": self.survivor_person_id,
            "r": list(self.related_person_ids),
            "u": self.rule,
            "w": self.reason,
        }

    @classmethod
    def from_json(cls, raw: JsonDict) -> Change:
        ids, related = tuple(raw["i"]), tuple(raw["r"])
        return cls(raw["k"], raw["p"], raw["e"], raw["t"], ids, raw["s"], related, raw["u"], raw["w"])


@dataclass(slots=True)
class Effects:
    """Everything one handled message produces: messages for the routing topic and outputs."""

    messages: list[Message] = field(default_factory=list)
    resolved: list[Resolution] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


# -- JSON --------------------------------------------------------------------------------------------


def _event(e: EventRef) -> JsonDict:
    return {"i": e.event_id, "t": e.time, "k": list(e.keys), "b": [list(b) for b in e.blocked]}


def _event_from(raw: JsonDict) -> EventRef:
    return EventRef(raw["i"], raw["t"], tuple(raw["k"]), tuple((k, r) for k, r in raw["b"]))


def _seen(s: Seen) -> list[Any]:
    out = [s.key, s.cluster, s.person, s.version, list(s.birth), s.over, s.new, s.reason]
    if s.was is not None:
        out.append(s.was)
    return out


def _seen_from(raw: list[Any]) -> Seen:
    was = raw[8] if len(raw) > 8 else None  # absent unless the event is a replay (and before replays were)
    return Seen(raw[0], raw[1], raw[2], raw[3], (raw[4][0], raw[4][1]), raw[5], raw[6], raw[7], was)


def _cause(c: Cause) -> JsonDict:
    return {"i": c.event_id, "t": c.time, "k": list(c.keys)}


def _cause_from(raw: JsonDict) -> Cause:
    return Cause(raw["i"], raw["t"], tuple(raw["k"]))


def encode(message: Message) -> JsonDict:
    """The message as a JSON-able dict (``"m"`` names its type)."""
    if isinstance(message, Observe):
        seen = [_seen(s) for s in message.seen]
        return {"m": "obs", "e": _event(message.event), "h": message.hop, "s": seen, "p": message.payload}
    if isinstance(message, Link):
        seen = [_seen(s) for s in message.seen]
        return {"m": "link", "key": message.key, "e": _event(message.event), "s": seen, "p": message.payload}
    if isinstance(message, Union):
        return {"m": "union", "key": message.key, "into": message.into, "c": _cause(message.cause)}
    if isinstance(message, Absorb):
        shipped = {"source": message.source, "r": message.record, "c": _cause(message.cause)}
        return {"m": "absorb", "key": message.key, **shipped}
    if isinstance(message, Exclude):
        return {"m": "exclude", "key": message.key, "id": message.identifier, "c": _cause(message.cause)}
    body: JsonDict = {"c": message.cluster, "p": message.person, "v": message.version}
    return {"m": "relabel", "key": message.key, **body}


def decode(raw: JsonDict) -> Message:
    """Inverse of :func:`encode`; raises ``KeyError``/``ValueError`` on a malformed message."""
    kind = raw["m"]
    if kind == "obs":
        seen = tuple(_seen_from(s) for s in raw["s"])
        return Observe(_event_from(raw["e"]), int(raw["h"]), seen, raw.get("p"))
    if kind == "link":
        seen = tuple(_seen_from(s) for s in raw["s"])
        return Link(raw["key"], _event_from(raw["e"]), seen, raw.get("p"))
    if kind == "union":
        return Union(raw["key"], raw["into"], _cause_from(raw["c"]))
    if kind == "absorb":
        return Absorb(raw["key"], raw["source"], raw["r"], _cause_from(raw["c"]))
    if kind == "exclude":
        return Exclude(raw["key"], raw["id"], _cause_from(raw["c"]))
    if kind == "relabel":
        return Relabel(raw["key"], raw["c"], raw["p"], int(raw["v"]))
    raise ValueError(f"unknown identity message type {kind!r}")
