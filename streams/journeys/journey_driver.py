"""Many persons' journey states driven by one stream clock: what a worker does per partition.

The Faust agent keeps one :class:`~streams.journeys.journey_state.PersonState` per person in a
table; nothing else tells a quiet person's state that time has passed, so the partition's stream
time (the newest event time it has consumed) is the watermark, and :class:`DueIndex` remembers
when each person next needs :func:`advance`. :class:`Driver` is that loop in memory: the reference
the Faust wiring is checked against, and what the unit tests and the scoring test run.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from streams.journeys.journey_config import DEFAULT_CONFIG, JourneyConfig
from streams.journeys.journey_state import Outputs, PersonState, advance_ms, fold_mark, merge, next_due_ms
from streams.journeys.timeline import mark_from_touch
from streams.journeys.touch import Touch


class DueIndex:
    """A min-heap of (due event time ms, person id); stale entries are skipped, not removed."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._due: dict[str, int] = {}

    def set(self, person_id: str, due_ms: int | None) -> None:
        if due_ms is None:
            self._due.pop(person_id, None)
            return
        if self._due.get(person_id) != due_ms:
            self._due[person_id] = due_ms
            heapq.heappush(self._heap, (due_ms, person_id))

    def pop_due(self, watermark_ms: int) -> list[str]:
        """Persons whose due time is at or before ``watermark_ms`` (each once)."""
        out = []
        while self._heap and self._heap[0][0] <= watermark_ms:
            due, person_id = heapq.heappop(self._heap)
            if self._due.get(person_id) == due:
                del self._due[person_id]
                out.append(person_id)
        return out

    def __len__(self) -> int:
        return len(self._due)


class Driver:
    """Fold touchpoints in arrival order; the stream time is the newest event time seen."""

    def __init__(self, cfg: JourneyConfig = DEFAULT_CONFIG) -> None:
        self.cfg = cfg
        self.states: dict[str, PersonState] = {}
        self.due = DueIndex()
        self.watermark_ms: int | None = None

    def state(self, person_id: str) -> PersonState:
        state = self.states.get(person_id)
        if state is None:
            state = self.states[person_id] = PersonState(person_id)
        return state

    def feed(self, touch: Touch) -> Outputs:
        mark = mark_from_touch(touch)
        if self.watermark_ms is None or mark.t > self.watermark_ms:
            self.watermark_ms = mark.t
        state = self.state(touch.person_id)
        out = fold_mark(state, mark, self.cfg, self.watermark_ms)
        self.due.set(touch.person_id, next_due_ms(state, self.cfg))
        out.extend(self.tick(self.watermark_ms))
        return out

    def feed_all(self, touches: Iterable[Touch]) -> Outputs:
        out = Outputs()
        for touch in touches:
            out.extend(self.feed(touch))
        return out

    def tick(self, watermark_ms: int) -> Outputs:
        """Advance every person whose next deadline the watermark has passed."""
        out = Outputs()
        for person_id in self.due.pop_due(watermark_ms):
            state = self.states[person_id]
            out.extend(advance_ms(state, watermark_ms, self.cfg))
            self.due.set(person_id, next_due_ms(state, self.cfg))
        return out

    def finish(self, watermark_ms: int) -> Outputs:
        """Advance everyone to ``watermark_ms`` (end of input: let every open deadline pass)."""
        self.watermark_ms = max(self.watermark_ms or watermark_ms, watermark_ms)
        return self.tick(self.watermark_ms)

    def merge(self, survivor_id: str, loser_id: str) -> Outputs:
        """An identity merge: the loser's state moves into the survivor's and is dropped."""
        loser = self.states.pop(loser_id, None)
        if loser is None:
            return Outputs()
        survivor = self.state(survivor_id)
        out = merge(survivor, loser, self.cfg)
        self.due.set(loser_id, None)
        self.due.set(survivor_id, next_due_ms(survivor, self.cfg))
        return out
