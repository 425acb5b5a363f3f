"""The identity map as one pure function of a set of events: the specification the stage converges to.

The partitioned protocol must end with exactly this map whatever the partition count, the
interleaving or the crashes; the tests hold it to that. It is also a batch recomputation for
audits: replay a topic into :func:`identity_map_of` and compare with the tables.

The same rules as the stage, applied to all events at once: junk guards per event; an identifier
over-linked if its whole neighbourhood overflows a per-type limit (:mod:`streams.identity.hops`);
births and evidence sets as earliest (time, event id); persons by :func:`streams.identity.graph.assign`.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.identity.graph import Birth, assign, set_key, shared_person_id
from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy, screen, type_of

Event = tuple[str, int, Iterable[tuple[str, str]]]  # (event id, epoch ms, (type, value) pairs)


def identity_map_of(events: Iterable[Event], policy: IdentityPolicy = DEFAULT_POLICY) -> dict[str, str]:
    """Identifier key -> person id for everything ``events`` carry (over-linked ones: pseudo-persons)."""
    births: dict[str, Birth] = {}
    sets: dict[str, Birth] = {}
    neighbours: dict[str, dict[str, set[str]]] = {}
    for event_id, time, identifiers in events:
        keys = screen(identifiers, policy).keys
        when = (time, event_id)
        for key in keys:
            if key not in births or when < births[key]:
                births[key] = when
            if policy.of(type_of(key)).shareable:
                seen = neighbours.setdefault(key, {})
                for other in keys:
                    if other != key:
                        seen.setdefault(type_of(other), set()).add(other)
        if len(keys) > 1:
            evidence = set_key(keys)
            if evidence not in sets or when < sets[evidence]:
                sets[evidence] = when
    over = {
        key
        for key, by_type in neighbours.items()
        if any(len(found) > policy.of(kind).limit for kind, found in by_type.items())
    }
    labels = assign(births, sets, over, policy).labels
    labels.update((key, shared_person_id(key)) for key in over)
    return labels
