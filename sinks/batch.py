"""One sink batch: what to write per table and the Kafka positions it came from.

Plain Python with no Kafka or ClickHouse in it, so the flush policy, the deduplication tokens and
the offsets to commit are unit-tested directly.

A table's share of a batch comes in two forms: ``encoded``, consumed messages still in their Avro
bytes (written as Avro, decoded by ClickHouse), and ``rows``, records decoded in Python (written as
Arrow). A batch always holds every message of a contiguous offset range per topic-partition
(``ranges``), so what it writes to each table is a function of those ranges alone; that is what
makes the deduplication tokens deterministic.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

TOUCHPOINTS = "touchpoints"
DEAD_LETTERS = "dead_letters"


class Message(Protocol):
    """The part of ``confluent_kafka.Message`` the sink reads (tests pass their own)."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...
    def timestamp(self) -> tuple[int, int]: ...


@dataclass
class Batch:
    """Work gathered since the last flush, due when it holds ``max_rows`` or is ``max_ms`` old."""

    max_rows: int
    max_ms: int
    clock: Callable[[], float] = time.monotonic
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    encoded: dict[str, list[Message]] = field(default_factory=dict)
    # (topic, partition) -> [first offset, last offset] in this batch
    ranges: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    started: float | None = None
    size: int = 0

    def note(self, topic: str, partition: int, offset: int) -> None:
        """Record that the message at ``offset`` is part of this batch."""
        if self.started is None:
            self.started = self.clock()
        span = self.ranges.get((topic, partition))
        if span is None:
            self.ranges[(topic, partition)] = [offset, offset]
        else:
            span[0], span[1] = min(span[0], offset), max(span[1], offset)
        self.size += 1

    def add(self, table: str, row: dict[str, Any], topic: str, partition: int, offset: int) -> None:
        """A decoded record for ``table`` (written as Arrow)."""
        self.rows.setdefault(table, []).append(row)
        self.note(topic, partition, offset)

    def add_encoded(self, table: str, message: Message, topic: str, partition: int, offset: int) -> None:
        """A message whose Avro body ClickHouse will decode into ``table``."""
        self.encoded.setdefault(table, []).append(message)
        self.note(topic, partition, offset)

    @property
    def due(self) -> bool:
        if self.size >= self.max_rows:
            return True
        return self.started is not None and (self.clock() - self.started) * 1000 >= self.max_ms

    @property
    def empty(self) -> bool:
        return not self.ranges

    def dedup_token(self, table: str, path: str = "rows") -> str:
        """Deterministic for the same offset ranges, so ClickHouse drops a retried insert.

        ``table`` is where the insert goes and ``path`` how (``rows`` or ``avro``): one batch may
        write a table both ways, and each insert needs its own token. A replay after a crash may
        cut batches differently; ReplacingMergeTree then removes the copies, and the analyst views
        read FINAL.
        """
        spans = sorted(
            f"{topic}:{part}:{first}-{last}" for (topic, part), (first, last) in self.ranges.items()
        )
        digest = hashlib.sha256(f"{table}|{path}|{'|'.join(spans)}".encode()).hexdigest()[:32]
        return f"{table}:{path}:{digest}"

    def commit_positions(self) -> dict[tuple[str, int], int]:
        """Next offset to consume for every topic-partition in the batch."""
        return {key: last + 1 for key, (_, last) in self.ranges.items()}

    def clear(self) -> None:
        self.rows.clear()
        self.encoded.clear()
        self.ranges.clear()
        self.started = None
        self.size = 0
