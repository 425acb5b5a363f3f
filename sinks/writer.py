"""Writing one batch to ClickHouse: per table, one Avro insert and/or one Arrow insert, each with a
deterministic deduplication token.

Avro (current-schema messages, decoded by ClickHouse) is the fast path; Arrow carries what was
decoded in Python. When ClickHouse refuses an Avro block for a reason a retry cannot fix (a
corrupt record, say), that table's messages are decoded in Python instead: the unreadable ones
become dead letters and the rest go as Arrow, in this attempt and every retry of this batch.
Errors a retry can fix (connection, timeout, overload) are raised unchanged for the runner to
retry the same batch.
"""

from __future__ import annotations

import logging
from typing import Any

from schemas.codec import Codec
from schemas.errors import StoreError
from schemas.topics import TopicNames
from sinks.avro_block import container
from sinks.batch import Batch
from sinks.connection import StoreConnection
from sinks.routing import Router
from sinks.specs import SPECS
from sinks.store import to_store_error

log = logging.getLogger(__name__)

# Replacing rows inside each inserted block costs the insert about half its time and buys nothing:
# the views read FINAL, and background merges replace rows anyway.
INSERT_SETTINGS = {"optimize_on_insert": 0}


class BatchWriter:
    """Inserts batches through a :class:`StoreConnection` (or a ready client, for tools and tests)."""

    def __init__(self, store: StoreConnection | Any, router: Router | None = None) -> None:
        self.store = store if isinstance(store, StoreConnection) else StoreConnection(client=store)
        self.router = router  # the runner sets its own; tools get the default topics
        self.demoted = 0  # Avro blocks ClickHouse refused and Python decoded instead

    def write(self, batch: Batch) -> int:
        """Insert every table of ``batch``; returns rows sent. Raises StoreError on failure.

        Inserts are synchronous: when this returns, ClickHouse has acknowledged every row, and only
        then may the caller commit the batch's offsets. Calling it again with the same batch after
        a failure is safe: inserts that had succeeded carry the same tokens and are dropped.
        """
        client = self.store.connect()
        if self.router is None:
            self.router = Router(TopicNames(), Codec())
        router = self.router
        written = 0
        for table in list(batch.encoded):
            messages = batch.encoded[table]
            if not messages:
                continue
            spec = SPECS[table]
            data = container(router.container_headers[table], [m.value() or b"" for m in messages])
            try:
                token = batch.dedup_token(spec.avro_target, "avro")
                self._insert(client, spec.avro_target, data, token, router.container_columns[table])
            except StoreError as exc:
                if exc.retryable:
                    raise
                log.warning(
                    "ClickHouse refused the Avro block for %s (%s); decoding it in Python", table, exc
                )
                router.demote(batch, table)
                self.demoted += 1
                continue
            written += len(messages)
        for table, rows in batch.rows.items():
            if not rows:
                continue
            spec = SPECS[table]
            arrow = spec.build(rows)
            self._insert(client, spec.arrow_target, arrow, batch.dedup_token(spec.arrow_target, "rows"))
            written += arrow.num_rows
        return written

    def _insert(
        self, client: Any, table: str, data: Any, token: str, avro_columns: list[str] | None = None
    ) -> None:
        """Avro bytes when ``avro_columns`` names the record's fields, else an Arrow table."""
        settings = {"insert_deduplication_token": token, **INSERT_SETTINGS}
        try:
            with self.store.lock:
                if avro_columns is not None:
                    client.raw_insert(table, avro_columns, data, settings=settings, fmt="Avro")
                else:
                    client.insert_arrow(table, data, settings=settings)
        except StoreError:
            raise
        except Exception as exc:
            raise to_store_error(exc, f"insert into {table}") from exc
