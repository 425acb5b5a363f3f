"""What an agent that works a batch at a time (``take_events``) needs from Faust, made safe.

Four things Faust does not do for batches:

- Latency. Faust's ``take_events`` holds every batch that does not fill for its whole ``within``
  window; :func:`take_events` here hands a batch over as soon as the input pauses (see
  :func:`_take_events`), so a stage adds milliseconds at a low rate and still fills its batches
  under load.
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

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]
from faust.streams import _current_event
from mode.utils.aiter import aiter
from mode.utils.futures import notify

BATCH_MAX = 500  # events a stage's batch holds at most
BATCH_WITHIN = 0.05  # seconds a batch waits at most after its first event
BATCH_IDLE = 0.002  # seconds without a new event after which a batch is handed over as it is
CACHE_LIMIT = 200_000  # keys remembered by KeyPartitions before it starts afresh


def take_events(
    stream: Any, max_: int, within: float, idle: float = BATCH_IDLE
) -> AsyncIterator[Sequence[Any]]:
    """Lists of at most ``max_`` events of ``stream``, batched naturally (see :func:`_take_events`).

    Registered with the stream as Faust registers its own ``take_events`` generators, so a
    stopping stream closes it (acks given, its buffering processor removed).
    """
    batches = _take_events(stream, max_, within, idle)
    stream._active_agens.add(batches)
    return batches


async def _take_events(stream: Any, max_: int, within: float, idle: float) -> AsyncIterator[Sequence[Any]]:
    """Faust's ``Stream.take_events`` with one more reason to hand a batch over: the input went idle.

    Faust's version waits ``within`` seconds for every batch that does not fill, so at any rate
    below ``max_ / within`` each event waits up to ``within`` (50 ms a stage) before any work
    starts. Here a batch is handed over when it is full, when ``within`` has passed since its first
    event, or as soon as ``idle`` seconds go by without a new event: the events a fetch delivered
    arrive back to back, so a short pause means the batch holds what there is. Under load the
    batch still fills (large batches, the cheap case per event); at a low rate an event waits about
    ``idle``, not ``within``. Once a batch fills, the input is backed up and the next batch is left
    to fill too (a short pause in a backlog, between two fetches, does not cut it small): batches
    stay large while a stage catches up. Acks are Faust's: each event is acknowledged when the
    consumer asks for the next batch (or the generator closes).
    """
    events: list[Any] = []
    full, consumed, arrived = asyncio.Event(), asyncio.Event(), asyncio.Event()
    consuming: asyncio.Future[None] | None = None
    enable_acks = stream.enable_acks

    async def add_to_buffer(value: Any) -> Any:
        nonlocal consuming
        try:
            if consuming is not None:  # the batch in hand is being worked: wait until it is done
                try:
                    await consuming
                finally:
                    consuming = None
            event = stream.current_event
            if event is None:
                raise RuntimeError("take_events found no current event")
            events.append(event)
            arrived.set()
            if len(events) >= max_:
                full.set()
                consumed.clear()
                await stream.wait(consumed)  # never more than max_ in a batch
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            stream.log.exception("Error adding to take buffer: %r", exc)
            await stream.crash(exc)
        return value

    stream.enable_acks = False  # this generator acks each event once the consumer is done with it
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    loop = asyncio.get_running_loop()
    behind = False  # the last batch filled: the input is backed up, so the next one waits to fill
    try:
        while not stream.should_stop:
            if not events:
                arrived.clear()
                await stream.wait_for_stopped(arrived, timeout=within)
                continue
            deadline = loop.time() + within
            while not full.is_set() and not stream.should_stop:
                seen, left = len(events), deadline - loop.time()
                if left <= 0:
                    break
                await stream.wait_for_stopped(full, timeout=left if behind else min(idle, left))
                if len(events) == seen:
                    break  # nothing new for ``idle``: the batch holds what there is
            behind = len(events) >= max_
            consuming = loop.create_future()
            try:
                yield list(events)
            finally:
                batch = list(events)
                events.clear()
                for event in batch:
                    await stream.ack(event)
                notify(consuming)
                full.clear()
                consumed.set()
    finally:
        stream.enable_acks = enable_acks
        stream._processors.remove(add_to_buffer)


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
