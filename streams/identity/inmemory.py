"""A deterministic in-memory stand-in for the routing topic: N partitions, FIFO each, random interleaving.

This is how the protocol is proved without a broker: each partition has its own FIFO queue (Kafka
orders messages within a partition, nothing across partitions) and its own two stores; a seeded
random scheduler picks which partition delivers next and when the next touchpoint enters, so one
seed is one reproducible interleaving. Stores refuse keys their partition does not own, which
proves that every handler only touches state co-located with its message.

Crashes model a worker killed with SIGKILL under Faust's at-least-once processing: what a
partition sent since its last flush is lost, the messages it consumed since its last commit are
delivered again, and its tables are either rolled back to the last commit (changelog behind) or
kept (changelog ahead of the committed offsets). Faust flushes the producer before committing.
"""

from __future__ import annotations

import json
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from random import Random
from typing import Any

from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy
from streams.identity.handler import handle
from streams.identity.lookup import identity_map
from streams.identity.protocol import Change, Effects, Message, Observe, Resolution, decode, encode
from streams.identity.state import IdentifierRecord, PartitionState


def partition_of(key: str, partitions: int) -> int:
    """Stable partition of a key (any stable hash shows the logic; Kafka uses murmur2)."""
    return zlib.crc32(key.encode()) % partitions


class OwnedStore:
    """A dict that only accepts the keys of one partition."""

    __slots__ = ("data", "partition", "partitions")

    def __init__(self, partition: int, partitions: int) -> None:
        self.data: dict[str, Any] = {}
        self.partition, self.partitions = partition, partitions

    def _check(self, key: str) -> None:
        if partition_of(key, self.partitions) != self.partition:
            raise AssertionError(f"partition {self.partition} touched {key!r}, owned by another partition")

    def get(self, key: str, /) -> Any:
        self._check(key)
        return self.data.get(key)

    def __setitem__(self, key: str, value: Any, /) -> None:
        self._check(key)
        self.data[key] = value

    def __delitem__(self, key: str, /) -> None:
        self._check(key)
        del self.data[key]


@dataclass
class _Partition:
    identifiers: OwnedStore
    clusters: OwnedStore
    queue: deque[Message] = field(default_factory=deque)
    outbox: list[Effects] = field(default_factory=list)  # sent but not yet flushed
    consumed: list[Message] = field(default_factory=list)  # since the last commit
    snapshot: tuple[dict[str, Any], dict[str, Any]] = field(default_factory=lambda: ({}, {}))

    @property
    def state(self) -> PartitionState:
        return PartitionState(self.identifiers, self.clusters)


@dataclass(frozen=True)
class Faults:
    """How often, per delivered message, a partition flushes, commits or crashes."""

    crash: float = 0.0
    flush: float = 0.3
    commit: float = 0.05
    max_crashes: int = 50
    behind: float = 0.5  # share of crashes whose tables roll back to the last commit


class PartitionedRun:
    """Runs touchpoints through N simulated partitions until nothing is left in flight."""

    def __init__(
        self,
        partitions: int = 1,
        seed: int = 0,
        policy: IdentityPolicy = DEFAULT_POLICY,
        faults: Faults | None = None,
        wire: bool = False,
    ) -> None:
        """``wire``: pass every message through JSON as the topic would (slower; proves serialisability)."""
        self.partitions = [
            _Partition(OwnedStore(p, partitions), OwnedStore(p, partitions)) for p in range(partitions)
        ]
        self.rng = Random(seed)
        self.policy = policy
        self.faults = faults
        self.wire = wire
        self.resolved: list[Resolution] = []
        self.changes: list[Change] = []
        self.delivered = 0
        self.crashes = 0

    def submit(self, message: Message) -> None:
        self.partitions[partition_of(message.key, len(self.partitions))].queue.append(message)

    def run(self, events: Iterable[Observe], inject: float = 0.3) -> PartitionedRun:
        """Feed ``events`` (first messages of touchpoints) interleaved with delivery, then drain."""
        pending: Iterator[Observe] = iter(events)
        more = True
        while more:
            busy = [p for p in self.partitions if p.queue]
            if not busy or self.rng.random() < inject:
                nxt = next(pending, None)
                if nxt is None:
                    more = False
                else:
                    self.submit(nxt)
                continue
            self._deliver(self.rng.choice(busy))
        self.drain()
        return self

    def drain(self) -> None:
        """Deliver until every queue and outbox is empty (no more faults once draining ends)."""
        while True:
            busy = [p for p in self.partitions if p.queue]
            if busy:
                self._deliver(self.rng.choice(busy))
                continue
            waiting = [p for p in self.partitions if p.outbox]
            if not waiting:
                return
            for p in waiting:
                self._flush(p)

    def _deliver(self, part: _Partition) -> None:
        message = part.queue.popleft()
        if self.wire:
            message = decode(json.loads(json.dumps(encode(message))))
        effects = handle(message, part.state, self.policy)
        self.delivered += 1
        if self.faults is None:
            self._publish(effects)
            return
        part.consumed.append(message)
        part.outbox.append(effects)
        faults, roll = self.faults, self.rng.random()
        if roll < faults.crash and self.crashes < faults.max_crashes:
            self._crash(part)
        elif roll < faults.crash + faults.commit:
            self._commit(part)
        elif roll < faults.crash + faults.commit + faults.flush:
            self._flush(part)

    def _publish(self, effects: Effects) -> None:
        for message in effects.messages:
            self.submit(message)
        self.resolved.extend(effects.resolved)
        self.changes.extend(effects.changes)

    def _flush(self, part: _Partition) -> None:
        outbox, part.outbox = part.outbox, []
        for effects in outbox:
            self._publish(effects)

    def _commit(self, part: _Partition) -> None:
        self._flush(part)
        part.consumed.clear()
        part.snapshot = (_copy(part.identifiers.data), _copy(part.clusters.data))

    def _crash(self, part: _Partition) -> None:
        self.crashes += 1
        part.outbox.clear()
        part.queue.extendleft(reversed(part.consumed))
        part.consumed.clear()
        assert self.faults is not None
        if self.rng.random() < self.faults.behind:  # changelog behind: tables as of the last commit
            part.identifiers.data, part.clusters.data = _copy(part.snapshot[0]), _copy(part.snapshot[1])

    # -- results ------------------------------------------------------------------------------------

    def identity_map(self) -> dict[str, str]:
        """The authoritative map (cluster roots), across all partitions."""
        return identity_map(
            (item for p in self.partitions for item in p.identifiers.data.items()),
            (item for p in self.partitions for item in p.clusters.data.items()),
        )

    def cached_map(self) -> dict[str, str | None]:
        """What each identifier's own record says (the cache that fast-path resolutions use)."""
        out: dict[str, str | None] = {}
        for p in self.partitions:
            for key, raw in p.identifiers.data.items():
                out[key] = IdentifierRecord.from_json(raw).person
        return out

    def stores(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(p.identifiers.data, p.clusters.data) for p in self.partitions]


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    """A snapshot of a store: handlers replace values and never mutate a stored one, so shallow is enough."""
    return dict(data)
