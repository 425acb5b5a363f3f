"""One sink batch: decoded rows per table and the Kafka positions they came from.

Plain Python with no Kafka or ClickHouse in it, so the flush policy, the deduplication tokens and
the offsets to commit are unit-tested directly.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TOUCHPOINTS = "touchpoints"
DEAD_LETTERS = "dead_letters"


@dataclass
class Batch:
    """Rows gathered since the last flush, due when it holds ``max_rows`` or is ``max_ms`` old."""

    max_rows: int
    max_ms: int
    clock: Callable[[], float] = time.monotonic
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # (table, topic, partition) -> [first offset, last offset] in this batch
    ranges: dict[tuple[str, str, int], list[int]] = field(default_factory=dict)
    started: float | None = None
    size: int = 0

    def add(self, table: str, row: dict[str, Any], topic: str, partition: int, offset: int) -> None:
        if self.started is None:
            self.started = self.clock()
        self.rows.setdefault(table, []).append(row)
        span = self.ranges.setdefault((table, topic, partition), [offset, offset])
        span[0], span[1] = min(span[0], offset), max(span[1], offset)
        self.size += 1

    @property
    def due(self) -> bool:
        if self.size >= self.max_rows:
            return True
        return self.started is not None and (self.clock() - self.started) * 1000 >= self.max_ms

    @property
    def empty(self) -> bool:
        return not self.ranges

    def dedup_token(self, table: str) -> str:
        """Deterministic for the same input ranges, so a retried insert is dropped by ClickHouse.

        A replay after a crash may cut batches differently; ReplacingMergeTree then removes the
        copies, and the analyst views read FINAL.
        """
        spans = sorted(
            f"{topic}:{part}:{first}-{last}"
            for (tab, topic, part), (first, last) in self.ranges.items()
            if tab == table
        )
        digest = hashlib.sha256("|".join(spans).encode()).hexdigest()[:32]
        return f"{table}:{digest}"

    def commit_positions(self) -> dict[tuple[str, int], int]:
        """Next offset to consume for every topic-partition in the batch."""
        positions: dict[tuple[str, int], int] = {}
        for (_, topic, part), (_, last) in self.ranges.items():
            positions[(topic, part)] = max(positions.get((topic, part), 0), last + 1)
        return positions

    def clear(self) -> None:
        self.rows.clear()
        self.ranges.clear()
        self.started = None
        self.size = 0
