"""Erasing a person from the identity stage's state, on the partitions that own each key.

The state of a person is spread over three kinds of records (see :mod:`streams.identity.state`):
each identifier's own record, the cluster root that holds the evidence linking them (and the
alias clusters it absorbed, which keep a copy of what they shipped), and the neighbour lists of
shareable identifiers that were seen with them (a kiosk remembers the customers it met). Faust
tables can only be changed on the partition that owns a key, while processing a message of that
partition, so erasure travels on the stage's own routing topic like every other identity message:

===============  ==============  ====================================================================
message          key             what the owning partition does
===============  ==============  ====================================================================
erase-id         identifier      delete the identifier's record (a changelog tombstone); tell its
                                 cluster
erase-cluster    cluster         drop the identifiers from the record's members, evidence, labels
                                 and history; an alias passes it on to its survivor; a root also
                                 tells the clusters it absorbed and the identifiers that shared
                                 evidence with the erased ones, and recomputes who is who among the
                                 identifiers that remain (relabelling them if that changed); a
                                 record left empty is deleted
erase-nb         identifier      drop the erased identifiers from its neighbour lists and flag
===============  ==============  ====================================================================

Every handler is idempotent (a replay finds nothing left to drop and sends nothing new, except an
alias forwarding again, which ends at the root), and pure, like :mod:`streams.identity.handler`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from streams.identity.clusters import _recompute
from streams.identity.graph import member_order, set_key, set_members
from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy
from streams.identity.protocol import Absorb, Cause, Change, Effects, Link, Message, Observe
from streams.identity.state import ClusterRecord, IdentifierRecord, PartitionState

ERASE_KINDS = ("erase-id", "erase-cluster", "erase-nb")
JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Erase:
    """One erasure message on the routing topic (``kind`` is one of :data:`ERASE_KINDS`)."""

    kind: str
    key: str
    identifiers: tuple[str, ...]  # every identifier key of the person
    persons: tuple[str, ...]  # every person id (survivor and merged away)
    erasure_id: str
    time: int  # epoch ms of the request (handlers use no clock)
    forward: bool = True  # an alias passes it on to its survivor (not when a root fans it out)

    def to_json(self) -> JsonDict:
        return {
            "m": self.kind,
            "key": self.key,
            "ids": list(self.identifiers),
            "ps": list(self.persons),
            "e": self.erasure_id,
            "t": self.time,
            "f": self.forward,
        }

    @classmethod
    def from_json(cls, raw: JsonDict) -> Erase:
        ids, persons = tuple(raw["ids"]), tuple(raw["ps"])
        return cls(raw["m"], raw["key"], ids, persons, raw["e"], int(raw["t"]), bool(raw.get("f", True)))


def is_erase(raw: JsonDict) -> bool:
    return raw.get("m") in ERASE_KINDS


@dataclass(slots=True)
class ErasureEffects:
    erase: list[Erase] = field(default_factory=list)  # to the routing topic, keyed by ``key``
    identity: Effects = field(default_factory=Effects)  # relabels and changes after a recompute
    deleted: list[str] = field(default_factory=list)  # state keys deleted here
    scrubbed: list[str] = field(default_factory=list)  # state keys rewritten without the person


def handle_erase(
    msg: Erase, state: PartitionState, policy: IdentityPolicy = DEFAULT_POLICY
) -> ErasureEffects:
    if msg.kind == "erase-id":
        return _erase_identifier(msg, state)
    if msg.kind == "erase-cluster":
        return _erase_cluster(msg, state, policy)
    return _erase_neighbours(msg, state)


def _erase_identifier(msg: Erase, state: PartitionState) -> ErasureEffects:
    out = ErasureEffects()
    record = state.identifier(msg.key)
    if record is None:
        return out
    if record.cluster is not None:
        out.erase.append(replace(msg, kind="erase-cluster", key=record.cluster))
    for seen in record.neighbours.values():  # shareable: whom it met, whose lists may name it too
        out.erase += [replace(msg, kind="erase-nb", key=k) for k in seen if k not in msg.identifiers]
    del state.identifiers[msg.key]
    out.deleted.append(msg.key)
    return out


def _erase_neighbours(msg: Erase, state: PartitionState) -> ErasureEffects:
    out = ErasureEffects()
    record = state.identifier(msg.key)
    if record is None or not scrub_identifier(record, set(msg.identifiers), set(msg.persons)):
        return out
    state.put_identifier(msg.key, record)
    out.scrubbed.append(msg.key)
    return out


def scrub_identifier(record: IdentifierRecord, ids: set[str], persons: set[str]) -> bool:
    """Drop erased identifiers from a neighbour list and an erased person from a flag; True if changed."""
    changed = False
    for kind, seen in list(record.neighbours.items()):
        kept = [k for k in seen if k not in ids]
        if len(kept) != len(seen):
            changed = True
            if kept:
                record.neighbours[kind] = kept
            else:
                del record.neighbours[kind]
    if record.flag is not None and record.flag.prior_person in persons:
        record.flag.prior_person = None
        changed = True
    if record.person in persons:  # a cache of an erased person's label (the root relabels it)
        record.person, record.events, changed = None, [], True
    if record.was is not None and record.was[0] in persons:  # replays of theirs are dropped anyway
        record.was, changed = None, True
    return changed


def _erase_cluster(msg: Erase, state: PartitionState, policy: IdentityPolicy) -> ErasureEffects:
    out = ErasureEffects()
    record = state.cluster(msg.key)
    if record is None:
        return out
    ids, persons = set(msg.identifiers), set(msg.persons)
    # Identifiers whose neighbour lists or flags may name the person: those that shared evidence
    # with them, and the over-linked ones of this cluster (flagged by an event the person was on).
    partners = {k for s in record.sets for k in set_members(s) if ids & set(set_members(s))}
    partners = (partners | record.excluded) - ids
    before = [(k, p) for k, p in record.labels.items() if k not in ids]
    changed = scrub_cluster(record, ids, persons, policy)
    if record.alias is not None:
        if msg.forward:
            out.erase.append(replace(msg, key=record.alias))
    elif changed:
        out.erase += [replace(msg, key=c, forward=False) for c in sorted(record.absorbed)]
        out.erase += [replace(msg, kind="erase-nb", key=k) for k in sorted(partners)]
        if record.members:
            cause = Cause(msg.erasure_id, msg.time, ())
            _recompute(msg.key, record, before, "erase:" + msg.erasure_id, cause, out.identity, policy)
    if not changed:
        return out
    if record.members or record.excluded:
        state.put_cluster(msg.key, record)
        out.scrubbed.append(msg.key)
    else:
        del state.clusters[msg.key]
        out.deleted.append(msg.key)
    return out


def scrub_cluster(
    record: ClusterRecord, ids: set[str], persons: set[str], policy: IdentityPolicy = DEFAULT_POLICY
) -> bool:
    """Remove erased identifiers and persons from a cluster record; True if anything changed.

    An evidence set keeps its other identifiers only if its anchor (strongest, then oldest) was
    not erased: with an erased anchor, the others were linked to it alone, never to each other.
    """
    changed = False
    order = {k: member_order(k, b, policy) for k, b in record.members.items()}
    sets: dict[str, tuple[int, str]] = {}
    for key, when in record.sets.items():
        members = set_members(key)
        if not ids & set(members):
            _keep_earliest(sets, key, when)
            continue
        changed = True
        linking = [k for k in members if k in order and k not in record.excluded]
        anchor = min(linking, key=lambda k: (policy.rank(k), order[k]), default=None)
        rest = [k for k in members if k not in ids]
        if anchor not in ids and len(rest) > 1:
            _keep_earliest(sets, set_key(rest), when)
    record.sets = sets
    for name in ("members", "labels"):
        table: dict[str, Any] = getattr(record, name)
        for key in ids & table.keys():
            del table[key]
            changed = True
    for key, person in list(record.labels.items()):
        if person in persons:  # a label of an erased person on an identifier not named (stale)
            del record.labels[key]
            changed = True
    if record.excluded & ids:
        record.excluded -= ids
        changed = True
    history = [h for h in record.history if h[0] not in persons and h[1] not in persons]
    recent = [r for r in record.recent if not _mentions(r.keys, r.changes, ids, persons)]
    changed = changed or len(history) != len(record.history) or len(recent) != len(record.recent)
    record.history, record.recent = history, recent
    for person in persons & record.resolved.keys():
        del record.resolved[person]
        changed = True
    return changed


def _keep_earliest(sets: dict[str, tuple[int, str]], key: str, when: tuple[int, str]) -> None:
    known = sets.get(key)
    sets[key] = when if known is None else min(known, when)


def _mentions(keys: list[str], changes: list[JsonDict], ids: set[str], persons: set[str]) -> bool:
    if ids & set(keys):
        return True
    for raw in changes:
        change = Change.from_json(raw)
        named = {change.person_id, change.survivor_person_id, *change.related_person_ids}
        if persons & named or ids & set(change.identifiers):
            return True
    return False


def screen_message(message: Message, suppressed: Any) -> Message | None:
    """A routing message with suppressed identifiers taken out, or None to drop it.

    ``suppressed.any_key(keys)`` says whether any identifier key is suppressed. An event still
    walking the hops when its person was erased is dropped; a cluster state being shipped to its
    survivor (an absorb in flight) loses the erased identifiers first.
    """
    if isinstance(message, Observe | Link):
        return None if suppressed.any_key(message.event.keys) else message
    if isinstance(message, Absorb):
        record = ClusterRecord.from_json(message.record)
        erased = {k for k in record.members if suppressed.any_key([k])}
        if erased:
            scrub_cluster(record, erased, set())
            return replace(message, record=record.to_json())
    return message


def scrub_on_sight(message: Message, state: PartitionState, suppressed: Any) -> bool:
    """Before an identifier's next hop: drop suppressed identifiers from its neighbour list.

    The erasure reaches the neighbour lists of identifiers that shared evidence with the person;
    a shareable identifier flagged by an event the person was on, whose cluster never met the
    person's, is only found here, the next time it is seen. True if the record was rewritten.
    """
    if not isinstance(message, Observe) or not suppressed.identifiers:
        return False
    record = state.identifier(message.key)
    if record is None:
        return False
    erased = {k for seen in record.neighbours.values() for k in seen if suppressed.any_key([k])}
    stale = record.flag is not None and record.flag.prior_person in suppressed.persons
    if not (erased or stale) or not scrub_identifier(record, erased, suppressed.persons):
        return False
    state.put_identifier(message.key, record)
    return True
