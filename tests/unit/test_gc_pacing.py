"""The GC pacer: survivors frozen at every tick, one full collection per ``full_s``, off at 0."""

from __future__ import annotations

import gc
import uuid
import weakref

import faust

from streams.gc_pacing import GcPacer, register


def pacer(full_s: float, clock: list[float], calls: list[str]) -> GcPacer:
    def collect() -> int:
        calls.append("collect")
        return 0

    return GcPacer(
        full_s,
        clock=lambda: clock[0],
        freeze=lambda: calls.append("freeze"),
        unfreeze=lambda: calls.append("unfreeze"),
        collect=collect,
    )


def test_each_tick_freezes_and_a_full_collection_comes_once_per_period() -> None:
    clock, calls = [100.0], list[str]()
    p = pacer(60.0, clock, calls)
    for now in (100.0, 105.0, 159.0):
        clock[0] = now
        p.tick()
    assert calls == ["freeze"] * 3  # started at 100: no full collection before 160
    clock[0] = 160.0
    p.tick()
    assert calls[3:] == ["unfreeze", "collect", "freeze"]  # everything rescanned once, then frozen again
    clock[0] = 165.0
    p.tick()
    assert calls[6:] == ["freeze"]
    assert p.full_collections == 1
    assert p.freezes == 5


def test_frozen_objects_are_skipped_by_collections_and_still_freed_by_reference_counting() -> None:
    # What the pacer relies on, in CPython itself.
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        survivor = {"state": [1, 2, 3]}
        gc.freeze()
        assert gc.get_freeze_count() > frozen
        assert not any(o is survivor for o in gc.get_objects())  # in no generation a collection scans

        class Box:
            pass

        box = Box()
        gc.freeze()
        gone = weakref.ref(box)
        del box
        assert gone() is None  # reference counting still frees a frozen object
        assert survivor["state"] == [1, 2, 3]
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_a_worker_gets_the_pacer_on_its_timer_unless_turned_off() -> None:
    app = faust.App(f"g{uuid.uuid4().hex[:8]}", autodiscover=False)
    tasks = app._app_tasks
    before = len(tasks)
    assert register(app, 0) is None
    assert len(tasks) == before  # 0: CPython's own schedule, no timer
    paced = register(app, 600.0)
    assert paced is not None
    assert paced.full_s == 600.0
    assert len(tasks) == before + 1
