"""The sink process: a confluent-kafka consumer that writes batches to ClickHouse, then commits.

Why not a Faust agent: a Faust agent tops out near 15,000 events/s on this kind of machine
(shared/notes/faust-throughput.md), while the sink must reach 100,000 rows/s; librdkafka's
batch consume with manual commits gives that, and makes "commit only after ClickHouse
acknowledged" explicit instead of relying on Faust's acking.

Throughput: a due batch (``batch_rows`` or ``batch_ms``, whichever first) is written by one
writer thread while this thread consumes the next one (chDB and the HTTP client release the GIL
while ClickHouse works); its offsets are committed here once the write returned. If the writer is
still busy when the next batch is due, that batch keeps filling until the writer is free (up to a
cap), so a backlog is written in fewer, larger inserts. At most two batches exist at a time: the
one being written and the one filling up.

Outages: when a write fails (or the store cannot be opened at all, e.g. at start), the sink turns
degraded: it pauses every assigned partition, so nothing more is buffered, keeps polling so its
group membership and heartbeats stay alive, and retries the failed batch with exponential backoff
(capped at ``max_backoff_s``). Anything consumed while paused is dropped and re-read after a seek
when writes recover, so memory stays bounded by two batches however long the outage lasts.

Delivery guarantee: at least once into ClickHouse, exactly once for analysts. A crash between
insert and commit replays the batch; the insert deduplication token drops an identical retry and
ReplacingMergeTree plus the FINAL views remove copies from batches cut differently.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from schemas.codec import Codec
from schemas.errors import StoreError
from schemas.topics import KafkaOptions, TopicNames
from sinks import metrics as sink_metrics
from sinks.batch import DEAD_LETTERS, Batch
from sinks.privacy import SinkPrivacy
from sinks.routing import Router
from sinks.status import SinkStatus
from sinks.store import to_store_error
from sinks.writer import BatchWriter

log = logging.getLogger(__name__)

__all__ = ["SinkConfig", "SinkRunner", "SinkStatus"]

COALESCE = 10  # a due batch may grow to this many times batch_rows while the previous one is written
COALESCE_ROWS = 100_000  # ... but not beyond this (unless batch_rows itself is larger)


@dataclass(frozen=True)
class SinkConfig:
    """Plain values the composition root builds from the settings object."""

    kafka: KafkaOptions
    group_id: str
    topics: TopicNames
    batch_rows: int = 5000
    batch_ms: int = 1000
    max_backoff_s: float = 30.0
    consumer_overrides: dict[str, Any] = field(default_factory=dict)


class SinkRunner:
    """Consume, batch, write (one batch in flight), commit; pause consumption while the store is down."""

    def __init__(
        self,
        config: SinkConfig,
        writer: BatchWriter,
        codec: Codec | None = None,
        consumer: Any = None,
        privacy: SinkPrivacy | None = None,
    ) -> None:
        """``consumer`` replaces the confluent-kafka consumer built from ``config`` (for tests), and
        then GDPR suppressions are only applied if ``privacy`` is given too."""
        self.config = config
        self.router = Router(config.topics, codec or Codec())
        if privacy is None and consumer is None:
            privacy = SinkPrivacy(config.kafka, config.topics, self.router.codec)
        self.privacy = privacy
        self._privacy_started = False
        writer.router = self.router
        self.writer = writer
        self.batch = self._new_batch()
        self.status = SinkStatus(store=writer.store.url)
        self.stop_event = threading.Event()
        self.consumer = consumer or Consumer(
            {
                **config.kafka,
                "group.id": config.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
                "session.timeout.ms": 10000,
                "fetch.min.bytes": 65536,
                "fetch.wait.max.ms": 100,
                "queued.max.messages.kbytes": 32768,
                "on_commit": self._on_commit,
                **config.consumer_overrides,
            }
        )
        sink_metrics.watch(self.consumer, self.status)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sink-writer")
        self._inflight: tuple[Batch, Future[int]] | None = None
        self._failed: Batch | None = None  # written unsuccessfully; retried before anything else
        self._blocked = False
        self._attempt = 0
        self._retry_at = 0.0
        self._rewind: dict[tuple[str, int], int] = {}  # first offset dropped while paused
        # A due batch waits for the writer to be free and keeps filling meanwhile, up to this cap:
        # under a backlog inserts grow (each costs ClickHouse tens of milliseconds whatever its
        # size), at low traffic they stay small and frequent.
        self._cap = max(config.batch_rows, min(COALESCE * config.batch_rows, COALESCE_ROWS))
        self.status.buffer_limit = 2 * self._cap

    def _new_batch(self) -> Batch:
        return Batch(self.config.batch_rows, self.config.batch_ms)

    # -- lifecycle -------------------------------------------------------------------------------

    def run(self) -> None:
        """Until :meth:`stop`: the loop; on the way out, write what is gathered and leave the group."""
        self.consumer.subscribe(self.router.source_topics, on_revoke=self._on_revoke, on_lost=self._on_lost)
        try:
            self._open_store()
            while not self.stop_event.is_set():
                if self._blocked:
                    self._blocked_step()
                else:
                    self._step()
            self._drain()
        finally:
            self._pool.shutdown(wait=True)
            self.consumer.close()
            self.status.state = "stopped"

    def stop(self) -> None:
        self.stop_event.set()

    # -- the loop --------------------------------------------------------------------------------

    def _step(self) -> None:
        self._collect(wait=False)
        if self._blocked or not self._privacy_step():
            return
        room = max(1, self._cap - self.batch.size)
        messages = self.consumer.consume(num_messages=min(room, 10_000), timeout=0.1)
        if self.privacy is not None:
            messages = self.privacy.screen(self.batch, messages)
        _, errors = self.router.feed(self.batch, messages)
        for error in errors:
            if error.fatal():
                raise KafkaException(error)
            log.warning("consumer error: %s", error)
        if self.batch.due and (self._writer_idle or self.batch.size >= self._cap):
            self._dispatch()
        self.status.buffered_rows = self._buffered()

    def _privacy_step(self) -> bool:
        """Suppressions first: read them (all of them before the first record), erase what is new.

        An erasure waits until everything consumed before it is written (``flush``), so no row
        screened with the older list can land after its DELETE. False: the store failed (blocked).
        """
        if self.privacy is None:
            return True
        try:
            client = self.writer.store.connect()
            if not self._privacy_started:
                self.privacy.start()
                self._privacy_started = True
            self.privacy.poll()
            if self.privacy.pending:
                self.flush()
                with self.writer.store.lock:
                    self.privacy.apply(client)
        except StoreError as exc:
            if not self._blocked:
                self._block(exc)
            return False
        except Exception as exc:  # a ClickHouse error raised by the client, not yet wrapped
            self._block(to_store_error(exc, "applying an erasure"))
            return False
        return True

    def _write(self, batch: Batch) -> int:
        with sink_metrics.BATCH_WRITE_SECONDS.time():
            return self.writer.write(batch)

    @property
    def _writer_idle(self) -> bool:
        return self._inflight is None or self._inflight[1].done()

    def _dispatch(self) -> None:
        """Hand the due batch to the writer thread (after the previous one finished)."""
        self._collect(wait=True)
        if self._blocked:
            return
        batch, self.batch = self.batch, self._new_batch()
        self._inflight = (batch, self._pool.submit(self._write, batch))

    def _collect(self, wait: bool) -> None:
        """Commit the batch in flight once written; a failed write blocks the sink."""
        if self._inflight is None:
            return
        batch, future = self._inflight
        if not wait and not future.done():
            return
        self._inflight = None
        try:
            written = future.result()
        except StoreError as exc:
            self._failed = batch
            self._block(exc)
            return
        self._committed(batch, written)

    def _committed(self, batch: Batch, written: int) -> None:
        """Commit a written batch's offsets, asynchronously.

        Never a synchronous commit: one issued just as the broker goes away waits for a group
        coordinator that only comes back after the session timed out, and while this thread
        waits it cannot serve the rebalance that follows, so the sink never rejoins its group.
        A commit that fails is covered by the next one (offsets only grow) or, if none follows,
        by a replay that ClickHouse deduplicates. Results arrive in :meth:`_on_commit`.
        """
        positions = [TopicPartition(t, p, o) for (t, p), o in batch.commit_positions().items()]
        try:
            self.consumer.commit(offsets=positions, asynchronous=True)
        except KafkaException as exc:
            self._commit_failed(exc)
        self.status.rows_written += written
        sink_metrics.count_batch(batch)
        self.status.batches += 1
        self.status.dead_letters += sum(r.get("stage") == "sink" for r in batch.rows.get(DEAD_LETTERS, ()))

    def _on_commit(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """librdkafka's report of a commit (served from ``consume``): record it, or count the failure."""
        if error is not None:
            self._commit_failed(error)
            return
        for tp in partitions:
            if tp.error is None and tp.offset >= 0:
                key = f"{tp.topic}[{tp.partition}]"
                self.status.committed[key] = max(tp.offset, self.status.committed.get(key, 0))

    def _commit_failed(self, error: object) -> None:
        # The rows are in ClickHouse; whoever replays them next is deduplicated there.
        self.status.commit_failures += 1
        log.warning("commit failed after a successful write (%s); the batch will be replayed", error)

    # -- outages ---------------------------------------------------------------------------------

    def _open_store(self) -> None:
        try:
            self.writer.store.connect()
        except StoreError as exc:
            self._block(exc)
        else:
            self.status.state = "ok"
            self.status.schema_version = self.writer.store.version

    def _block(self, exc: StoreError) -> None:
        """Degraded: pause everything, remember the error, schedule the next attempt."""
        self._blocked = True
        self._attempt += 1
        sink_metrics.STORE_ERRORS.inc()
        self.status.state = "degraded"
        self.status.retries = self._attempt
        self.status.last_error, self.status.last_error_code = exc.message, exc.code
        self.status.last_error_retryable = exc.retryable
        backoff = min(self.config.max_backoff_s, 0.2 * 2 ** min(self._attempt, 16))
        self._retry_at = time.monotonic() + backoff
        log.warning(
            "store unavailable (attempt %d, code %s, retry in %.1fs): %s",
            self._attempt,
            exc.code,
            backoff,
            exc.message,
        )
        self._pause()

    def _pause(self) -> None:
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.pause(assignment)

    def _blocked_step(self) -> None:
        """Keep the membership alive, drop (and later re-read) what arrives, retry when due."""
        self._pause()  # partitions assigned since the last step too
        for msg in self.consumer.consume(num_messages=1000, timeout=0.2):
            if msg.error() is None:
                key = (str(msg.topic()), int(msg.partition() or 0))
                offset = int(msg.offset() or 0)
                self._rewind[key] = min(offset, self._rewind.get(key, offset))
        self.status.buffered_rows = self._buffered()
        if time.monotonic() >= self._retry_at:
            self._retry()

    def _retry(self) -> None:
        try:
            if not self.writer.store.connected:
                self.writer.store.connect()
                self.status.schema_version = self.writer.store.version
            if self._failed is not None:
                written = self._write(self._failed)
                self._committed(self._failed, written)
                self._failed = None
        except StoreError as exc:
            self._block(exc)
            return
        self._unblock()

    def _unblock(self) -> None:
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.resume(assignment)
        assigned = {(tp.topic, tp.partition) for tp in assignment}
        for (topic, part), offset in self._rewind.items():
            if (topic, part) in assigned:
                try:
                    self.consumer.seek(TopicPartition(topic, part, offset))
                except KafkaException as exc:
                    log.warning("could not seek %s[%d] back to %d: %s", topic, part, offset, exc)
        self._rewind.clear()
        self._blocked = False
        self._attempt = 0
        self.status.state = "ok"
        log.info("store writes recovered")

    def _buffered(self) -> int:
        inflight = self._inflight[0].size if self._inflight else 0
        failed = self._failed.size if self._failed else 0
        return self.batch.size + inflight + failed

    # -- stopping and rebalances -----------------------------------------------------------------

    def _drain(self) -> None:
        """On stop: finish the write in flight and try the gathered batch once; never wait on an outage."""
        self._collect(wait=True)
        if self._blocked or self.batch.empty:
            if self._blocked:
                log.warning("stopping while degraded; unwritten batches stay uncommitted and will replay")
            return
        try:
            self.flush()
        except StoreError as exc:
            log.warning("could not write the last batch (%s); it stays uncommitted and will replay", exc)

    def flush(self) -> None:
        """Write and commit the gathered batch now, in this thread; raises StoreError on failure."""
        self._collect(wait=True)
        if self.batch.empty or self._blocked:
            return
        batch, self.batch = self.batch, self._new_batch()
        try:
            written = self._write(batch)
        except StoreError as exc:
            self._failed = batch
            self._block(exc)
            raise
        self._committed(batch, written)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Write and commit what we hold before the partitions move; else leave it to the next owner."""
        try:
            if not self._blocked:
                self.flush()
        except StoreError as exc:
            log.warning("could not flush on revoke (%s); the next owner replays the batch", exc)
        self._forget()

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._collect(wait=True)
        self._forget()

    def _forget(self) -> None:
        """Drop everything uncommitted: after a rebalance it is re-read from the committed offsets."""
        self.batch = self._new_batch()
        self._failed = None
        self._rewind.clear()
