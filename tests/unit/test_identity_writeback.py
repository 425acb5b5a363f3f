"""The write-back cache: one read and at most one write per key and batch, deletes included."""

from __future__ import annotations

import random

from streams.identity.handler import handle
from streams.identity.protocol import Effects
from streams.identity.writeback import BatchState, WriteBack
from tests.unit.counting_table import CountingTable
from tests.unit.test_identity_partitions import first_messages, story


def test_write_back_reads_each_key_once_and_writes_each_changed_key_once() -> None:
    store = CountingTable({"a": {"v": 1}, "b": {"v": 2}})
    cache = WriteBack(store)
    for n in range(5):
        assert cache.get("a") == {"v": 1} if n == 0 else {"v": n}
        cache["a"] = {"v": n + 1}
        assert cache.get("missing") is None
    assert cache.get("b") == {"v": 2}
    assert store.reads == 3  # a, missing, b: once each
    assert store.writes == 0
    assert store["a"] == {"v": 1}  # nothing reaches the table before the flush
    assert cache.flush() == 1
    assert store.writes == 1
    assert store["a"] == {"v": 5}
    assert cache.flush() == 0  # nothing changed since


def test_write_back_deletes_what_existed_and_forgets_what_never_did() -> None:
    store = CountingTable({"a": {"v": 1}})
    cache = WriteBack(store)
    del cache["a"]
    assert cache.get("a") is None
    cache["new"] = {"v": 2}
    del cache["new"]
    cache["back"] = {"v": 3}
    del cache["back"]
    cache["back"] = {"v": 4}
    assert cache.flush() == 2
    assert store == {"back": {"v": 4}}
    assert store.deletes == 1


def test_batch_state_is_a_partition_state_over_the_caches() -> None:
    identifiers, clusters = CountingTable(), CountingTable()
    state = BatchState(identifiers, clusters)
    events = first_messages(story(random.Random(5)))
    for message in events[:20]:
        effects = handle(message, state)
        assert isinstance(effects, Effects)
    touched = len(identifiers) + len(clusters)
    assert touched == 0
    written = state.flush()
    assert written == len(identifiers) + len(clusters) > 0
    assert identifiers.writes == len(identifiers)  # one write per key, however many events touched it
