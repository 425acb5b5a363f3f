"""The sink process: a confluent-kafka consumer that writes batches to ClickHouse, then commits.

Why not a Faust agent: a Faust agent tops out near 15,000 events/s on this kind of machine
(shared/notes/faust-throughput.md), while the sink must reach 100,000 rows/s; librdkafka's
batch consume with manual commits gives that, and makes "commit only after ClickHouse
acknowledged" explicit instead of relying on Faust's acking.

Delivery guarantee: at least once into ClickHouse, exactly once for analysts: a crash between
insert and commit replays the batch; the insert deduplication token drops an identical retry and
ReplacingMergeTree plus the FINAL views remove copies from batches cut differently.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

from confluent_kafka import Consumer, KafkaException, TopicPartition

from schemas.codec import Codec
from schemas.errors import StoreError
from schemas.topics import KafkaOptions, TopicNames
from sinks.batch import Batch
from sinks.routing import Router
from sinks.writer import BatchWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SinkConfig:
    """Plain values the composition root builds from the settings object."""

    kafka: KafkaOptions
    group_id: str
    topics: TopicNames
    batch_rows: int = 5000
    batch_ms: int = 1000
    max_backoff_s: float = 30.0


@dataclass
class SinkStatus:
    """What /health reports: degraded while ClickHouse refuses writes, with the last error."""

    state: str = "starting"
    rows_written: int = 0
    batches: int = 0
    dead_letters: int = 0
    last_error: str | None = None
    last_error_code: int | None = None
    committed: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "rows_written": self.rows_written,
            "batches": self.batches,
            "dead_letters": self.dead_letters,
            "last_error": self.last_error,
            "last_error_code": self.last_error_code,
        }


class SinkRunner:
    """Consume, batch, write, commit; pause consumption while the store is down."""

    def __init__(self, config: SinkConfig, writer: BatchWriter, codec: Codec | None = None) -> None:
        self.config = config
        self.writer = writer
        self.router = Router(config.topics, codec or Codec())
        self.batch = Batch(config.batch_rows, config.batch_ms)
        self.status = SinkStatus()
        self.stop_event = threading.Event()
        self.consumer = Consumer(
            {
                **config.kafka,
                "group.id": config.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
                "session.timeout.ms": 10000,
                "fetch.min.bytes": 65536,
                "fetch.wait.max.ms": 100,
            }
        )

    # -- lifecycle -------------------------------------------------------------------------------

    def run(self) -> None:
        """Until :meth:`stop`: the loop; on the way out, flush what is gathered and leave the group."""
        self.consumer.subscribe(self.router.source_topics, on_revoke=self._on_revoke, on_lost=self._on_lost)
        self.status.state = "ok"
        try:
            while not self.stop_event.is_set():
                self._consume_once(timeout=0.1)
                if self.batch.due:
                    self.flush()
            self.flush()
        finally:
            self.consumer.close()
            self.status.state = "stopped"

    def stop(self) -> None:
        self.stop_event.set()

    # -- the loop --------------------------------------------------------------------------------

    def _consume_once(self, timeout: float) -> None:
        for msg in self.consumer.consume(num_messages=min(self.config.batch_rows, 10000), timeout=timeout):
            error = msg.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                log.warning("consumer error: %s", error)
                continue
            topic, partition, offset = (
                cast(str, msg.topic()),
                cast(int, msg.partition()),
                cast(int, msg.offset()),
            )
            routed = self.router.route(topic, partition, offset, msg.key(), msg.value())
            if routed.row.get("stage") == "sink":
                self.status.dead_letters += 1
            self.batch.add(routed.table, routed.row, topic, partition, offset)

    def flush(self) -> None:
        """Write the batch, retrying with backoff while consumption is paused, then commit it."""
        if self.batch.empty:
            return
        attempt = 0
        while True:
            try:
                written = self.writer.write(self.batch)
                break
            except StoreError as exc:
                if not exc.retryable and attempt >= 3:
                    raise
                attempt += 1
                self._degraded(exc, attempt)
                if self.stop_event.is_set():
                    log.warning("stopping with an unwritten batch; its offsets stay uncommitted")
                    return
        positions = [TopicPartition(t, p, o) for (t, p), o in self.batch.commit_positions().items()]
        self.consumer.commit(offsets=positions, asynchronous=False)
        self._resume_after_outage()
        self.status.rows_written += written
        self.status.batches += 1
        self.batch.clear()

    def _degraded(self, exc: StoreError, attempt: int) -> None:
        """Back off without buffering more: pause the assignment, keep the group membership alive."""
        self.status.state = "degraded"
        self.status.last_error, self.status.last_error_code = exc.message, exc.code
        log.warning("store write failed (attempt %d, code %s): %s", attempt, exc.code, exc.message)
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.pause(assignment)
        deadline = time.monotonic() + min(self.config.max_backoff_s, 0.2 * 2**attempt)
        while time.monotonic() < deadline and not self.stop_event.is_set():
            self._consume_once(timeout=0.2)  # paused: serves rebalances and heartbeats, returns nothing new

    def _resume_after_outage(self) -> None:
        if self.status.state == "degraded":
            assignment = self.consumer.assignment()
            if assignment:
                self.consumer.resume(assignment)
            self.status.state = "ok"
            log.info("store writes recovered")

    # -- rebalances --------------------------------------------------------------------------------

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Write and commit what we hold before the partitions move to another sink."""
        try:
            self.flush()
        except (StoreError, KafkaException) as exc:
            log.warning("could not flush on revoke (%s); the next owner replays the batch", exc)
            self.batch.clear()

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.batch.clear()
