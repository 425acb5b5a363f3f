"""What an agent that works a batch at a time (``stream.take_events``) needs from Faust, made safe.

Three things Faust does not do for batches:

- Acks. ``take_events`` acknowledges a batch's events when the agent asks for the next batch,
  and also when the agent's body raises (its ``finally``), so a batch whose outputs were never
  sent could be committed by the shutdown that follows. :class:`HeldAcks` holds one reference on
  every event's message until :meth:`HeldAcks.release`, called once the batch's outputs are handed
  to the producer (Faust flushes the producer before it commits): no release, no commit.
- The current event. Faust tables pick the partition of a write (its changelog partition and its
  RocksDB instance) and of a read from the *current event*. In a batch that is whichever event
  came last, of any partition; :func:`event_context` makes one event of the partition being worked
  on current, so each key is read from and written to its own partition.
- The partition of a key. :class:`KeyPartitions` is Kafka's default partitioner (murmur2) for one
  topic, with a bounded cache in front.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]
from faust.streams import _current_event

CACHE_LIMIT = 200_000  # keys remembered by KeyPartitions before it starts afresh


def take_events(stream: Any, max_: int, within: float) -> AsyncIterator[Sequence[Any]]:
    """``stream.take_events`` (missing from Faust's ``StreamT``): lists of at most ``max_`` events."""
    batches: AsyncIterator[Sequence[Any]] = stream.take_events(max_, within=within)
    return batches


class HeldAcks:
    """Withhold the acks of ``events`` until :meth:`release` (see the module docstring)."""

    __slots__ = ("_events", "_released")

    def __init__(self, events: Sequence[Any]) -> None:
        self._events = list(events)
        self._released = False
        for event in self._events:
            event.message.incref()

    def release(self) -> None:
        """Give back the held references: ``take_events``' own ack is then the final one."""
        if self._released:
            return
        self._released = True
        for event in self._events:
            event.message.decref()


@contextmanager
def event_context(event: Any) -> Iterator[None]:
    """Make ``event`` the current event (for table reads and writes) inside the ``with`` block."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class KeyPartitions:
    """``key -> partition`` of one topic, as Kafka's default partitioner (murmur2) chooses it.

    The same function the producer applies to a keyed send (and :mod:`streams.web_routing` to find
    a key's owner), computed here from the topic's partition count, read once: the producer's own
    metadata may not know the topic at the moment of a call.
    """

    def __init__(self, app: Any, topic: str) -> None:
        self.app, self.topic = app, topic
        self._cache: dict[str, int] = {}
        self._bytes_cache: dict[bytes, int] = {}
        self.partitions = 0

    async def ready(self) -> None:
        """Read the topic's partition count (once)."""
        if not self.partitions:
            found = await self.app.producer._ensure_producer().partitions_for(self.topic)
            self.partitions = len(found)

    def __call__(self, key: str) -> int:
        cached = self._cache.get(key)
        if cached is None:
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            cached = self._cache[key] = key_partition(key.encode(), self.partitions)
        return cached

    def of_bytes(self, key: bytes) -> int:
        """The partition of a key already encoded (an output's key: any bytes, not only UTF-8)."""
        cached = self._bytes_cache.get(key)
        if cached is None:
            if len(self._bytes_cache) >= CACHE_LIMIT:
                self._bytes_cache.clear()
            cached = self._bytes_cache[key] = key_partition(key, self.partitions)
        return cached


def key_partition(key: bytes, partitions: int) -> int:
    """Kafka's default partition of a non-empty key among ``partitions`` (all available or not)."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions
