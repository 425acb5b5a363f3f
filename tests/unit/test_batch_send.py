"""Batched sends: every output reaches the partition a keyed ``send`` would pick, in order there,
in record batches no fuller than the producer allows; unkeyed outputs go through ``send``."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiokafka.partitioner import DefaultPartitioner  # type: ignore[import-untyped]

from streams.batch_send import BatchSender, send_run

PARTITIONS = 4


class FakeBatch:
    """A record batch that holds ``capacity`` records (and always takes its first one)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.records: list[tuple[bytes, bytes]] = []

    def append(self, *, key: bytes, value: bytes, timestamp: Any) -> object | None:
        if self.records and len(self.records) >= self.capacity:
            return None
        self.records.append((key, value))
        return object()


class FakeProducer:
    """aiokafka's batch API and metadata lookup, recording what was queued; each batch's delivery
    succeeds unless ``refuse`` is set (then it fails with that error, as after the retries)."""

    def __init__(self, capacity: int, refuse: Exception | None = None) -> None:
        self.capacity = capacity
        self.refuse = refuse
        self.batches: list[tuple[str, int, list[tuple[bytes, bytes]]]] = []

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.capacity)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> asyncio.Future[Any]:
        self.batches.append((topic, partition, batch.records))
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.001, self._deliver, delivery)
        return delivery

    def _deliver(self, delivery: asyncio.Future[Any]) -> None:
        if self.refuse is None:
            delivery.set_result(None)
        else:
            delivery.set_exception(self.refuse)

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))


class FakeFaustProducer:
    """Faust's producer: the aiokafka one under it, and ``send`` for unkeyed records."""

    def __init__(self, capacity: int, refuse: Exception | None = None) -> None:
        self.aio = FakeProducer(capacity, refuse)
        self.sent: list[tuple[str, bytes | None, bytes]] = []

    def _ensure_producer(self) -> FakeProducer:
        return self.aio

    async def send(self, topic: str, key: bytes | None, value: bytes, **_: Any) -> None:
        self.sent.append((topic, key, value))


def keyed_partition(key: bytes) -> int:
    """The partition aiokafka's own default partitioner gives a keyed record."""
    every = list(range(PARTITIONS))
    return int(DefaultPartitioner()(key, every, every))


def test_each_output_lands_where_a_keyed_send_would_put_it_in_order() -> None:
    topics = ("journeys", "sessions", "sessions")
    outputs = [(topics[i % 3], f"p-{i % 7}".encode(), f"v{i}".encode()) for i in range(60)]
    producer = FakeFaustProducer(capacity=5)
    sender = BatchSender(SimpleNamespace(producer=producer))
    assert asyncio.run(sender.send(outputs)) == 60
    queued: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
    for topic, partition, records in producer.aio.batches:
        assert 1 <= len(records) <= 5
        queued.setdefault((topic, partition), []).extend(records)
    expected: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
    for topic, key, value in outputs:
        expected.setdefault((topic, keyed_partition(key)), []).append((key, value))
    assert queued == expected  # same partitions, same order within each
    assert producer.sent == []


def test_unkeyed_outputs_go_through_the_producers_send() -> None:
    producer = FakeFaustProducer(capacity=5)
    sender = BatchSender(SimpleNamespace(producer=producer))
    asyncio.run(sender.send([("dead", None, b"x"), ("dead", b"\xff\xfe", b"y")]))  # any bytes as a key
    assert producer.sent == [("dead", None, b"x")]
    assert producer.aio.batches == [("dead", keyed_partition(b"\xff\xfe"), [(b"\xff\xfe", b"y")])]


def test_a_run_fills_batches_then_starts_new_ones() -> None:
    producer = FakeProducer(capacity=2)
    records = [(b"k", bytes([i])) for i in range(5)]
    assert asyncio.run(send_run(producer, "t", 1, records)) == 3
    assert [len(r) for _, _, r in producer.batches] == [2, 2, 1]
    assert [v for _, _, batch in producer.batches for _, v in batch] == [bytes([i]) for i in range(5)]
    assert asyncio.run(send_run(producer, "t", 1, [])) == 0  # nothing queued for nothing
    assert len(producer.batches) == 3


class CrashRecorder:
    """The app's ``crash``, recording why it was asked to stop."""

    def __init__(self, producer: FakeFaustProducer) -> None:
        self.producer = producer
        self.crashes: list[BaseException] = []

    async def crash(self, reason: BaseException) -> None:
        self.crashes.append(reason)


def send_and_settle(app: CrashRecorder, outputs: list[tuple[str, bytes | None, bytes]]) -> None:
    async def run() -> None:
        await BatchSender(app).send(outputs)
        await asyncio.sleep(0.05)  # deliveries complete, callbacks and the crash task run

    asyncio.run(run())


def test_a_batch_the_broker_refuses_stops_the_worker_once_and_says_why() -> None:
    refused = RuntimeError("MessageSizeTooLargeError")
    app = CrashRecorder(FakeFaustProducer(capacity=1, refuse=refused))
    send_and_settle(app, [("journeys", b"p-1", b"a"), ("journeys", b"p-2", b"b"), ("sessions", b"p-1", b"c")])
    assert len(app.producer.aio.batches) == 3
    assert app.crashes == [refused]  # once, however many batches failed


def test_delivered_batches_stop_nothing() -> None:
    app = CrashRecorder(FakeFaustProducer(capacity=1))
    send_and_settle(app, [("journeys", b"p-1", b"a"), ("sessions", b"p-2", b"b")])
    assert len(app.producer.aio.batches) == 2
    assert app.crashes == []
