"""The cluster side: a distributed union-find whose roots hold the evidence and decide the persons.

A cluster only ever grows: clusters are merged (the larger id becomes an alias of the smaller and
ships its state there), never split, which is what makes concurrent merges converge: aliases
only point to smaller ids, so every chain ends at one root whatever order unions arrive in, and
the root ends up with the union of all the evidence. The persons inside a root are then a pure
function of that evidence (:func:`streams.identity.graph.assign`), so the final identity map
does not depend on partitions or interleaving, even where guards split what a cluster glued.

Identifiers cache their person through versioned :class:`Relabel` messages. A root bumps its
version whenever labels change and, on absorbing another root, jumps above that root's version
and relabels all of its members, so stale relabels from the absorbed root lose.

Replays after a crash repeat effects: a Union repeats its shipment if it is the one that made
the alias; a root remembers the relabels and changes of its last few causes and repeats them if
the same cause comes again; a Link always repairs the caches of the identifiers it carries.
A replayed Link also *resolves* as the first reading did: the root remembers the person each of
its latest events went to (and inherits the memory of the roots it absorbs), because downstream
already has the event under that person, and a merge made in between must not send it again
under the survivor (the journey stage would count it in a session of each person).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from streams.identity.graph import assign, moves, set_key, shared_person_id
from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy
from streams.identity.hops import resolve
from streams.identity.protocol import (
    Absorb,
    Cause,
    Change,
    ChangeKind,
    Effects,
    Exclude,
    Link,
    Relabel,
    Union,
)
from streams.identity.state import HISTORY_LIMIT, ClusterRecord, PartitionState, Recent, event_mark


def on_link(message: Link, state: PartitionState, policy: IdentityPolicy = DEFAULT_POLICY) -> Effects:
    effects = Effects()
    root = message.key
    record = state.cluster(root) or ClusterRecord()
    if record.alias is not None:
        effects.messages.append(replace(message, key=record.alias))
        return effects
    event = message.event
    linking = [s for s in message.seen if s.over == 0]
    changed = False
    for s in linking:
        known = record.members.get(s.key)
        if known is None or s.birth < known:
            record.members[s.key] = s.birth
            changed = True
    if len(linking) > 1:
        evidence, when = set_key(s.key for s in linking), (event.time, event.event_id)
        known = record.sets.get(evidence)
        if known is None or when < known:
            record.sets[evidence] = when
            changed = True
    cause = Cause(event.event_id, event.time, tuple(s.key for s in linking))
    for other in sorted({s.cluster for s in linking if s.cluster is not None} - {root}):
        small, large = sorted((root, other))
        effects.messages.append(Union(large, small, cause))
    cause_id = "e:" + event.event_id
    if changed:
        persons = {s.person for s in linking if s.person is not None}  # incl. those of other clusters
        before = list(record.labels.items())
        sent = _recompute(root, record, before, cause_id, cause, effects, policy, known=persons)
    else:
        sent = _repeat(root, record, cause_id, effects)
    for s in linking:
        label = record.labels.get(s.key)  # None: excluded meanwhile (its flag overtook this event)
        if label is not None and s.key not in sent and (s.person != label or s.cluster != root):
            effects.messages.append(Relabel(s.key, root, label, record.version))
    labelled = [record.labels[s.key] for s in linking if s.key in record.labels]
    mark = event_mark(event.event_id)
    # A replay resolves as the first time did, even if a merge has moved that person since.
    person = record.resolved_before(mark) or (labelled[0] if labelled else shared_person_id(linking[0].key))
    if record.remember_resolution(mark, person) or changed:
        state.put_cluster(root, record)
    resolve(event, message.seen, person, message.payload, effects)
    return effects


def on_union(message: Union, state: PartitionState) -> Effects:
    """Make ``message.key`` an alias of ``into`` (or pass the union on if it already has a survivor)."""
    effects = Effects()
    key, into = message.key, message.into
    if into >= key:  # never alias to a larger id: that is what guarantees chains end
        if into != key:
            effects.messages.append(Union(into, key, message.cause))
        return effects
    record = state.cluster(key) or ClusterRecord()
    cause_id = f"{message.cause.event_id}>{into}"
    if record.alias is None:
        record.alias, record.alias_cause = into, cause_id
        state.put_cluster(key, record)
        if record.members or record.excluded:
            effects.messages.append(Absorb(into, key, record.to_json(), message.cause))
    elif record.alias == into:
        if record.alias_cause == cause_id and (record.members or record.excluded):
            # the union that made the alias, replayed: its shipment may have been lost
            effects.messages.append(Absorb(into, key, record.to_json(), message.cause))
    else:
        small, large = sorted((record.alias, into))
        effects.messages.append(Union(large, small, message.cause))
    return effects


def on_absorb(message: Absorb, state: PartitionState, policy: IdentityPolicy = DEFAULT_POLICY) -> Effects:
    effects = Effects()
    root = message.key
    record = state.cluster(root) or ClusterRecord()
    if record.alias is not None:
        effects.messages.append(replace(message, key=record.alias))
        return effects
    source = ClusterRecord.from_json(message.record)
    cause_id = "a:" + message.source
    if message.source in record.absorbed:
        sent = _repeat(root, record, cause_id, effects)
        _relabel(root, record, (k for k in source.members if k not in sent), effects)
        return effects
    before = [*record.labels.items(), *source.labels.items()]
    for key, birth in source.members.items():
        known = record.members.get(key)
        if known is None or birth < known:
            record.members[key] = birth
    for evidence, when in source.sets.items():
        known = record.sets.get(evidence)
        if known is None or when < known:
            record.sets[evidence] = when
    record.excluded |= source.excluded
    record.absorb_resolutions(source)
    record.absorbed |= {message.source, *source.absorbed}  # a late duplicate of theirs is one of ours
    history = {tuple(h): h for h in [*record.history, *source.history]}
    record.history = sorted(history.values(), key=lambda h: (h[3], h[2], h[0]))[-HISTORY_LIMIT:]
    force = set(source.members)
    _recompute(root, record, before, cause_id, message.cause, effects, policy, source.version, force)
    state.put_cluster(root, record)
    return effects


def on_exclude(message: Exclude, state: PartitionState, policy: IdentityPolicy = DEFAULT_POLICY) -> Effects:
    effects = Effects()
    root = message.key
    record = state.cluster(root) or ClusterRecord()
    if record.alias is not None:
        effects.messages.append(replace(message, key=record.alias))
        return effects
    cause_id = "x:" + message.identifier
    if message.identifier in record.excluded:
        _repeat(root, record, cause_id, effects)
        return effects
    record.excluded.add(message.identifier)
    _recompute(root, record, list(record.labels.items()), cause_id, message.cause, effects, policy)
    state.put_cluster(root, record)
    return effects


def _recompute(
    root: str,
    record: ClusterRecord,
    before: list[tuple[str, str]],
    cause_id: str,
    cause: Cause,
    effects: Effects,
    policy: IdentityPolicy,
    floor: int = 0,
    force: set[str] | None = None,
    known: set[str] | None = None,
) -> set[str]:
    """Persons from the evidence; relabel what changed (and ``force``); report merges.

    ``before`` are the (key, person) labels this root and any absorbed root had; ``known`` other
    persons that existed (seen on the event's identifiers), so a merge into one of them is not
    mistaken for a rename. Returns the keys relabelled.
    """
    labels = assign(record.members, record.sets, record.excluded, policy).labels
    changed = {k for k, p in labels.items() if record.labels.get(k) != p}
    if force:
        changed |= force & labels.keys()
    earlier = {p for _, p in before} | (known or set())
    changes: list[Change] = []
    for move in moves(before, labels):
        kind: ChangeKind
        if move.whole:
            rule = "linked_by_event" if move.survivor in earlier else _rename_rule(cause_id)
            kind, what = "merge", "merged into"
        else:
            rule, kind, what = "split_by_guard", "other", "lost identifiers to"
        reason = f"{move.loser} {what} {move.survivor} ({len(move.keys)} identifiers moved)"
        changes.append(
            Change(kind, move.loser, cause.event_id, cause.time, cause.keys, move.survivor, (), rule, reason)
        )
        if move.whole:
            record.history.append([move.loser, move.survivor, cause.event_id, cause.time, rule])
    del record.history[:-HISTORY_LIMIT]
    if changed or changes or floor > record.version:
        record.version = max(record.version, floor) + 1
    record.labels = labels
    keys = sorted(changed)
    _relabel(root, record, keys, effects)
    effects.changes.extend(changes)
    if keys or changes:
        record.remember(Recent(cause_id, keys, [c.to_json() for c in changes]))
    return changed


def _rename_rule(cause_id: str) -> str:
    """Why a person's id changed without meeting an older one: its oldest identifier left or got older."""
    return "renamed_after_exclusion" if cause_id.startswith("x:") else "renamed_earlier_first_seen"


def _repeat(root: str, record: ClusterRecord, cause_id: str, effects: Effects) -> set[str]:
    """Repeat what ``cause_id`` did when it changed this root (a replay after a crash may have lost it)."""
    recent = record.recalled(cause_id)
    if recent is None:
        return set()
    keys = [k for k in recent.keys if k in record.labels]
    _relabel(root, record, keys, effects)
    effects.changes.extend(Change.from_json(c) for c in recent.changes)
    return set(keys)


def _relabel(root: str, record: ClusterRecord, keys: Iterable[str], effects: Effects) -> None:
    labels, version = record.labels, record.version
    effects.messages.extend(Relabel(k, root, labels[k], version) for k in keys if k in labels)
