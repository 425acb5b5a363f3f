"""Keep Python's full garbage collections off the stream: long-lived state is frozen, not rescanned.

A worker holds thousands of persons' states (the journey stage's write-back caches, the identity
stage's records): a million small dicts and lists that live for minutes. CPython's cyclic
collector rescans all of them in every generation-2 collection, which it runs whenever the objects
promoted since the last one reach a quarter of those already there. Measured on the card latency
bench (1,000 events/s, one worker per stage): the journey worker stopped for 88, 147, 187 and
150 ms at such collections, every 5 to 7 seconds, and those stops were the card's p99.

:class:`GcPacer` moves everything that survived so far into CPython's permanent generation
(``gc.freeze``, which costs nothing) every ``freeze_s`` seconds, so a generation-2 collection only
scans what was promoted since. Frozen objects are still freed by reference counting the moment
nothing uses them; only reference cycles among them would wait. So every ``full_s`` seconds the
pacer unfreezes and runs one full collection, the one pause left, at a rate an operator chooses
(``OMNIJOURNEY_GC_FULL_COLLECT_S``; 0 turns the pacer off and leaves CPython's default).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from faust.types import AppT

FREEZE_S = 5.0  # how often what survived is frozen


@dataclass
class GcPacer:
    """Decides, at each tick, whether to freeze the survivors or to run the periodic full collection."""

    full_s: float
    freeze_s: float = FREEZE_S
    clock: Callable[[], float] = time.monotonic
    freeze: Callable[[], None] = gc.freeze
    unfreeze: Callable[[], None] = gc.unfreeze
    collect: Callable[[], int] = gc.collect
    last_full: float = field(default=-1.0)
    full_collections: int = 0
    freezes: int = 0

    def tick(self) -> None:
        now = self.clock()
        if self.last_full < 0:
            self.last_full = now  # the first tick: the worker has just started
        if now - self.last_full >= self.full_s:
            self.unfreeze()
            self.collect()
            self.last_full = now
            self.full_collections += 1
        self.freeze()
        self.freezes += 1


def register(app: AppT, full_s: float) -> GcPacer | None:
    """Run a :class:`GcPacer` on ``app``'s timer (none when ``full_s`` is 0)."""
    if full_s <= 0:
        return None
    pacer = GcPacer(full_s)

    @app.timer(pacer.freeze_s, name="omnijourney.gc-pacer")
    async def pace() -> None:
        pacer.tick()

    return pacer
