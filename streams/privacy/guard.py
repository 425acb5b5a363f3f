"""The worker's suppression list: read from privacy.suppressions in a thread, asked by the agents.

One :class:`PrivacyGuard` per worker. The agents ask it, on the event loop, whether an identifier
or person is suppressed (set lookups); it reads the compacted topic in a daemon thread and is
``ready`` once it has read everything published before the worker started, which the agents wait
for before their first record (so a replay from the start never lets an erased person through).
Erasure handlers also add what they erase at once (:meth:`add_local`): the agent that deletes a
person's state must drop that person's next record even if the topic has not reached the thread yet.

What is dropped is counted in ``omnijourney_suppressed_total{stage}`` and logged without the
identifiers (only their count): suppressed records are not bad input, so they are not dead letters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from prometheus_client import Counter

from schemas.codec import Codec
from schemas.topics import KafkaOptions
from sinks.suppressions import SuppressionList, SuppressionReader
from streams.metrics import REGISTRY

log = logging.getLogger(__name__)

SUPPRESSED = Counter(
    "omnijourney_suppressed",
    "Records a stage dropped because they name an erased (GDPR-suppressed) identifier or person.",
    ["stage"],
    registry=REGISTRY,
)
READY_TIMEOUT_S = 120.0


class PrivacyGuard:
    """Suppressed identifiers and persons for the agents of one worker."""

    def __init__(self, kafka: KafkaOptions, topic: str, codec: Codec) -> None:
        self.list = SuppressionList()
        self.kafka, self.topic, self.codec = kafka, topic, codec
        self.reader: SuppressionReader | None = None  # made on first use: every CLI command builds the app

    @property
    def identifiers(self) -> set[str]:
        return self.list.identifiers

    @property
    def persons(self) -> set[str]:
        return self.list.persons

    async def ready(self) -> None:
        """Wait (once) until everything published before the start has been read."""
        if self.reader is None:
            self.reader = SuppressionReader(self.kafka, self.topic, self.codec, self.list)
            self.reader.follow()
        if self.reader.ready.is_set():
            return
        if not await asyncio.to_thread(self.reader.ready.wait, READY_TIMEOUT_S):
            log.warning(
                "suppressions not read within %.0fs; going on with %d", READY_TIMEOUT_S, len(self.list)
            )

    def any_key(self, keys: Iterable[str]) -> bool:
        return self.list.any_key(keys)

    def person(self, person_id: str | None) -> bool:
        return self.list.person(person_id)

    def add_local(self, identifiers: Iterable[str], persons: Iterable[str]) -> None:
        self.list.add_keys(identifiers, persons)

    def dropped(self, stage: str, what: str, identifiers: int = 0) -> None:
        SUPPRESSED.labels(stage).inc()
        log.debug("%s: dropped a suppressed %s (%d identifiers)", stage, what, identifiers)
