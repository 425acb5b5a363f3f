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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from streams.faust_batch import KeyPartitions

Output = tuple[str, bytes | None, bytes]  # (topic name, key, value)


class BatchSender:
    """Send a batch's outputs (:data:`Output`) grouped into one record batch run per partition."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._partitions: dict[str, KeyPartitions] = {}

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
            await send_run(producer, topic, partition, records)
        return sent

    async def send_to(self, topic: str, partition: int, records: list[tuple[bytes, bytes]]) -> int:
        """Queue ``records`` for a partition the caller chose (in order); returns the batch count."""
        return await send_run(self.app.producer._ensure_producer(), topic, partition, records)

    async def _partition_of(self, topic: str) -> KeyPartitions:
        found = self._partitions.get(topic)
        if found is None:
            found = KeyPartitions(self.app, topic)
            await found.ready()
            self._partitions[topic] = found
        return found


async def send_run(producer: Any, topic: str, partition: int, records: list[tuple[bytes, bytes]]) -> int:
    """Queue ``records`` for one partition, in order, in as few record batches as the producer's
    batch size allows (a batch takes its first record whatever its size); returns the batch count."""
    batch, batches = producer.create_batch(), 0
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:  # full: queue it, start anew
            await producer.send_batch(batch, topic, partition=partition)
            batches += 1
            batch = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)
    if records:
        await producer.send_batch(batch, topic, partition=partition)
        batches += 1
    return batches
