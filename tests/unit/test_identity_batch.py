"""Batched routing: packed values, the write-back cache, and in-process hops give the same identity map.

A small simulator stands in for the routing topic the way the agent now uses it: each partition a
FIFO of packed values, a delivery takes several values of one partition, handles them with
:func:`run_partition` over write-back caches of ownership-checking stores, writes the caches back,
and sends what is left packed per destination partition. Crashes lose a batch's outputs and replay
its inputs, with the tables either written back (ahead) or not.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from dataclasses import dataclass, field

import pytest
from aiokafka.partitioner import DefaultPartitioner  # type: ignore[import-untyped]

from streams.faust_batch import key_partition
from streams.identity.batch import Item, Outputs, run_partition
from streams.identity.handler import handle
from streams.identity.inmemory import OwnedStore, partition_of
from streams.identity.lookup import identity_map
from streams.identity.protocol import Effects, Observe, decode
from streams.identity.reference import identity_map_of
from streams.identity.state import PartitionState
from streams.identity.wire import unpack
from streams.identity.writeback import BatchState
from tests.unit.test_identity_partitions import first_messages, story

# -- the batched partitions ------------------------------------------------------------------------


@dataclass
class _Partition:
    identifiers: OwnedStore
    clusters: OwnedStore
    queue: deque[bytes] = field(default_factory=deque)


class BatchedRun:
    """The routing topic as the batched agent uses it (see the module docstring)."""

    def __init__(self, partitions: int, seed: int, batch: int, crash: float = 0.0) -> None:
        self.partitions = [
            _Partition(OwnedStore(p, partitions), OwnedStore(p, partitions)) for p in range(partitions)
        ]
        self.rng, self.batch, self.crash = random.Random(seed), batch, crash
        self.crashes = self.values_sent = self.handled = self.local = self.table_writes = 0
        self.resolved: list[str] = []

    def owner(self, key: str) -> int:
        return partition_of(key, len(self.partitions))

    def publish(self, out: Outputs) -> int:
        sent = 0
        for partition, _, value in out.values(max_bytes=4_000):
            self.partitions[partition].queue.append(value)
            sent += 1
        self.resolved.extend(r.event_id for r in out.resolved)
        return sent

    async def deliver(self, number: int) -> None:
        part = self.partitions[number]
        taken = [part.queue.popleft() for _ in range(min(self.batch, len(part.queue)))]
        items: list[Item] = [item for value in taken for item in unpack(value)]
        state = BatchState(part.identifiers, part.clusters)

        async def step(item: Item, state: PartitionState) -> Effects:
            message = decode(item) if isinstance(item, dict) else item
            return handle(message, state)

        out = Outputs()
        await run_partition(number, items, state, self.owner, step, out)
        roll = self.rng.random()
        if roll < self.crash:  # killed before its outputs were sent: the inputs come again
            self.crashes += 1
            if roll < self.crash / 2:
                self.table_writes += state.flush()  # the changelog got ahead of the outputs
            part.queue.extendleft(reversed(taken))
            return
        self.table_writes += state.flush()
        self.handled += out.handled
        self.local += out.local
        self.values_sent += self.publish(out)

    def run(self, firsts: list[Observe]) -> BatchedRun:
        intake = Outputs()
        for message in firsts:
            intake.route(self.owner(message.key), message)
        self.publish(intake)

        async def drain() -> None:
            while busy := [n for n, p in enumerate(self.partitions) if p.queue]:
                await self.deliver(self.rng.choice(busy))

        asyncio.run(drain())
        return self

    def identity_map(self) -> dict[str, str]:
        return identity_map(
            (item for p in self.partitions for item in p.identifiers.data.items()),
            (item for p in self.partitions for item in p.clusters.data.items()),
        )


@pytest.mark.parametrize("seed", range(8))
def test_batched_partitions_converge_to_the_reference_map(seed: int) -> None:
    rng = random.Random(seed)
    events = story(rng)
    expected = identity_map_of(events)
    for partitions, batch in ((1, 1), (1, 50), (3, 4), (8, 2), (8, 100)):
        firsts = first_messages(events, random.Random(seed * 31 + partitions))
        result = BatchedRun(partitions, seed=seed + batch, batch=batch).run(firsts)
        assert result.identity_map() == expected, (partitions, batch)
        assert {m.event.event_id for m in firsts} == set(result.resolved)


@pytest.mark.parametrize("seed", range(6))
def test_batched_partitions_survive_crashes(seed: int) -> None:
    rng = random.Random(100 + seed)
    events = story(rng)
    firsts = first_messages(events, rng)
    result = BatchedRun(5, seed=seed, batch=3, crash=0.15).run(firsts)
    assert result.crashes > 0
    assert result.identity_map() == identity_map_of(events)
    assert {m.event.event_id for m in firsts} == set(result.resolved)


def test_one_partition_handles_every_hop_in_process() -> None:
    rng = random.Random(9)
    events = story(rng)
    firsts = first_messages(events, rng)
    single = BatchedRun(1, seed=1, batch=1_000).run(firsts)
    assert single.values_sent == 0  # after the intake's values, every hop stayed in process
    assert single.local == single.handled - len(firsts) > 0
    spread = BatchedRun(8, seed=1, batch=1_000).run(firsts)
    routed = spread.handled - spread.local - len(firsts)  # routing messages that went through the topic
    assert 0 < spread.values_sent < routed / 2  # packed: several messages a Kafka message
    assert spread.identity_map() == single.identity_map()


def test_batches_write_each_key_once_per_batch() -> None:
    rng = random.Random(4)
    events = story(rng, events=200, universe=10)  # few identifiers, touched over and over
    firsts = first_messages(events, rng)
    batched = BatchedRun(1, seed=2, batch=1_000).run(firsts)
    keys = len(batched.partitions[0].identifiers.data) + len(batched.partitions[0].clusters.data)
    assert batched.table_writes == keys  # one batch: each key written once
    one_by_one = BatchedRun(1, seed=2, batch=1).run(firsts)
    assert one_by_one.table_writes > keys
    assert one_by_one.identity_map() == batched.identity_map()


@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_key_partition_is_the_producers_default_partitioner(partitions: int) -> None:
    chooser = DefaultPartitioner()
    keys = [f"cookie:{n}".encode() for n in range(300)] + [b"@0123456789abcdef", "é".encode()]
    spread = {key_partition(k, partitions) for k in keys}
    assert spread == set(range(partitions))
    for key in keys:
        assert key_partition(key, partitions) == chooser(key, list(range(partitions)), [])
