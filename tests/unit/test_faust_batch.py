"""Held acks: a batch's offsets become committable only after the batch released them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from faust.types.tuples import Message

from streams.faust_batch import HeldAcks


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
