"""Reading the identity state: the authoritative identity map, and ``whois TYPE VALUE``.

The cluster roots are the authority: an identifier's cached person (on its own record) may lag
behind a merge in flight or, after a crash, until its next event. So both the map and whois go
from the identifier to its cluster, follow aliases to the root and read the root's labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from streams.identity.graph import assign, shared_person_id
from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy, key_of
from streams.identity.state import ClusterRecord, IdentifierRecord

Lookup = Callable[[str], Any]  # key -> stored JSON value or None (a table's get, possibly remote)
MAX_ALIAS_HOPS = 10_000


def identity_map(
    identifiers: Iterable[tuple[str, Any]], clusters: Iterable[tuple[str, Any]]
) -> dict[str, str]:
    """Identifier key -> person id over whole tables (all partitions' items).

    Members of cluster roots get the root's labels; over-linked identifiers their pseudo-person.
    """
    out: dict[str, str] = {}
    for _, raw in clusters:
        cluster = ClusterRecord.from_json(raw)
        if cluster.alias is None:
            out.update(cluster.labels)
    for key, raw in identifiers:
        record = IdentifierRecord.from_json(raw)
        if record.flag is not None:
            out[key] = shared_person_id(key)
    return out


def root_of(cluster: str, clusters: Lookup) -> tuple[str, ClusterRecord] | None:
    """Follow aliases from ``cluster`` to its root (None if the cluster is unknown)."""
    for _ in range(MAX_ALIAS_HOPS):
        raw = clusters(cluster)
        if raw is None:
            return None
        record = ClusterRecord.from_json(raw)
        if record.alias is None:
            return cluster, record
        cluster = record.alias
    raise RuntimeError(f"alias chain from {cluster} does not end")


@dataclass(frozen=True, slots=True)
class Member:
    key: str
    first_seen: int  # epoch ms
    last_seen: int | None  # None when the lookup could not read the identifier's own record


@dataclass(frozen=True, slots=True)
class WhoIs:
    """What the stage knows about one identifier and its person."""

    key: str
    person_id: str | None
    status: str  # "linked", "over_linked", "pending" (seen, its cluster not yet caught up) or "unknown"
    first_seen: int | None
    last_seen: int | None
    members: tuple[Member, ...]  # the person's identifiers
    merges: tuple[tuple[str, str, str, int, str], ...]  # (loser, survivor, event id, time, rule) into it
    refused_links: tuple[tuple[str, str, str], ...]  # (identifier, anchor, rule) dropped by limits
    over_linked: str | None  # why, for an over-linked identifier


def whois(
    kind: str,
    value: str,
    identifiers: Lookup,
    clusters: Lookup,
    policy: IdentityPolicy = DEFAULT_POLICY,
) -> WhoIs:
    """Look up ``kind``/``value`` (as on the wire: hashed for e-mail and phone).

    ``identifiers`` and ``clusters`` read one key each (in a worker: the local table or a request
    routed to the worker owning the key).
    """
    key = key_of(kind, value, policy)
    raw = identifiers(key)
    if raw is None:
        return WhoIs(key, None, "unknown", None, None, (), (), (), None)
    record = IdentifierRecord.from_json(raw)
    if record.flag is not None:
        flag = record.flag
        why = f"seen with {flag.count} distinct {flag.kind} identifiers (limit {flag.limit})"
        me = Member(key, record.birth[0], record.last_seen)
        person = shared_person_id(key)
        return WhoIs(key, person, "over_linked", record.birth[0], record.last_seen, (me,), (), (), why)
    found = None if record.cluster is None else root_of(record.cluster, clusters)
    if found is None or key not in found[1].labels:
        me = Member(key, record.birth[0], record.last_seen)
        return WhoIs(key, record.person, "pending", record.birth[0], record.last_seen, (me,), (), (), None)
    root = found[1]
    person = root.labels[key]
    keys = sorted(k for k, p in root.labels.items() if p == person)
    members = []
    for k in keys:
        other = record if k == key else _identifier(identifiers(k))
        members.append(Member(k, root.members[k][0], None if other is None else other.last_seen))
    chain = {person}
    merges = []
    for loser, survivor, event_id, time, rule in reversed(root.history):
        if survivor in chain:
            chain.add(loser)
            merges.append((loser, survivor, event_id, time, rule))
    refused = tuple(
        (d.key, d.anchor, d.rule)
        for d in assign(root.members, root.sets, root.excluded, policy).dropped
        if d.key in keys or d.anchor in keys
    )
    history = tuple(reversed(merges))
    first, last = record.birth[0], record.last_seen
    return WhoIs(key, person, "linked", first, last, tuple(members), history, refused, None)


def _identifier(raw: Any) -> IdentifierRecord | None:
    return None if raw is None else IdentifierRecord.from_json(raw)
