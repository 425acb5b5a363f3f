"""Persons inside one cluster: merges, chains, the surviving id, per-type limits, exclusions, moves."""

from __future__ import annotations

import random

from streams.identity.graph import Birth, Move, assign, moves, person_id, set_key

T0 = 1_790_000_000_000


def evidence(*events: tuple[int, str, list[str]]) -> tuple[dict[str, Birth], dict[str, Birth]]:
    """Members' births and evidence sets from (minute, event id, keys) triples."""
    members: dict[str, Birth] = {}
    sets: dict[str, Birth] = {}
    for minute, event_id, keys in events:
        when = (T0 + minute * 60_000, event_id)
        for k in keys:
            members[k] = min(members.get(k, when), when)
        if len(keys) > 1:
            sets[set_key(keys)] = min(sets.get(set_key(keys), when), when)
    return members, sets


def persons(labels: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for key, pid in labels.items():
        groups.setdefault(pid, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def test_identifiers_on_one_event_are_one_person_named_after_the_oldest() -> None:
    members, sets = evidence((0, "e0", ["cookie:k"]), (5, "e1", ["cookie:k", "customer_id:C1"]))
    labels = assign(members, sets).labels
    assert labels["cookie:k"] == labels["customer_id:C1"] == person_id("cookie:k", members["cookie:k"])


def test_a_chain_of_links_is_one_person() -> None:
    members, sets = evidence(
        (4, "e4", ["hashed_phone:p", "crm_id:R"]),
        (3, "e3", ["hashed_email:m", "hashed_phone:p"]),
        (2, "e2", ["cookie:k", "hashed_email:m"]),
        (1, "e1", ["customer_id:C", "cookie:k"]),
    )
    result = assign(members, sets)
    assert persons(result.labels) == {frozenset(members)}
    assert set(result.labels.values()) == {person_id("customer_id:C", members["customer_id:C"])}


def test_a_new_cookie_joining_a_known_customer_never_renames_it() -> None:
    before, sets = evidence((0, "e0", ["customer_id:C1", "hashed_email:m"]))
    customer = assign(before, sets).labels["customer_id:C1"]
    members, sets = evidence(
        (0, "e0", ["customer_id:C1", "hashed_email:m"]), (9, "e9", ["cookie:new", "customer_id:C1"])
    )
    assert assign(members, sets).labels["cookie:new"] == customer


def test_born_together_the_stronger_identifier_names_the_person() -> None:
    members, sets = evidence((0, "zz", ["device:tablet", "customer_id:C1"]))
    assert assign(members, sets).labels["device:tablet"] == person_id(
        "customer_id:C1", members["customer_id:C1"]
    )


def test_a_second_customer_id_never_merges_two_customers() -> None:
    members, sets = evidence(
        (0, "e0", ["customer_id:C1", "device:tablet"]), (5, "e5", ["customer_id:C2", "device:tablet"])
    )
    result = assign(members, sets)
    assert persons(result.labels) == {
        frozenset({"customer_id:C1", "device:tablet"}),
        frozenset({"customer_id:C2"}),
    }
    (dropped,) = result.dropped
    assert (dropped.key, dropped.rule) == ("device:tablet", "customer_id_limit")


def test_the_lower_priority_link_is_dropped_not_the_customer_split() -> None:
    members, sets = evidence(
        (0, "e0", ["customer_id:C1", "loyalty_id:L1", "cookie:k1"]),
        (5, "e5", ["customer_id:C1", "loyalty_id:L2"]),
    )
    labels = assign(members, sets).labels
    assert labels["customer_id:C1"] == labels["loyalty_id:L1"] == labels["cookie:k1"]
    assert labels["loyalty_id:L2"] != labels["customer_id:C1"]


def test_limits_are_decided_by_event_time_whatever_the_arrival_order() -> None:
    events = [
        (m, f"e{m}", ["customer_id:C" + str(m % 3), "cookie:shared", f"cookie:own{m}"]) for m in range(9)
    ]
    outcomes = set()
    for seed in range(20):
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        members, sets = evidence(*shuffled)
        labels = assign(members, dict(reversed(list(sets.items())))).labels
        outcomes.add(frozenset(persons(labels)))
    assert len(outcomes) == 1
    (groups,) = outcomes
    assert (
        frozenset({"customer_id:C0", "cookie:shared", "cookie:own0", "cookie:own3", "cookie:own6"}) in groups
    )


def test_an_excluded_identifier_links_nobody() -> None:
    members, sets = evidence(
        (0, "e0", ["loyalty_id:L1", "device:kiosk"]), (5, "e5", ["hashed_email:m2", "device:kiosk"])
    )
    assert len(persons(assign(members, sets).labels)) == 1
    labels = assign(members, sets, excluded={"device:kiosk"}).labels
    assert "device:kiosk" not in labels
    assert labels["loyalty_id:L1"] != labels["hashed_email:m2"]


def test_moves_report_merges_renames_and_splits() -> None:
    old = [("a", "p1"), ("b", "p1"), ("c", "p2"), ("d", "p3"), ("e", "p3")]
    new = {"a": "p1", "b": "p1", "c": "p1", "d": "p4", "e": "p3"}
    assert moves(old, new) == [
        Move("p2", "p1", ("c",), whole=True),
        Move("p3", "p4", ("d",), whole=False),
    ]
    assert moves([("x", "p9")], {"x": "p8"}) == [Move("p9", "p8", ("x",), whole=True)]
    assert moves([("x", "p9")], {}) == []  # excluded: reported as over-linking, not as a move
