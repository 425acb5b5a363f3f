"""How long the broker may hold a worker's fetch, and for how many bytes: settings here, not Faust's.

Faust 0.15.3 hard-codes ``fetch_max_wait_ms=1500`` and leaves ``fetch_min_bytes`` at 1.

aiokafka sends a node its next fetch only when the one in flight has returned, and the broker holds
a fetch until one of its partitions has data or ``fetch_max_wait_ms`` has passed. A worker reads
busy topics (touchpoints) beside quiet ones (``identity.changes``, ``journeys.handoff``); a fetch
sent at a moment when only quiet partitions were fetchable (the busy ones still held records not
yet consumed) is held up to 1.5 s while touchpoints pile up at the broker. Measured on the card
latency bench (1,000 events/s, 8 partitions, one worker per stage): the journey stage fell 1,000 to
2,500 events behind in stalls of about that length, and the card's p50 latency was 2.5 s; with
50 ms it fell to 0.9 s, with 5 ms to 0.15-0.3 s. A short wait costs an idle worker a few dozen
empty fetches a second, a few hundred bytes each.

With ``fetch_min_bytes`` at 1 a busy worker fetches as fast as the broker answers, a few records
each time, and handling fetches becomes a large share of its work. Asking for at least
``fetch_min_bytes`` (default 32 KiB) lets the broker answer when that much has gathered or the
wait is over, whichever comes first: a stage then pays the wait (20 ms at most) once per fetch,
not per record. Measured on the card latency bench (1,000 touchpoints/s, 4 partitions, a worker
per stage): the strongest identity worker's CPU fell from about 500 to 320 microseconds a
touchpoint, its batches grew from 17 to 25 touchpoints, and the card's latency stayed the same.

The fix wraps Faust's ``_create_worker_consumer``: the consumer is built as Faust builds it, then
given the wait the app was configured with (:func:`configure`) before it starts (aiokafka hands
the value to its fetcher in ``start``).
"""

from __future__ import annotations

import weakref
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

_ORIGINAL = AIOKafkaConsumerThread._create_worker_consumer
_APPLIED_FLAG = "_omnijourney_fetch_wait"
# app -> (fetch wait in ms, fetch minimum in bytes)
_FETCHES: weakref.WeakKeyDictionary[Any, tuple[int, int]] = weakref.WeakKeyDictionary()


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    consumer = _ORIGINAL(self, transport)
    configured = _FETCHES.get(self.app)
    if configured is not None:
        consumer._fetch_max_wait_ms, consumer._fetch_min_bytes = configured
    return consumer


def configure(app: Any, fetch_max_wait_ms: int, fetch_min_bytes: int = 1) -> None:
    """Give ``app``'s worker consumer this fetch wait and minimum (installing the fix once per
    process)."""
    if not getattr(AIOKafkaConsumerThread, _APPLIED_FLAG, False):
        AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]
        setattr(AIOKafkaConsumerThread, _APPLIED_FLAG, True)
    _FETCHES[app] = (fetch_max_wait_ms, fetch_min_bytes)
