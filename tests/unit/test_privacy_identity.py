"""Erasing a person from the identity state, on simulated partitions that refuse foreign keys.

After the erasure no record on any partition names the person's identifiers or person ids, and
every other identifier keeps exactly the person it had: erasure removes one person, it does not
re-stitch anybody else.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest

from streams.identity.inmemory import PartitionedRun, partition_of
from streams.identity.lookup import root_of, whois
from streams.identity.protocol import Absorb, Cause, EventRef, Link, Observe
from streams.identity.state import ClusterRecord, IdentifierRecord
from streams.privacy.identity import Erase, handle_erase, is_erase, screen_message, scrub_on_sight
from streams.privacy.plan import person_subjects, without_live
from tests.unit.test_identity_partitions import first_messages, story


def erase(run: PartitionedRun, identifiers: list[str], persons: list[str]) -> Counter[str]:
    """Deliver erase messages (and the identity messages they cause) until nothing is in flight."""
    queue = [Erase("erase-id", k, tuple(identifiers), tuple(persons), "e-1", 1) for k in identifiers]
    done: Counter[str] = Counter()
    while queue:
        msg = Erase.from_json(json.loads(json.dumps(queue.pop(0).to_json())))  # as on the wire
        part = run.partitions[partition_of(msg.key, len(run.partitions))]
        out = handle_erase(msg, part.state, run.policy)
        queue += out.erase
        done.update({"deleted": len(out.deleted), "scrubbed": len(out.scrubbed)})
        run._publish(out.identity)
        run.drain()
    return done


def all_records(run: PartitionedRun) -> tuple[dict[str, Any], dict[str, Any]]:
    identifiers: dict[str, Any] = {}
    clusters: dict[str, Any] = {}
    for ids, cls in run.stores():
        identifiers.update(ids)
        clusters.update(cls)
    return identifiers, clusters


def a_person(run: PartitionedRun, rng: random.Random) -> tuple[list[str], list[str]]:
    """The identifiers and person ids whois gives for some linked identifier (the command's plan)."""
    identifiers, clusters = all_records(run)
    candidates = sorted(
        k for k, raw in identifiers.items() if IdentifierRecord.from_json(raw).flag is None and ":" in k
    )
    for key in rng.sample(candidates, len(candidates)):
        kind, _, value = key.partition(":")
        found = whois(kind, value, identifiers.get, clusters.get)
        if found.status == "linked":
            data: dict[str, Any] = {"person_id": found.person_id}
            data["members"] = [{"key": m.key} for m in found.members]
            data["merges"] = [list(m) for m in found.merges]
            ids, persons = person_subjects(key, data)
            found_root = root_of(IdentifierRecord.from_json(identifiers[key]).cluster or "", clusters.get)
            assert found_root is not None
            return list(ids), list(without_live(persons, ids, found_root[1].labels))
    raise AssertionError("no linked identifier")


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("partitions", [1, 4])
def test_erasure_removes_one_person_and_leaves_everyone_else_as_they_were(seed: int, partitions: int) -> None:
    rng = random.Random(seed)
    run = PartitionedRun(partitions=partitions, seed=seed, wire=True).run(first_messages(story(rng), rng))
    before = run.identity_map()
    ids, persons = a_person(run, rng)
    assert ids
    assert persons

    done = erase(run, ids, persons)

    identifiers, clusters = all_records(run)
    assert not set(ids) & identifiers.keys()
    assert done["deleted"] >= len(ids)
    guard = Suppressed(set(ids), set(persons))
    for key in identifiers:
        # Neighbour lists outside the person's clusters are cleaned the next time they are seen.
        part = run.partitions[partition_of(key, len(run.partitions))]
        scrub_on_sight(Observe(EventRef("e-next", 2, (key,)), 0, ()), part.state, guard)
    identifiers, clusters = all_records(run)
    for raw in identifiers.values():
        record = IdentifierRecord.from_json(raw)
        assert not {k for seen in record.neighbours.values() for k in seen} & set(ids)
        assert record.person not in persons
        assert record.flag is None or record.flag.prior_person not in persons
    for raw in clusters.values():
        text = json.dumps(raw)
        assert not any(k in text for k in ids + persons), "a cluster record still names the person"
    after = run.identity_map()
    assert after == {k: p for k, p in before.items() if k not in ids}


def test_erasing_twice_changes_nothing_more() -> None:
    rng = random.Random(3)
    run = PartitionedRun(partitions=4, seed=3).run(first_messages(story(rng), rng))
    ids, persons = a_person(run, rng)
    erase(run, ids, persons)
    snapshot = json.dumps(all_records(run), sort_keys=True)
    again = erase(run, ids, persons)
    assert again["deleted"] == 0
    assert again["scrubbed"] == 0
    assert json.dumps(all_records(run), sort_keys=True) == snapshot


class Suppressed:
    def __init__(self, keys: set[str], persons: set[str] | None = None) -> None:
        self.keys = keys
        self.identifiers = keys
        self.persons = persons or set()

    def any_key(self, keys: Any) -> bool:
        return bool(self.keys & set(keys))


def test_messages_in_flight_for_an_erased_identifier_are_dropped_or_scrubbed() -> None:
    walk = first_messages([("e1", 1, [("customer_id", "c1"), ("cookie", "k1")])])[0]
    assert screen_message(walk, Suppressed({"cookie:k1"})) is None
    assert screen_message(walk, Suppressed({"cookie:k9"})) is walk
    link = Link("@c", walk.event, ())
    assert screen_message(link, Suppressed({"customer_id:c1"})) is None
    shipped = ClusterRecord(members={"cookie:k1": (1, "e1"), "cookie:k2": (2, "e2")})
    shipped.sets = {"cookie:k1\x1fcookie:k2": (1, "e1")}
    absorb = Absorb("@a", "@b", shipped.to_json(), Cause("e1", 1, ()))
    out = screen_message(absorb, Suppressed({"cookie:k1"}))
    assert isinstance(out, Absorb)
    assert set(ClusterRecord.from_json(out.record).members) == {"cookie:k2"}


def test_erase_messages_are_told_apart_from_identity_messages() -> None:
    message = Erase("erase-id", "cookie:k", ("cookie:k",), ("p-1",), "e", 5).to_json()
    assert is_erase(message)
    assert not is_erase({"m": "obs"})
    assert Erase.from_json(message) == Erase("erase-id", "cookie:k", ("cookie:k",), ("p-1",), "e", 5)
