"""Who is who inside one cluster: a pure function of the evidence, whatever order it arrived in.

A *cluster* (see :mod:`streams.identity.clusters`) gathers every identifier that some event linked,
directly or through others; its evidence is, per distinct set of identifiers seen together on an
event, the earliest (event time, event id) of such an event, plus every identifier's *birth* (its
earliest (event time, event id)). :func:`assign` turns that evidence into persons.

Why a function of the evidence rather than of the processing order: the guards are order
sensitive (which of two customer ids keeps a shared link?), and the result must be the same with
one partition or eight and under any interleaving. So the guards are decided as if all events had
been processed in event-time order (Kruskal's algorithm over the evidence sets, in (time, event
id) order), which every partition can recompute from the same evidence and reach the same answer.

Rules, in order:

- over-linked identifiers (``excluded``) link nobody; each is its own pseudo-person
  (:func:`shared_person_id`), so events that only carry a kiosk still resolve to something stable;
- within an evidence set the strongest identifier is the anchor; each other identifier's person is
  merged into the anchor's unless the merged person would exceed a per-type limit, in which case
  that (weaker) link is dropped and recorded: the customer is never split, the link is refused;
- the person id is derived from its oldest member: the member with the smallest (birth time, type
  rank, birth event id, key). So the oldest person survives a merge, a new cookie joining a known
  customer never renames it, and two identifiers born on the same event are named after the
  stronger one (a shared device born with a customer id never gives the customer its name, so it
  cannot take the name away when it is later excluded).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy, type_of

Birth = tuple[int, str]  # (event time in epoch ms, event id): when an identifier or link was first seen
SEPARATOR = "\x1f"  # joins the keys of an evidence set; guards refuse control characters in values


def person_id(key: str, birth: Birth) -> str:
    """The id of a person named by its oldest identifier: a hash of that identifier and its first event.

    With the first event in it, an id is never reused once abandoned (a first sighting only ever
    moves earlier, an excluded identifier never names a person again), so merge aliases, which
    always point from an abandoned id, cannot form a cycle.
    """
    return "p-" + hashlib.sha256(f"{birth[1]}|{key}".encode()).hexdigest()[:24]


def shared_person_id(key: str) -> str:
    """The pseudo-person of an over-linked identifier: stable, whenever it was flagged."""
    return "p-" + hashlib.sha256(f"shared|{key}".encode()).hexdigest()[:24]


def set_key(keys: Iterable[str]) -> str:
    """Canonical key of an evidence set (sorted, so any order of the same identifiers gives one key)."""
    return SEPARATOR.join(sorted(keys))


def set_members(setkey: str) -> list[str]:
    return setkey.split(SEPARATOR)


@dataclass(frozen=True, slots=True)
class Dropped:
    """A link refused by a per-person limit: ``key`` was not joined to ``anchor``'s person."""

    key: str
    anchor: str
    event: Birth
    rule: str  # e.g. "customer_id_limit"


@dataclass(frozen=True, slots=True)
class Assignment:
    labels: dict[str, str]  # identifier key -> person id, for every non-excluded member
    first_seen: dict[str, int]  # person id -> birth time of its oldest identifier
    dropped: tuple[Dropped, ...]


class _Groups:
    """Union-find over identifier keys with per-type counts and the naming (oldest) member per root."""

    def __init__(self, order: dict[str, tuple[int, int, str, str]]) -> None:
        self.parent: dict[str, str] = {k: k for k in order}
        self.order = order
        self.counts: dict[str, Counter[str]] = {k: Counter((type_of(k),)) for k in order}

    def find(self, key: str) -> str:
        parent = self.parent
        root = key
        while parent[root] != root:
            root = parent[root]
        while parent[key] != root:
            parent[key], key = root, parent[key]
        return root

    def violation(self, a: str, b: str, policy: IdentityPolicy) -> str | None:
        ca, cb = self.counts[a], self.counts[b]
        for kind, n in cb.items():
            if ca.get(kind, 0) + n > policy.of(kind).limit:
                return f"{kind}_limit"
        return None

    def union(self, a: str, b: str) -> None:
        if self.order[b] < self.order[a]:
            a, b = b, a
        self.parent[b] = a
        self.counts[a].update(self.counts.pop(b))


def member_order(key: str, birth: Birth, policy: IdentityPolicy) -> tuple[int, int, str, str]:
    """Total order of identifiers by age; the smallest member of a person names it."""
    return (birth[0], policy.rank(key), birth[1], key)


def assign(
    members: Mapping[str, Birth],
    sets: Mapping[str, Birth],
    excluded: Collection[str] = (),
    policy: IdentityPolicy = DEFAULT_POLICY,
) -> Assignment:
    """Persons of one cluster from its evidence (see the module docstring for the rules)."""
    order = {k: member_order(k, b, policy) for k, b in members.items() if k not in excluded}
    groups = _Groups(order)
    dropped: list[Dropped] = []
    for setkey, when in sorted(sets.items(), key=lambda item: (item[1], item[0])):
        keys = [k for k in set_members(setkey) if k in order]
        if len(keys) < 2:
            continue
        keys.sort(key=lambda k: (policy.rank(k), order[k]))
        anchor = keys[0]
        for key in keys[1:]:
            a, b = groups.find(anchor), groups.find(key)
            if a == b:
                continue
            rule = groups.violation(a, b, policy)
            if rule is None:
                groups.union(a, b)
            else:
                dropped.append(Dropped(key, anchor, when, rule))
    labels: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    names: dict[str, str] = {}
    for key in order:
        root = groups.find(key)
        pid = names.get(root)
        if pid is None:
            pid = names[root] = person_id(root, members[root])
            first_seen[pid] = members[root][0]
        labels[key] = pid
    return Assignment(labels, first_seen, tuple(dropped))


@dataclass(frozen=True, slots=True)
class Move:
    """How a person id changed between two assignments.

    ``whole``: the loser id is gone and its identifiers now belong to ``survivor`` (a merge, or a
    rename when the survivor is new). Otherwise ``keys`` left a person that still exists (a split,
    only ever caused by a guard being re-decided when late evidence arrives).
    """

    loser: str
    survivor: str
    keys: tuple[str, ...]
    whole: bool


def moves(old: Iterable[tuple[str, str]], new: Mapping[str, str]) -> list[Move]:
    """Merges and splits from ``old`` (key, person) pairs to ``new`` labels, deterministic in order.

    ``old`` may name a key twice (two clusters' views before one absorbed the other). Keys absent
    from ``new`` (excluded ones) are ignored: their departure is reported as over-linking instead.
    A vanished person's survivor is where most of its identifiers went (ties: smallest id).
    """
    before: dict[str, set[str]] = {}
    for key, pid in old:
        before.setdefault(pid, set()).add(key)
    current = set(new.values())
    out: list[Move] = []
    for pid in sorted(before):
        targets: dict[str, list[str]] = {}
        for key in sorted(before[pid]):
            now = new.get(key)
            if now is not None and now != pid:
                targets.setdefault(now, []).append(key)
        if not targets:
            continue
        if pid in current:
            out.extend(Move(pid, dest, tuple(keys), whole=False) for dest, keys in sorted(targets.items()))
        else:
            dest = min(targets, key=lambda d: (-len(targets[d]), d))
            moved = tuple(sorted(k for keys in targets.values() for k in keys))
            out.append(Move(pid, dest, moved, whole=True))
    return out
