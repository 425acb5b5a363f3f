"""A batch agent's outputs handed to the producer as record batches, one run per topic partition.

Faust's ``topic.send`` costs more per message than many of the steps that produce the messages: a
FutureMessage, a PendingMessage, a producer future with its callbacks, then aiokafka's own future
and accumulator lookup. An agent that works a batch at a time (:mod:`streams.faust_batch`) holds
all of a batch's outputs when it is done, so :class:`BatchSender` groups them by topic partition
(Kafka's default partitioner on the key: the partition a keyed ``send`` would choose), keeps each
group in the order the outputs were made, and hands it to aiokafka as record batches
(``create_batch`` / ``send_batch``, its public batch API).

What a consumer sees does not change: the same records with the same keys in the same partitions,
in the same order within a partition (the only order Kafka keeps). Delivery does not change
either: like ``send``, ``send_batch`` queues the records; Faust flushes the producer before it
commits offsets, so a batch's offsets are committed only after its outputs reached the broker.
A record without a key (no partition to compute) goes through the producer's own ``send``.

A record batch the broker finally refuses (after the producer's retries) is never silent: it is
logged and the worker crashes, as Faust does when a ``send`` fails, so its supervisor restarts it
and the batch is read again from the last commit instead of being committed without its outputs.

Record batches go out at once, not after the producer's linger as table changelog writes do:
only a stage whose replays tolerate outputs that got out ahead of its state (the journey stage,
the stateless strongest identity stage) may use this; the stitching identity stage does not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from streams.faust_batch import KeyPartitions

log = logging.getLogger(__name__)
Output = tuple[str, bytes | None, bytes]  # (topic name, key, value)
OnSent = Callable[["asyncio.Future[Any]"], None]  # called with each record batch's delivery


class BatchSender:
    """Send a batch's outputs (:data:`Output`) grouped into one record batch run per partition."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._partitions: dict[str, KeyPartitions] = {}
        self._crashing: asyncio.Task[Any] | None = None

    async def send(self, outputs: Iterable[Output]) -> int:
        """Queue ``outputs`` in the producer (per partition in the given order); returns how many."""
        runs: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
        sent = 0
        for topic, key, value in outputs:
            sent += 1
            if key is None:
                await self.app.producer.send(topic, None, value, partition=None, timestamp=None, headers=None)
                continue
            partition_of = await self._partition_of(topic)
            runs.setdefault((topic, partition_of.of_bytes(key)), []).append((key, value))
        producer = self.app.producer._ensure_producer()  # the aiokafka producer under Faust's
        for (topic, partition), records in runs.items():
            await send_run(producer, topic, partition, records, self._delivered)
        return sent

    def _delivered(self, delivery: asyncio.Future[Any]) -> None:
        """A record batch's delivery is known: if it failed, the worker stops (see above)."""
        if delivery.cancelled() or delivery.exception() is None or self._crashing is not None:
            return
        error = delivery.exception()
        log.error("a batch of output records could not be delivered (%r): the worker stops", error)
        self._crashing = asyncio.ensure_future(self.app.crash(error))

    async def _partition_of(self, topic: str) -> KeyPartitions:
        found = self._partitions.get(topic)
        if found is None:
            found = KeyPartitions(self.app, topic)
            await found.ready()
            self._partitions[topic] = found
        return found


async def send_run(
    producer: Any,
    topic: str,
    partition: int,
    records: list[tuple[bytes, bytes]],
    on_sent: OnSent | None = None,
) -> int:
    """Queue ``records`` for one partition, in order, in as few record batches as the producer's
    batch size allows (a batch takes its first record whatever its size); returns the batch count.
    ``on_sent`` is called with each batch's delivery future once it is done."""
    batch, batches = producer.create_batch(), 0

    async def queue(batch: Any) -> None:
        delivery = await producer.send_batch(batch, topic, partition=partition)
        if on_sent is not None and isinstance(delivery, asyncio.Future):
            delivery.add_done_callback(on_sent)

    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:  # full: queue it, start anew
            await queue(batch)
            batches += 1
            batch = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)
    if records:
        await queue(batch)
        batches += 1
    return batches
