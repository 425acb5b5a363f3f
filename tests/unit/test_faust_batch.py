"""Held acks: a batch's offsets become committable only after the batch released them; and the
batches themselves: handed over when full or when the input goes idle."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import SimpleNamespace
from typing import Any

from faust.types.tuples import Message

from streams.faust_batch import HeldAcks, take_events


def events(n: int) -> list[Any]:
    """Events as a stream hands them to ``take_events``: each message referenced once."""
    out = []
    for offset in range(n):
        message = Message("routing", 0, offset, 0.0, 0, None, b"k", b"v", None)
        message.incref()
        out.append(SimpleNamespace(message=message))
    return out


def test_released_then_acked_is_committable() -> None:
    batch = events(2)
    held = HeldAcks(batch)
    held.release()
    held.release()  # idempotent: the references are given back once
    consumer: Any = None
    assert [e.message.ack(consumer) for e in batch] == [True, True]  # take_events' ack, the final one
    assert all(e.message.acked for e in batch)


def test_a_batch_that_failed_is_never_committable() -> None:
    batch = events(2)
    HeldAcks(batch)  # the body raised before release: take_events' finally still acks
    consumer: Any = None
    for e in batch:
        e.message.ack(consumer)
    assert not any(e.message.acked for e in batch)


class FakeStream:
    """What ``take_events`` uses of a Faust stream: processors fed one event at a time by a
    passive drainer (here: from a queue), acks counted, ``wait``/``wait_for_stopped`` as Faust's."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self.enable_acks = True
        self._processors: list[Any] = []
        self._active_agens: set[Any] = set()
        self.channel = self  # aiter(channel) must work; the drainer reads the queue
        self.current_event: Any = None
        self.should_stop = False
        self.acked: list[int] = []
        self.log = logging.getLogger("fake-stream")
        self.drainer: asyncio.Task[None] | None = None

    def __aiter__(self) -> FakeStream:
        return self

    async def __anext__(self) -> int:
        raise StopAsyncIteration

    def add_processor(self, processor: Any) -> None:
        self._processors.append(processor)

    def _enable_passive(self, channel_it: Any) -> None:
        self.drainer = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while True:
            value = await self.queue.get()
            self.current_event = SimpleNamespace(value=value)
            for processor in self._processors:
                await processor(value)

    async def wait(self, event: asyncio.Event) -> None:
        await event.wait()

    async def wait_for_stopped(self, event: asyncio.Event, **within: float) -> bool:
        """Faust's signature (``timeout=``): the event, or the timeout, whichever comes first."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), within["timeout"])
        return self.should_stop

    async def ack(self, event: Any) -> None:
        self.acked.append(event.value)

    async def crash(self, exc: BaseException) -> None:
        raise AssertionError(f"the buffer crashed: {exc!r}")


async def batches_of(
    stream: FakeStream, max_: int, within: float, idle: float, pauses: list[list[int]]
) -> list[list[int]]:
    """Feed ``pauses`` (groups of values sent back to back, a pause after each) and collect the batches."""
    got: list[list[int]] = []
    expected = sum(map(len, pauses))

    async def consume() -> None:
        async for batch in take_events(stream, max_, within, idle):
            got.append([e.value for e in batch])
            if sum(map(len, got)) >= expected:
                break

    task = asyncio.ensure_future(consume())
    for group in pauses:
        for value in group:
            stream.queue.put_nowait(value)
        await asyncio.sleep(idle * 20)  # a pause far longer than ``idle``
    await asyncio.wait_for(task, 60)
    assert stream.drainer is not None
    stream.drainer.cancel()
    return got


def test_a_batch_is_handed_over_when_the_input_goes_idle_not_after_within() -> None:
    # ``within`` is far longer than the test may run: only the idle rule can hand these over.
    stream = FakeStream()
    got = asyncio.run(batches_of(stream, 100, 3600.0, 0.01, [[1, 2, 3], [4, 5]]))
    assert got == [[1, 2, 3], [4, 5]]


def test_a_full_batch_is_handed_over_at_once_and_never_holds_more_than_max() -> None:
    # After full batches the rest of a backlog waits ``within`` (short here) to fill, then goes.
    stream = FakeStream()
    got = asyncio.run(batches_of(stream, 2, 0.5, 0.01, [[1, 2, 3, 4, 5]]))
    assert got == [[1, 2], [3, 4], [5]]


def test_after_a_full_batch_a_pause_does_not_cut_the_next_one_small() -> None:
    # A full batch means a backlog: the next one waits to fill (up to ``within``), not for a pause.
    stream = FakeStream()
    got = asyncio.run(batches_of(stream, 2, 30.0, 0.01, [[1, 2, 3], [4]]))
    assert got == [[1, 2], [3, 4]]


def test_every_event_is_acked_once_after_its_batch_and_the_stream_is_restored() -> None:
    stream = FakeStream()
    asyncio.run(batches_of(stream, 2, 3600.0, 0.01, [[1, 2, 3], [4]]))
    assert sorted(stream.acked) == [1, 2, 3, 4]
    assert stream.enable_acks is True  # the generator closed: Faust acks on its own again
    assert stream._processors == []
