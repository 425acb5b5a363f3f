"""The identifier index in batches: one write per identifier and batch, the same table afterwards as
one write per event, and the privacy hooks (tombstones, suppressed persons) kept."""

from __future__ import annotations

from streams.journeys.agent import index_event
from streams.privacy.guard import PrivacyGuard
from streams.privacy.stage_hooks import JourneyPrivacy
from streams.writeback import WriteBack
from tests.unit.counting_table import CountingTable

EVENTS = [
    ("cookie:ck-1", b"p-1"),
    ("email:e-1", b"p-1"),
    ("cookie:ck-1", b"p-2"),  # the cookie moved to another person: the last value counts
    ("cookie:ck-9", b""),  # a tombstone of an entry written in an earlier batch
    ("email:e-1", b"p-1"),
    ("cookie:ck-3", b"p-erased"),  # an erased person's late entry: never written
]


def privacy() -> JourneyPrivacy:
    guard = PrivacyGuard({}, "t.privacy.suppressions", codec=None)  # type: ignore[arg-type]
    guard.add_local((), ("p-erased",))
    return JourneyPrivacy(guard)


def test_a_batch_writes_each_identifier_once_with_the_same_result_as_per_event() -> None:
    per_event = CountingTable({"cookie:ck-9": "p-7"})
    for key, value in EVENTS:
        index_event(per_event, key, value, privacy())
    batched = CountingTable({"cookie:ck-9": "p-7"})
    cache = WriteBack(batched)
    for key, value in EVENTS:
        index_event(cache, key, value, privacy())
    assert batched.writes == batched.deletes == 0  # nothing reaches the table before the flush
    cache.flush()
    assert dict(batched) == dict(per_event) == {"cookie:ck-1": "p-2", "email:e-1": "p-1"}
    assert (per_event.writes, per_event.deletes) == (4, 1)
    assert (batched.writes, batched.deletes) == (2, 1)


def test_without_privacy_hooks_every_entry_is_written() -> None:
    table = CountingTable()
    index_event(table, "cookie:ck-3", b"p-erased", None)
    assert table == {"cookie:ck-3": "p-erased"}
