"""A fix for faust-streaming 0.15.3 that loses the first records of partitions committed at 0 or never.

What happens: during a rebalance Faust drops records it fetched while its flow was stopped (or
whose generation changed) and relies on ``perform_seek`` -- "seek every assigned partition back to
its committed offset" -- to fetch them again. aiokafka's ``seek_to_committed`` only seeks
partitions whose committed offset is above 0 (``if offset and offset > 0``). A partition nobody
has committed yet (a new topic, a channel that had no traffic so far, a worker killed before its
first commit), or committed at 0, keeps the advanced fetch position, so the dropped records are
skipped: silently lost if later records of that partition are processed and committed, or a
partition whose lag never drains if none follow. Both were seen on the real broker (touchpoints
never resolved, none dead-lettered; a worker "Ready" with lag). :mod:`streams.gaps` catches what
still slips through.

The fix gives "no committed offset" the meaning the consumer is configured with
(``auto.offset.reset=earliest``, seek to the beginning) and seeks partitions committed at 0 to 0.
Reading records again is at-least-once processing, which every stage and the sink tolerate.
Changelog partitions are left to Faust's table recovery, which positions them itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

_ORIGINAL = AIOKafkaConsumerThread.seek_to_committed
_APPLIED_FLAG = "_omnijourney_seek_fix"


async def _seek_to_committed(self: AIOKafkaConsumerThread) -> Mapping[TP, int]:
    consumer = self._ensure_consumer()
    committed: Mapping[Any, int | None] = await self.call_thread(consumer.seek_to_committed)
    changelogs = self.app.tables.changelog_topics
    never_committed = [
        tp
        for tp, offset in committed.items()
        if (offset is None or offset < 0) and tp.topic not in changelogs
    ]
    if never_committed and self.app.conf.consumer_auto_offset_reset == "earliest":
        await self.call_thread(consumer.seek_to_beginning, *never_committed)
    at_zero = [tp for tp, offset in committed.items() if offset == 0 and tp.topic not in changelogs]
    if at_zero:  # committed offset 0 is skipped by aiokafka as well

        async def seek_to_zero() -> None:
            for tp in at_zero:
                consumer.seek(tp, 0)

        await self.call_thread(seek_to_zero)
    return committed  # type: ignore[return-value]


def apply() -> None:
    """Install the fix once per process (idempotent)."""
    if getattr(AIOKafkaConsumerThread, _APPLIED_FLAG, False):
        return
    AIOKafkaConsumerThread.seek_to_committed = _seek_to_committed  # type: ignore[method-assign]
    setattr(AIOKafkaConsumerThread, _APPLIED_FLAG, True)


def original() -> Any:
    """Faust's own method, for a test that shows what the fix changes."""
    return _ORIGINAL
