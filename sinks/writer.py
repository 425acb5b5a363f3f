"""Writing one batch to ClickHouse: one Arrow insert per table, with a deduplication token."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from schemas.errors import StoreError
from sinks.batch import DEAD_LETTERS, TOUCHPOINTS, Batch
from sinks.rows import dead_letters_table, touchpoints_table
from sinks.store import to_store_error

BUILDERS: dict[str, Callable[[list[dict[str, Any]]], pa.Table]] = {
    TOUCHPOINTS: touchpoints_table,
    DEAD_LETTERS: dead_letters_table,
}


class BatchWriter:
    """Inserts a batch's tables; the lock lets the query endpoint share the one chDB client."""

    def __init__(self, client: Any, lock: threading.Lock | None = None) -> None:
        self.client = client
        self.lock = lock or threading.Lock()

    def write(self, batch: Batch) -> int:
        """Insert every table of ``batch``; returns rows written. Raises StoreError on failure.

        Inserts are synchronous: when this returns, ClickHouse has acknowledged every row, and only
        then may the caller commit the batch's offsets.
        """
        written = 0
        for table, rows in batch.rows.items():
            if not rows:
                continue
            arrow = BUILDERS[table](rows)
            try:
                with self.lock:
                    self.client.insert_arrow(
                        table, arrow, settings={"insert_deduplication_token": batch.dedup_token(table)}
                    )
            except StoreError:
                raise
            except Exception as exc:
                raise to_store_error(exc, f"insert into {table}") from exc
            written += arrow.num_rows
        return written
