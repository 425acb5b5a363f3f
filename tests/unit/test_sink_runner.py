"""The runner's commit and outage logic, driven step by step with an in-memory consumer and writer.

The real consumer and store are exercised by tests/integration/test_sink_outage.py; here every
step is deterministic: which offsets are committed, when consumption is paused, what is dropped
while paused and where the consumer is sent back to.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from confluent_kafka import KafkaError, TopicPartition

from schemas.codec import Codec
from schemas.errors import StoreError
from schemas.topics import TopicNames
from sinks.batch import Batch
from sinks.runner import SinkConfig, SinkRunner
from tests.integration.sink_helpers import FakeMessage, encode, resolved_touchpoints

TOPICS = TopicNames("t.")


class FakeConsumer:
    """Serves queued messages of one partition; records commits, pauses, resumes and seeks."""

    def __init__(self, values: list[bytes]) -> None:
        self.values = values
        self.position = 0
        self.paused = False
        self.commits: list[dict[tuple[str, int], int]] = []
        self.seeks: list[int] = []
        self.closed = False

    def subscribe(self, topics: list[str], **callbacks: Any) -> None:
        assert TOPICS.resolved in topics

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(TOPICS.resolved, 0)]

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        # Like a fetch queue filled before a pause: a paused partition may still hand out a few.
        take = 2 if self.paused else min(num_messages, 7)  # fetches arrive in chunks
        out = [
            FakeMessage(TOPICS.resolved, v, self.position + i)
            for i, v in enumerate(self.values[self.position : self.position + take])
        ]
        self.position += len(out)
        return out

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused = True

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused = False

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append(tp.offset)
        self.position = tp.offset

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        # A synchronous commit issued as the broker goes away blocks the thread that must serve
        # the rebalance after the session times out: the sink would never rejoin its group.
        assert asynchronous, "the sink must never wait on a commit"
        self.commits.append({(tp.topic, tp.partition): tp.offset for tp in offsets})

    def close(self) -> None:
        self.closed = True


class ImmediatePool:
    """Runs the writer at once on submit, so every step of the test is deterministic."""

    def submit(self, fn: Any, *args: Any) -> Future[int]:
        future: Future[int] = Future()
        try:
            future.set_result(fn(*args))
        except StoreError as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool) -> None:
        pass


class FakeStore:
    url = "chdb://nowhere"
    version = 2

    def __init__(self, reachable: bool) -> None:
        self.reachable = reachable
        self.connected = reachable

    def connect(self) -> None:
        if not self.reachable:
            raise StoreError("cannot open store: connection refused", retryable=True)
        self.connected = True


class FakeWriter:
    """Accepts batches while ``up``; keeps the offsets of every batch it accepted."""

    def __init__(self, up: bool = True, reachable: bool = True) -> None:
        self.up = up
        self.store = FakeStore(reachable)
        self.router: Any = None
        self.written: list[tuple[int, int]] = []
        self.attempts = 0

    def write(self, batch: Batch) -> int:
        self.attempts += 1
        if not self.up:
            raise StoreError("insert into touchpoints_ingest: Code: 1001. filesystem error", code=1001)
        ((first, last),) = batch.ranges.values()
        self.written.append((first, last))
        return batch.size


def make(values: int, writer: FakeWriter) -> tuple[SinkRunner, FakeConsumer]:
    codec = Codec()
    data = [encode(codec, r) for r in resolved_touchpoints(values, seed=1)]
    consumer = FakeConsumer(data)
    config = SinkConfig({}, "g", TOPICS, batch_rows=10, batch_ms=60_000, max_backoff_s=0.0)
    runner = SinkRunner(config, writer, codec, consumer=consumer)  # type: ignore[arg-type]
    runner._pool.shutdown(wait=True)
    runner._pool = ImmediatePool()  # type: ignore[assignment]
    runner.consumer.subscribe([TOPICS.resolved])
    runner._open_store()
    return runner, consumer


def is_paused(consumer: FakeConsumer) -> bool:
    """Read through a call: mypy would otherwise narrow the attribute after the first assert."""
    return consumer.paused


def steps(runner: SinkRunner, n: int) -> None:
    for _ in range(n):
        if runner._blocked:
            runner._blocked_step()
        else:
            runner._step()


def test_every_batch_is_committed_after_its_write_and_only_then() -> None:
    writer = FakeWriter()
    runner, consumer = make(35, writer)
    steps(runner, 8)
    runner._drain()
    covered = [o for first, last in writer.written for o in range(first, last + 1)]
    assert covered == list(range(35))
    assert all(last - first + 1 >= 10 for first, last in writer.written[:-1])  # due by rows
    assert consumer.commits == [{(TOPICS.resolved, 0): last + 1} for _, last in writer.written]
    assert runner.status.rows_written == 35
    assert runner.status.state == "ok"


def test_a_failed_write_pauses_drops_rewinds_and_retries_the_same_batch() -> None:
    writer = FakeWriter(up=False)
    runner, consumer = make(60, writer)
    steps(runner, 3)  # batch 0-9 fails in the writer while 10-19 fills up
    assert runner.status.state == "degraded"
    assert runner.status.last_error_code == 1001
    assert is_paused(consumer)
    assert consumer.commits == []
    steps(runner, 5)  # still failing: paused, retried, a few stragglers dropped
    assert writer.attempts >= 3
    assert runner.status.buffered_rows <= runner.status.buffer_limit
    dropped_from = consumer.position - 2 * 5  # two stragglers a step while paused
    assert runner._rewind == {(TOPICS.resolved, 0): dropped_from}

    writer.up = True
    steps(runner, 1)  # the retry succeeds: commit, resume, seek back to the first dropped offset
    assert runner.status.state == "ok"
    assert not is_paused(consumer)
    assert consumer.seeks == [dropped_from]
    steps(runner, 12)
    runner._drain()
    assert writer.written[0][0] == 0  # the batch that failed first was the first one written
    assert consumer.commits == [{(TOPICS.resolved, 0): last + 1} for _, last in writer.written]
    # Every offset written exactly once, in order, however the outage cut the batches.
    covered = [o for first, last in writer.written for o in range(first, last + 1)]
    assert covered == list(range(60))


def test_an_unreachable_store_at_start_gathers_and_commits_nothing_until_it_opens() -> None:
    writer = FakeWriter(reachable=False)
    runner, consumer = make(30, writer)
    assert runner.status.state == "degraded"
    steps(runner, 4)
    assert runner.batch.size == 0
    assert consumer.commits == []
    assert runner._rewind == {(TOPICS.resolved, 0): 0}

    writer.store.reachable = True
    steps(runner, 1)
    assert runner.status.state == "ok"
    assert consumer.seeks == [0]
    steps(runner, 6)
    runner._drain()
    covered = [o for first, last in writer.written for o in range(first, last + 1)]
    assert covered == list(range(30))


def test_stopping_while_degraded_leaves_the_batch_uncommitted() -> None:
    writer = FakeWriter(up=False)
    runner, consumer = make(15, writer)
    steps(runner, 3)
    assert runner.status.state == "degraded"
    runner._drain()
    assert consumer.commits == []
    assert writer.written == []


def test_commit_reports_record_what_the_group_holds_and_count_failures() -> None:
    runner, _ = make(0, FakeWriter())
    runner._on_commit(None, [TopicPartition(TOPICS.resolved, 0, 40), TopicPartition(TOPICS.resolved, 1, 7)])
    runner._on_commit(None, [TopicPartition(TOPICS.resolved, 0, 30)])  # an older report, served late
    assert runner.status.committed == {f"{TOPICS.resolved}[0]": 40, f"{TOPICS.resolved}[1]": 7}
    assert runner.status.commit_failures == 0
    runner._on_commit(KafkaError(KafkaError.REBALANCE_IN_PROGRESS), [TopicPartition(TOPICS.resolved, 0, 50)])
    assert runner.status.commit_failures == 1
    assert runner.status.committed[f"{TOPICS.resolved}[0]"] == 40
