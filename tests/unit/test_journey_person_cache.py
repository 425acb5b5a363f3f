"""The journey stage's write-back cache of the persons table: one read and at most one write per
person and batch, aliases and erasures kept, and the same results as a dump/load per event."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest

from schemas.codec import Codec
from schemas.topics import TopicNames
from streams.gaps import GapFiller
from streams.journeys import agent
from streams.journeys.agent import JourneyStage, by_partition
from streams.journeys.person_cache import PersonCache
from streams.journeys.stage import Emitted, PersonStage, on_tick, on_touch
from streams.journeys.timeline import to_ms
from tests.unit.counting_table import CountingTable
from tests.unit.journey_sim import simulated_touches

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def loaded(person: str) -> tuple[CountingTable, PersonCache, PersonStage]:
    """A table holding one new person, a cache over it, and the person as the cache loaded it."""
    table = CountingTable({person: PersonStage.new(person).dump()})
    cache = PersonCache(table)
    stage = cache.stage(person)
    assert stage is not None
    return table, cache, stage


def test_a_person_is_read_once_and_written_once_per_batch() -> None:
    table, cache, first = loaded("p")
    first.recent.append("x")
    cache.put("p", first)
    second = cache.stage("p")
    assert second is first  # the second step sees the first one's change, without the table
    cache.put("p", second)
    assert table.reads == 1
    assert table.writes == 0
    assert cache.flush() == 1
    assert table.writes == 1
    assert table["p"]["r"] == ["x"]
    assert cache.flush() == 0  # nothing changed since


def test_an_alias_written_in_the_batch_is_read_back_in_the_batch() -> None:
    table = CountingTable({"loser": PersonStage.new("loser").dump()})
    cache = PersonCache(table)
    state = cache.get("loser")
    assert state is not None
    assert "alias" not in state
    cache.set_alias("loser", "survivor")
    assert cache.alias("loser") == "survivor"
    assert cache.stage("loser") is None  # merged away: no state to fold into
    assert cache.exists("loser")
    cache.flush()
    assert table["loser"] == {"alias": "survivor"}
    assert PersonCache(table).alias("loser") == "survivor"  # and by the next batch, from the table


def test_a_stored_alias_is_no_state() -> None:
    cache = PersonCache(CountingTable({"a": {"alias": "b"}}))
    assert cache.alias("a") == "b"
    assert cache.stage("a") is None
    assert cache.get("a") == {"alias": "b"}
    assert cache.alias("b") is None
    assert cache.stage("b") is None
    assert not cache.exists("b")


def test_an_erasure_deletes_once_and_only_what_the_table_holds() -> None:
    table = CountingTable({"p": PersonStage.new("p").dump()})
    cache = PersonCache(table)
    stage = cache.stage("p")
    assert stage is not None
    cache.put("p", stage)
    del cache["p"]
    assert cache.get("p") is None
    assert cache.stage("p") is None
    assert not cache.exists("p")
    del cache["new"]  # never written: no tombstone for it
    assert cache.flush() == 1
    assert "p" not in table
    assert table.deletes == 1
    assert table.writes == 0


def test_a_person_erased_then_seen_again_in_the_batch_starts_afresh() -> None:
    table = CountingTable({"p": {"alias": "q"}})
    cache = PersonCache(table)
    del cache["p"]
    assert cache.alias("p") is None
    cache.put("p", PersonStage.new("p"))
    cache.flush()
    assert table.deletes == 0
    assert "alias" not in table["p"]


def test_get_shows_a_loaded_state_as_the_table_would_hold_it() -> None:
    _, cache, stage = loaded("p")
    stage.absorbed.append("m")
    cache.put("p", stage)
    assert cache.get("p") == stage.dump()
    assert [person for person, _ in cache.pending()] == ["p"]


def fold(touches: list[Any], store: Any, shared: bool) -> tuple[list[Emitted], dict[str, Any]]:
    """Fold touches (and a tick after each) per person, either through one cache for the whole
    run (``shared``) or through the table with a dump and load per step, as before batches."""
    outs: list[Emitted] = []
    watermark = 0
    for touch in touches:
        watermark = max(watermark, to_ms(touch.event_time))
        person_id = touch.person_id
        if shared:
            stage = store.stage(person_id) or PersonStage.new(person_id)
        else:
            stage = PersonStage.load(person_id, store.get(person_id))
        outs.append(on_touch(stage, touch, watermark, NOW))
        outs.append(on_tick(stage, watermark, NOW))
        if shared:
            store.put(person_id, stage)
        else:
            store[person_id] = stage.dump()
    if shared:
        store.flush()
        return outs, dict(store.store)
    return outs, dict(store)


def test_a_state_kept_in_memory_for_a_batch_gives_what_dump_and_load_per_event_gave() -> None:
    touches, _ = simulated_touches(customers=40, days=7, seed=5)
    per_event, table = fold(touches, {}, shared=False)
    batched, cached = fold(touches, PersonCache({}), shared=True)
    assert batched == per_event
    assert cached == table


def test_a_batch_is_grouped_by_partition_in_consumption_order() -> None:
    events = [
        SimpleNamespace(message=SimpleNamespace(partition=p, offset=i)) for i, p in enumerate([1, 0, 1, 2, 0])
    ]
    groups = by_partition(events)
    assert [[(e.message.partition, e.message.offset) for e in g] for g in groups] == [
        [(1, 0), (1, 2)],
        [(0, 1), (0, 4)],
        [(2, 3)],
    ]


def journey_stage(tmp_path: Path) -> JourneyStage:
    """The stage on a Faust app that is never started (no broker is contacted)."""
    app = faust.App(
        f"j{uuid.uuid4().hex[:8]}", broker="kafka://127.0.0.1:1", datadir=str(tmp_path), autodiscover=False
    )
    return JourneyStage(app, TopicNames("t."), Codec(), GapFiller({}, "g"))


def test_a_partition_keeps_its_cache_from_batch_to_batch_until_a_rebalance(tmp_path: Path) -> None:
    stage = journey_stage(tmp_path)
    first = stage._persons(0)
    assert stage._persons(0) is first  # the next batch finds the persons the last one loaded
    assert stage._persons(1) is not first  # one cache per partition
    stage.app.consumer_generation_id = 7  # a rebalance: another worker may have changed them
    assert stage._persons(0) is not first


def test_a_cache_that_grew_too_large_starts_afresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent, "CACHED_PERSONS", 2)
    stage = journey_stage(tmp_path)
    cache = stage._persons(0)
    for person in ("a", "b"):
        cache.put(person, PersonStage.new(person))
    assert stage._persons(0) is cache
    cache.put("c", PersonStage.new("c"))
    assert stage._persons(0) is not cache


def test_after_a_failed_batch_every_cache_starts_afresh(tmp_path: Path) -> None:
    stage = journey_stage(tmp_path)
    stage._begin_batch()
    cache = stage._persons(0)
    stage.unfinished = False  # the batch went through to its release
    stage._begin_batch()
    assert stage._persons(0) is cache
    stage._begin_batch()  # the last batch never finished: its steps may not be in the table
    assert stage._persons(0) is not cache
