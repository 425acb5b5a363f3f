"""The partitioned protocol on hand-made stories: merges, chains, concurrency, guards, reports, replays."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from streams.identity.graph import person_id, shared_person_id
from streams.identity.handler import handle
from streams.identity.hops import founding_cluster, start
from streams.identity.inmemory import PartitionedRun
from streams.identity.lookup import whois
from streams.identity.protocol import (
    Absorb,
    Cause,
    Change,
    EventRef,
    Exclude,
    Link,
    Message,
    Observe,
    Relabel,
    Seen,
    Union,
    decode,
    encode,
)
from streams.identity.reference import identity_map_of
from streams.identity.state import EVENT_MEMORY, ClusterRecord, IdentifierRecord, PartitionState, event_mark

T0 = 1_790_000_000_000
Story = list[tuple[str, int, list[tuple[str, str]]]]


def ev(n: int, *identifiers: str, minute: int | None = None) -> tuple[str, int, list[tuple[str, str]]]:
    """Event ``n`` at minute ``n`` (or ``minute``) carrying "type:value" identifiers."""
    pairs = [(i.partition(":")[0], i.partition(":")[2]) for i in identifiers]
    return (f"00000000-0000-4000-8000-{n:012d}", T0 + (n if minute is None else minute) * 60_000, pairs)


def run(
    story: Story, partitions: int = 1, seed: int = 0, shuffle: bool = False, one_by_one: bool = False
) -> PartitionedRun:
    """The story through the partitions; ``one_by_one``: each event settles before the next enters."""
    messages = [start(e, t, ids, payload={"n": e}) for e, t, ids in story]
    if shuffle:
        random.Random(seed).shuffle(messages)
    return PartitionedRun(partitions, seed=seed, wire=True).run(messages, inject=0.0 if one_by_one else 0.3)


def groups(mapping: dict[str, str]) -> set[frozenset[str]]:
    out: dict[str, set[str]] = {}
    for key, pid in mapping.items():
        out.setdefault(pid, set()).add(key)
    return {frozenset(g) for g in out.values()}


def resolved(result: PartitionedRun) -> dict[str, str]:
    return {r.event_id: r.person_id for r in result.resolved}


def test_every_message_survives_json() -> None:
    event = EventRef("e1", T0, ("customer_id:C1", "cookie:k"), (("cookie:null", "placeholder"),))
    seen = (Seen("customer_id:C1", "@1", "p-1", 3, (T0, "e0"), 0, False, None),)
    cause = Cause("e1", T0, ("customer_id:C1",))
    messages: list[Message] = [
        Observe(event, 1, seen, {"any": ["json"]}),
        Link("@1", event, seen, None),
        Union("@2", "@1", cause),
        Absorb("@1", "@2", {"v": 1, "m": {}, "s": {}, "g": {}}, cause),
        Exclude("@1", "device:kiosk", cause),
        Relabel("cookie:k", "@1", "p-1", 4),
    ]
    for message in messages:
        assert decode(json.loads(json.dumps(encode(message)))) == message
        assert message.key == encode(message).get("key", event.keys[1])


def test_a_cookie_then_a_login_is_one_person_named_after_the_cookie() -> None:
    result = run([ev(1, "cookie:k1"), ev(2, "cookie:k1", "customer_id:C1"), ev(3, "customer_id:C1")])
    final = result.identity_map()
    first = ev(1, "cookie:k1")
    assert final == {"cookie:k1": final["customer_id:C1"], "customer_id:C1": final["cookie:k1"]}
    assert final["cookie:k1"] == person_id("cookie:k1", (first[1], first[0]))
    assert set(resolved(result).values()) == {final["cookie:k1"]}
    assert not [c for c in result.changes if c.kind == "merge"]  # the customer joined, nobody merged


def test_a_new_cookie_joining_a_known_customer_never_renames_it() -> None:
    result = run(
        [
            ev(1, "customer_id:C1", "hashed_email:m"),
            ev(2, "customer_id:C1"),
            ev(3, "cookie:new", "customer_id:C1"),
        ]
    )
    customer = resolved(result)[ev(2)[0]]
    assert result.identity_map()["cookie:new"] == customer
    assert all(c.person_id != customer for c in result.changes)


def test_merging_two_known_persons_keeps_the_older_and_says_why() -> None:
    story = [ev(1, "customer_id:C1"), ev(2, "hashed_email:m"), ev(3, "hashed_email:m", "customer_id:C1")]
    result = run(story)
    older, younger = resolved(result)[ev(1)[0]], resolved(result)[ev(2)[0]]
    assert result.identity_map()["hashed_email:m"] == older
    (merge,) = [c for c in result.changes if c.kind == "merge"]
    assert (merge.person_id, merge.survivor_person_id, merge.event_id) == (younger, older, ev(3)[0])
    assert set(merge.identifiers) == {"customer_id:C1", "hashed_email:m"}
    assert merge.rule == "linked_by_event"


def test_a_chain_of_merges_ends_in_one_person_whatever_the_order() -> None:
    singles = [ev(n, f"cookie:k{n}") for n in range(6)]
    links = [ev(10 + n, f"cookie:k{n}", f"cookie:k{n + 1}") for n in reversed(range(5))]
    oldest = person_id("cookie:k0", (singles[0][1], singles[0][0]))
    for partitions, seed in [(1, 0), (3, 1), (8, 2)]:
        result = run(singles + links, partitions, seed)
        assert set(result.identity_map().values()) == {oldest}
        merges = {c.person_id: c.survivor_person_id or "" for c in result.changes if c.kind == "merge"}
        for r in result.resolved:  # every provisional person leads to the final one through merges
            pid = r.person_id
            while pid in merges:
                pid = merges[pid]
            assert pid == oldest


def test_concurrent_merges_of_overlapping_groups_converge() -> None:
    base = [ev(n, f"customer_id:C{n}") for n in range(4)] + [
        ev(4 + n, f"hashed_email:m{n}") for n in range(4)
    ]
    bridges = [
        ev(10, "customer_id:C0", "hashed_email:m1"),
        ev(12, "hashed_email:m1", "hashed_email:m2"),
        ev(13, "hashed_email:m2", "customer_id:C3", "hashed_email:m3"),  # m2 is C0's since event 12
        ev(14, "hashed_email:m0", "customer_id:C2"),
        ev(15, "hashed_email:m3", "hashed_email:m0"),  # would join C3 and C2
    ]
    expected = identity_map_of(base + bridges)
    maps = []
    for perm, seed in zip(itertools.permutations(bridges), range(0, 720, 37), strict=False):
        maps.append(run(base + list(perm), partitions=4, seed=seed).identity_map())
    assert all(m == expected for m in maps)
    assert groups(expected) == {
        frozenset({"customer_id:C0", "hashed_email:m1", "hashed_email:m2"}),
        frozenset({"customer_id:C1"}),
        frozenset({"customer_id:C3", "hashed_email:m3"}),
        frozenset({"customer_id:C2", "hashed_email:m0"}),
    }
    assert all(len(g) == 1 for g in groups(run(base, 4).identity_map()))


def test_a_second_customer_id_does_not_merge_two_customers() -> None:
    result = run([ev(1, "customer_id:C1", "cookie:k"), ev(2, "customer_id:C2", "customer_id:C1")])
    final = result.identity_map()
    assert final["customer_id:C1"] != final["customer_id:C2"]
    assert final["cookie:k"] == final["customer_id:C1"]


def test_a_kiosk_stops_linking_is_reported_once_and_resolves_to_itself() -> None:
    story = [ev(n, f"loyalty_id:L{n}", "device:kiosk") for n in range(4)] + [ev(9, "device:kiosk")]
    for partitions in (1, 5):
        result = run(story, partitions, seed=partitions, shuffle=partitions > 1)
        final = result.identity_map()
        loyalty = {final[f"loyalty_id:L{n}"] for n in range(4)}
        assert len(loyalty) == 4
        assert final["device:kiosk"] == shared_person_id("device:kiosk")
        (report,) = [c for c in result.changes if c.kind == "identifier_over_linked"]
        assert report.identifiers == ("device:kiosk",)
        assert report.person_id in loyalty
        assert resolved(result)[ev(9)[0]] == shared_person_id("device:kiosk")


def test_the_over_linking_report_names_whom_the_kiosk_would_have_joined() -> None:
    story = [ev(0, "loyalty_id:L0", "device:kiosk"), ev(1, "loyalty_id:L1", "device:kiosk")]
    result = run(story, one_by_one=True)
    (report,) = [c for c in result.changes if c.kind == "identifier_over_linked"]
    first, second = resolved(result)[ev(0)[0]], resolved(result)[ev(1)[0]]
    assert (report.person_id, report.related_person_ids, report.event_id) == (second, (first,), ev(1)[0])
    assert report.reason is not None
    assert "loyalty_id" in report.reason


def test_a_family_tablet_never_glues_the_two_customers() -> None:
    story = [
        ev(1, "device:tab", "customer_id:C1"),
        ev(2, "device:tab", "customer_id:C2"),
        ev(3, "customer_id:C2", "cookie:c2"),
    ]
    final = run(story, 2, seed=3, shuffle=True).identity_map()
    assert final["customer_id:C1"] != final["customer_id:C2"] == final["cookie:c2"]
    assert final["device:tab"] == shared_person_id("device:tab")


def test_junk_identifiers_are_refused_and_reported_with_the_person() -> None:
    result = run([ev(1, "customer_id:C1", "cookie:null", "ad_id:00000000-0000-0000-0000-000000000000")])
    blocked = sorted((c.identifiers, c.rule) for c in result.changes if c.kind == "identifier_blocked")
    assert blocked == [
        (("ad_id:00000000-0000-0000-0000-000000000000",), "all_zeros"),
        (("cookie:null",), "placeholder"),
    ]
    person = result.identity_map()["customer_id:C1"]
    assert {c.person_id for c in result.changes} == {person}
    assert "cookie:null" not in result.identity_map()


def test_handling_a_message_twice_repeats_its_effects_and_changes_nothing() -> None:
    """A replay after a crash finds the state updated: it must still send everything again."""
    state = PartitionState({}, {})
    first = handle(start(*ev(1, "cookie:k")), state)
    (link,) = first.messages
    assert isinstance(link, Link)
    assert link.key == founding_cluster("cookie:k")
    link_effects = handle(link, state)
    snapshot = json.dumps([state.identifiers, state.clusters], sort_keys=True)
    again = handle(link, state)
    assert again.resolved == link_effects.resolved
    assert {m.key for m in again.messages} >= {m.key for m in link_effects.messages}
    assert json.dumps([state.identifiers, state.clusters], sort_keys=True) == snapshot
    assert handle(start(*ev(1, "cookie:k")), state).messages == first.messages


def test_merges_are_repeated_when_their_cause_is_replayed() -> None:
    state = PartitionState({}, {})
    pending: list[Message] = [
        start(*e)
        for e in (ev(1, "customer_id:C1"), ev(2, "hashed_email:m"), ev(3, "hashed_email:m", "customer_id:C1"))
    ]
    changes: list[Change] = []
    handled: list[Message] = []
    while pending:
        message = pending.pop(0)
        effects = handle(message, state)
        handled.append(message)
        pending.extend(effects.messages)
        changes.extend(c for c in effects.changes if c.kind == "merge")
    (merge,) = changes
    cause = next(m for m in reversed(handled) if isinstance(m, Link | Absorb) and m.key.startswith("@"))
    repeated = [c for c in handle(cause, state).changes if c.kind == "merge"]
    assert repeated == [merge]
    assert merge.change_id == repeated[0].change_id


def test_whois_lists_the_person_its_identifiers_and_merges() -> None:
    story = [
        ev(1, "customer_id:C1"),
        ev(2, "hashed_email:m", minute=30),
        ev(3, "hashed_email:m", "customer_id:C1", minute=40),
        ev(4, "cookie:k", "customer_id:C1", minute=50),
        ev(5, "cookie:k", minute=90),
    ]
    result = run(story, 3, seed=5, one_by_one=True)
    identifiers: dict[str, object] = {}
    clusters: dict[str, object] = {}
    for ids, cls in result.stores():
        identifiers.update(ids)
        clusters.update(cls)
    answer = whois("cookie", "k", identifiers.get, clusters.get)
    assert answer.status == "linked"
    assert answer.person_id == result.identity_map()["customer_id:C1"]
    members = {m.key: (m.first_seen, m.last_seen) for m in answer.members}
    assert members == {
        "customer_id:C1": (T0 + 60_000, T0 + 50 * 60_000),
        "hashed_email:m": (T0 + 30 * 60_000, T0 + 40 * 60_000),
        "cookie:k": (T0 + 50 * 60_000, T0 + 90 * 60_000),
    }
    email_merge = (
        resolved(result)[ev(2)[0]],
        answer.person_id,
        ev(3)[0],
        T0 + 40 * 60_000,
        "linked_by_event",
    )
    assert answer.merges == (email_merge,)
    assert whois("cookie", "nobody", identifiers.get, clusters.get).status == "unknown"


@pytest.mark.parametrize("partitions", [1, 4])
def test_a_late_older_event_renames_through_a_merge(partitions: int) -> None:
    """First seen is event time: an older event arriving late makes its identifier the oldest."""
    story = [ev(2, "customer_id:C1"), ev(3, "customer_id:C1", "cookie:k"), ev(1, "cookie:k")]
    result = run(story, partitions, seed=partitions)
    late = ev(1, "cookie:k")
    final = result.identity_map()
    assert final == identity_map_of(story)
    assert final["customer_id:C1"] == person_id("cookie:k", (late[1], late[0]))
    merges = {c.person_id: c.survivor_person_id for c in result.changes if c.kind == "merge"}
    assert merges.get(resolved(result)[ev(2)[0]]) == final["customer_id:C1"]


def test_a_replayed_union_ships_its_state_again_but_a_duplicate_does_not() -> None:
    state = PartitionState({}, {})
    pending: list[Message] = [start(*ev(1, "cookie:k", "hashed_email:m"))]
    links = []
    while pending:  # one partition: every record lands in this state
        message = pending.pop(0)
        links += [message] if isinstance(message, Link) else []
        pending.extend(handle(message, state).messages)
    (link,) = links
    cluster = link.key
    into = "@" + "0" * 16  # smaller than any derived cluster id
    union = Union(cluster, into, Cause("e-merge", T0, ("cookie:k",)))
    (shipped,) = handle(union, state).messages
    assert isinstance(shipped, Absorb)
    assert shipped.key == into
    assert set(shipped.record["m"]) == {"cookie:k", "hashed_email:m"}
    assert handle(union, state).messages == [shipped]  # the replay: the first shipment may be lost
    assert handle(Union(cluster, into, Cause("e-other", T0, ())), state).messages == []
    (forwarded,) = handle(link, state).messages  # the alias now forwards what still arrives
    assert isinstance(forwarded, Link)
    assert forwarded.key == into


def test_an_older_relabel_never_overwrites_a_newer_one() -> None:
    state = PartitionState({}, {})
    handle(start(*ev(1, "cookie:k")), state)
    handle(Relabel("cookie:k", "@b", "p-new", 5), state)
    handle(Relabel("cookie:k", "@a", "p-old", 3), state)
    record = state.identifier("cookie:k")
    assert record is not None
    assert (record.cluster, record.person, record.version) == ("@b", "p-new", 5)
    handle(Relabel("cookie:k", "@a", "p-newer", 6), state)
    record = state.identifier("cookie:k")
    assert record is not None
    assert record.person == "p-newer"


def test_change_ids_are_deterministic_and_blocked_values_deduplicate_per_person() -> None:
    result = run([ev(1, "customer_id:C1", "cookie:null"), ev(2, "customer_id:C1", "cookie:null")])
    first, second = (c for c in result.changes if c.kind == "identifier_blocked")
    assert first.event_id != second.event_id
    assert first.change_id == second.change_id
    again = run([ev(1, "customer_id:C1", "cookie:null")]).changes[0]
    assert again.change_id == first.change_id
    merge = Change("merge", "p-a", "e1", T0, ("cookie:k",), "p-b")
    assert merge.change_id != Change("merge", "p-a", "e2", T0, ("cookie:k",), "p-b").change_id


def test_an_identifier_remembers_the_person_its_events_saw_across_a_relabel() -> None:
    record = IdentifierRecord(birth=(1, "e1"), last_seen=1, cluster="@a", person="P-old", version=1)
    first, second = event_mark("e1"), event_mark("e2")
    assert record.first_person(first) is None  # a new event: noted under the cached person
    record.relabel("@a", "P-old", 2)  # a newer version, the same person: nothing moves
    assert record.first_person(first) is None
    record.relabel("@root", "P-survivor", 3)  # merged away
    assert record.first_person(first) == "P-old"  # its replay resolves as the first reading did
    assert record.first_person(second) is None  # a new event sees the survivor
    back = IdentifierRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert back.first_person(first) == "P-old"
    assert back.events == [second]


def test_a_root_remembers_resolved_events_within_a_bound_and_inherits_an_absorbed_roots_memory() -> None:
    root, absorbed = ClusterRecord(), ClusterRecord()
    assert absorbed.remember_resolution(event_mark("x"), "P-loser")
    assert not absorbed.remember_resolution(event_mark("x"), "P-loser")  # a replay changes nothing
    for n in range(EVENT_MEMORY + 3):
        root.remember_resolution(event_mark(f"e{n}"), "P-root")
    assert sum(len(m) for m in root.resolved.values()) == EVENT_MEMORY
    assert root.resolved_before(event_mark("e0")) is None  # the oldest forgotten first
    assert root.resolved_before(event_mark(f"e{EVENT_MEMORY + 2}")) == "P-root"
    root.absorb_resolutions(absorbed)
    back = ClusterRecord.from_json(json.loads(json.dumps(root.to_json())))
    assert back.resolved_before(event_mark("x")) == "P-loser"
    assert sum(len(m) for m in back.resolved.values()) == EVENT_MEMORY
