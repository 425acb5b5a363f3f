"""The GDPR suppression list: every erased identifier and person id, read from its compacted topic.

Why a topic read whole by every process instead of a table owned by one worker: the identity
stage's intake (partitioned by source topic), the journey stage (by person) and the sink (by its
own group) each need the whole list, and must still have it after a restart or when a new app id
or a reset consumer group replays the old topics from the start. A compacted topic keyed by
subject is that list, and each reader rebuilds it in memory by reading to the end before it lets
anything through (:meth:`SuppressionReader.load`).

Identifier keys are ``"type:value"`` with the value as on the wire (the SDK's HMAC hash for
e-mail and phone). Matching is case-insensitive: some types are lower-cased by the identity
stage's guards and the sink does not know which; an erasure that also covers a case variant of a
value errs on the side of the person.

This module lives with the sink because the sink must not import ``streams``; the workers import
it from here.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from schemas.codec import Codec
from schemas.errors import OmnijourneyError
from schemas.models.suppression import Suppression, SuppressionSubject
from schemas.topics import KafkaOptions

log = logging.getLogger(__name__)

SUPPRESSION_NAME = "io.omnijourney.Suppression"
MIN_TOKEN_LEN = 8  # shorter values are matched only in decoded records, never in raw bytes


def identifier_key(kind: str, value: str) -> str:
    """The suppression key of an identifier: the identity stage's key, compared case-insensitively."""
    return f"{kind}:{value.strip().lower()}"


@dataclass
class SuppressionList:
    """Erased identifiers and persons in memory, with a byte pattern to screen raw records fast."""

    identifiers: set[str] = field(default_factory=set)
    persons: set[str] = field(default_factory=set)
    _pattern: re.Pattern[bytes] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self.identifiers) + len(self.persons)

    def add(self, record: Suppression) -> bool:
        """Remember one record; True if it was new."""
        return self.add_keys(
            [identifier_key(str(record.identifier_type), record.value)]
            if record.subject is SuppressionSubject.IDENTIFIER
            else [],
            [record.value] if record.subject is SuppressionSubject.PERSON else [],
        )

    def add_keys(self, identifiers: Iterable[str], persons: Iterable[str]) -> bool:
        """Remember identifier keys (``type:value``) and person ids; True if any was new."""
        ids = {identifier_key(*k.split(":", 1)) for k in identifiers}
        with self._lock:
            new = bool(ids - self.identifiers) or bool(set(persons) - self.persons)
            if new:
                self.identifiers = self.identifiers | ids  # replaced, not mutated: readers never lock
                self.persons = self.persons | set(persons)
                self._pattern = None
        return new

    def identifier(self, kind: str, value: str) -> bool:
        return identifier_key(kind, value) in self.identifiers

    def any_key(self, keys: Iterable[str]) -> bool:
        """Whether any identifier key ``type:value`` is suppressed."""
        ids = self.identifiers
        return bool(ids) and any(identifier_key(*k.split(":", 1)) in ids for k in keys)

    def person(self, person_id: str | None) -> bool:
        return person_id is not None and person_id in self.persons

    def pattern(self) -> re.Pattern[bytes] | None:
        """Matches raw bytes holding a suppressed value or person id (None: nothing to match).

        A necessary condition only, for screening bytes before decoding: Avro strings are their
        UTF-8 bytes, so a record holding a value holds its bytes.
        """
        if self._pattern is None:
            tokens = {k.split(":", 1)[1] for k in self.identifiers} | self.persons
            tokens = {t for t in tokens if len(t) >= MIN_TOKEN_LEN}
            if tokens:
                alternation = b"|".join(re.escape(t.encode()) for t in sorted(tokens, key=len, reverse=True))
                self._pattern = re.compile(alternation, re.IGNORECASE)
        return self._pattern


class SuppressionReader:
    """Reads privacy.suppressions from the beginning (no consumer group) into a :class:`SuppressionList`."""

    def __init__(
        self,
        kafka: KafkaOptions,
        topic: str,
        codec: Codec,
        suppressions: SuppressionList | None = None,
        consumer: Any = None,
    ) -> None:
        self.topic, self.codec = topic, codec
        self.suppressions = suppressions if suppressions is not None else SuppressionList()
        self.consumer = consumer or Consumer(
            {
                **kafka,
                "group.id": "omnijourney-suppressions-reader",  # required by librdkafka; never committed
                "enable.auto.commit": False,
                "enable.partition.eof": False,
            }
        )
        self.ready = threading.Event()
        self._assigned = False

    def _assign(self, timeout: float) -> dict[int, int]:
        """Assign every partition from the start; returns each partition's end offset now."""
        metadata = self.consumer.list_topics(self.topic, timeout=timeout)
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None or not topic.partitions:
            raise OmnijourneyError(f"topic {self.topic} does not exist; run `omnijourney topics`")
        ends = {
            p: self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=timeout)[1]
            for p in topic.partitions
        }
        if not self._assigned:
            self.consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in topic.partitions])
            self._assigned = True
        return ends

    def load(self, timeout: float = 60.0) -> list[Suppression]:
        """Read up to the end offsets seen now (everything published before the call); returns the records."""
        ends = self._assign(timeout)
        records: list[Suppression] = []
        deadline = time.monotonic() + timeout
        while True:
            positions = {
                tp.partition: tp.offset
                for tp in self.consumer.position([TopicPartition(self.topic, p) for p in ends])
            }
            if all(ends[p] == 0 or positions.get(p, -1) >= ends[p] for p in ends):
                break
            if time.monotonic() > deadline:
                raise OmnijourneyError(f"timed out reading {self.topic} to its end")
            records += self.poll(timeout=0.5)
        self.ready.set()
        return records

    def poll(self, timeout: float = 0.0, max_records: int = 500) -> list[Suppression]:
        """Whatever arrived (without blocking by default); new records are added to the list."""
        out = []
        for msg in self.consumer.consume(num_messages=max_records, timeout=timeout):
            if msg.error() is not None or msg.value() is None:
                continue  # a tombstone (lifted suppression) is not supported: erasures are final
            try:
                record = Suppression.from_avro(self.codec.decode(msg.value()).record)
            except (OmnijourneyError, ValueError) as exc:
                log.warning(
                    "unreadable suppression record at %s[%s]@%s: %s",
                    msg.topic(),
                    msg.partition(),
                    msg.offset(),
                    exc,
                )
                continue
            self.suppressions.add(record)
            out.append(record)
        return out

    def follow(self, on_records: Callable[[list[Suppression]], None] | None = None) -> threading.Thread:
        """Load, then keep reading in a daemon thread (for workers; the sink polls in its own loop)."""

        def run() -> None:
            while True:
                try:
                    if self.ready.is_set() and self._assigned:
                        records = self.poll(timeout=0.5)
                    else:
                        records = self.load()
                    if records and on_records is not None:
                        on_records(records)
                except OmnijourneyError as exc:
                    if not self._assigned:  # no topic, so nothing was ever suppressed: go on, look again
                        self.ready.set()
                    log.warning("reading suppressions: %s; retrying", exc)
                    time.sleep(5.0)
                except KafkaException as exc:
                    log.warning("reading suppressions: %s; retrying", exc)
                    time.sleep(1.0)

        thread = threading.Thread(target=run, name="suppressions", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.consumer.close()
