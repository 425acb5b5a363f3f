"""How long the broker may hold a worker's fetch: Faust 0.15.3 hard-codes 1.5 s; it is a setting here.

aiokafka sends a node its next fetch only when the one in flight has returned, and the broker holds
a fetch until one of its partitions has data or ``fetch_max_wait_ms`` has passed. A worker reads
busy topics (touchpoints) beside quiet ones (``identity.changes``, ``journeys.handoff``); a fetch
sent at a moment when only quiet partitions were fetchable (the busy ones still held records not
yet consumed) is held up to 1.5 s while touchpoints pile up at the broker. Measured on the card
latency bench (1,000 events/s, 8 partitions, one worker per stage): the journey stage fell 1,000 to
2,500 events behind in stalls of about that length, and the card's p50 latency was 2.5 s; with
50 ms it fell to 0.9 s, with 5 ms to 0.15-0.3 s. A short wait costs an idle worker a few dozen
empty fetches a second, a few hundred bytes each.

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
_WAITS: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()  # app -> fetch wait (ms)


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    consumer = _ORIGINAL(self, transport)
    wait_ms = _WAITS.get(self.app)
    if wait_ms is not None:
        consumer._fetch_max_wait_ms = wait_ms
    return consumer


def configure(app: Any, fetch_max_wait_ms: int) -> None:
    """Give ``app``'s worker consumer this fetch wait (installing the fix once per process)."""
    if not getattr(AIOKafkaConsumerThread, _APPLIED_FLAG, False):
        AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]
        setattr(AIOKafkaConsumerThread, _APPLIED_FLAG, True)
    _WAITS[app] = fetch_max_wait_ms
