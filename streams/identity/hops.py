"""The identifier side: an event visits the partition of each of its identifiers, strongest first.

At each hop the owning partition updates what it alone knows about the identifier (earliest and
latest sighting, the identifiers it was seen with, whether it is over-linked, which cluster it
belongs to) and adds a :class:`Seen` to the message. After the last hop the event either resolves
on the spot (one known identifier: its cached person) or goes to a cluster as a :class:`Link`.

Over-linking is decided here, from the identifier's own neighbourhood, so it is order independent:
a shareable identifier (kiosk, family tablet, call-center number, family e-mail) is over-linked
once it has been seen with more identifiers of some type than one person may have (two customer
ids, two loyalty cards...). That is a property of the set of events, not of their order. From then
on it links nobody: its cluster is told to exclude it (so links it already made are taken back by
recomputing the cluster's persons, see :mod:`streams.identity.graph`) and it resolves to its own
pseudo-person.

Every decision is replay-safe: a message processed again after a crash finds the state already
updated and still repeats its effects (the over-link report is tied to the flagging event's id,
"new" to the identifier's first event id). An event resolved on the spot resolves to the same
person when it is read again, even after a merge relabelled the identifier: the identifier keeps
the person its latest events saw (:meth:`IdentifierRecord.first_person`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from streams.identity.graph import shared_person_id
from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy, type_of, usable_or_raise
from streams.identity.protocol import (
    Cause,
    Change,
    Effects,
    EventRef,
    Exclude,
    Link,
    Observe,
    Relabel,
    Resolution,
    Seen,
)
from streams.identity.state import Flag, IdentifierRecord, PartitionState, event_mark

CLUSTER_PREFIX = "@"


def founding_cluster(key: str) -> str:
    """The cluster an identifier starts when first seen with nothing known (derived: replays agree)."""
    return CLUSTER_PREFIX + hashlib.sha256(f"cluster|{key}".encode()).hexdigest()[:16]


def start(
    event_id: str,
    time: int,
    identifiers: Iterable[tuple[str, str]],
    payload: Any = None,
    policy: IdentityPolicy = DEFAULT_POLICY,
) -> Observe:
    """The first message for a touchpoint (send it keyed by ``message.key``).

    Raises :class:`schemas.errors.InvalidEventError` when no identifier is usable, to dead-letter.
    """
    screened = usable_or_raise(identifiers, policy)
    return Observe(EventRef(event_id, time, screened.keys, screened.blocked), 0, (), payload)


def _flag(record: IdentifierRecord, key: str, event: EventRef, policy: IdentityPolicy) -> Flag | None:
    """Count the distinct identifiers seen with ``key``, per type; a flag if some type overflows."""
    for other in event.keys:
        if other == key:
            continue
        kind = type_of(other)
        limit = policy.of(kind).limit
        seen = record.neighbours.setdefault(kind, [])
        if other not in seen and len(seen) <= limit:
            seen.append(other)
        if len(seen) > limit:
            return Flag(kind, len(seen), limit, event.event_id, event.time, record.person)
    return None


def on_observe(message: Observe, state: PartitionState, policy: IdentityPolicy = DEFAULT_POLICY) -> Effects:
    event, key = message.event, message.key
    when = (event.time, event.event_id)
    record = state.identifier(key)
    if record is None:
        record = IdentifierRecord(birth=when, last_seen=event.time)
    else:
        record.birth = min(record.birth, when)
        record.last_seen = max(record.last_seen, event.time)
    effects = Effects()
    if record.flag is None and policy.of(type_of(key)).shareable:
        record.flag = _flag(record, key, event, policy)
        if record.flag is not None:
            record.person = shared_person_id(key)
    over, person, reason = 0, record.person, None
    if record.flag is not None:
        over = 1
        if record.flag.event_id == event.event_id:  # flagged by this very event (or its replay)
            flag = record.flag
            over, person = 2, flag.prior_person
            reason = f"seen with {flag.count} distinct {flag.kind}; a person has at most {flag.limit}"
            if record.cluster is not None:
                cause = Cause(event.event_id, event.time, (key,))
                effects.messages.append(Exclude(record.cluster, key, cause))
    elif record.cluster is None:
        earlier = [s.cluster for s in message.seen if s.over == 0 and s.cluster is not None]
        record.cluster = min(earlier) if earlier else founding_cluster(key)
    was = record.first_person(event_mark(event.event_id)) if record.flag is None else None
    state.put_identifier(key, record)
    new = record.birth[1] == event.event_id
    here = Seen(key, record.cluster, person, record.version, record.birth, over, new, reason, was)
    seen = (*message.seen, here)
    if message.hop + 1 < len(event.keys):
        effects.messages.append(Observe(event, message.hop + 1, seen, message.payload))
    else:
        _finish(event, seen, message.payload, effects)
    return effects


def _finish(event: EventRef, seen: tuple[Seen, ...], payload: Any, effects: Effects) -> None:
    """After the last hop: resolve here if nothing needs a cluster, else send the Link."""
    linking = [s for s in seen if s.over == 0]
    if not linking:
        person = shared_person_id(seen[0].key)
    elif len(linking) == 1 and not linking[0].new and linking[0].person is not None:
        person = linking[0].was or linking[0].person  # a replay resolves as the first time
    else:
        target = min(s.cluster for s in linking if s.cluster is not None)
        effects.messages.append(Link(target, event, seen, payload))
        return
    resolve(event, seen, person, payload, effects)


def resolve(event: EventRef, seen: Iterable[Seen], person: str, payload: Any, effects: Effects) -> None:
    """Hand out the event's person, and the reports that needed it (blocked and newly over-linked ids)."""
    effects.resolved.append(Resolution(event.event_id, event.time, person, payload))
    seen = list(seen)
    for key, why in event.blocked:
        reason = f"identifier refused ({why}); the event was resolved without it"
        effects.changes.append(
            Change("identifier_blocked", person, event.event_id, event.time, (key,), rule=why, reason=reason)
        )
    others = {o.person for o in seen if o.over == 0 and o.person is not None}
    for s in seen:
        if s.over != 2:
            continue
        # Whom it would have joined: its owner so far (unknown if its first link is still in
        # flight) and the persons of the other identifiers on the event.
        related = ({s.person} | others) - {person, None}
        effects.changes.append(
            Change(
                "identifier_over_linked",
                person,
                event.event_id,
                event.time,
                (s.key,),
                related_person_ids=tuple(sorted(p for p in related if p is not None)),
                rule="over_linked",
                reason=s.reason,
            )
        )


def on_relabel(message: Relabel, state: PartitionState) -> Effects:
    """Cache the cluster's decision if it is newer than what the identifier holds.

    Versions grow with every change of a cluster and jump above the absorbed cluster's on a
    merge, so the last word of the final cluster always wins whatever order relabels arrive in.
    An over-linked identifier keeps its own pseudo-person.
    """
    record = state.identifier(message.key)
    if record is None or record.flag is not None or message.version <= record.version:
        return Effects()
    record.relabel(message.cluster, message.person, message.version)
    state.put_identifier(message.key, record)
    return Effects()
