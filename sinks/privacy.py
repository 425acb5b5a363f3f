"""The sink's side of GDPR erasure: never write a suppressed person's rows, and erase the stored ones.

Two duties, both run on the sink's consumer thread so they are ordered with its writes:

- :meth:`SinkPrivacy.screen` drops consumed records of suppressed persons or identifiers before
  they are batched (still in flight when the erasure came, or replayed later). Their offsets stay
  in the batch, so they are committed like any other record: a suppressed record is not a dead
  letter, it is simply not stored. Records keyed by a suppressed person id are dropped on the key
  alone; others are screened on their raw bytes and decoded only when the bytes hold a suppressed
  value.
- :meth:`SinkPrivacy.apply` erases the stored rows of every erasure not yet in the ``erasures``
  ledger (see :mod:`sinks.erasure`), after the runner has written everything it consumed before
  the suppression arrived, and records what it removed in the ledger.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

from schemas.codec import Codec
from schemas.errors import OmnijourneyError
from schemas.models.suppression import Suppression, SuppressionSubject
from schemas.topics import KafkaOptions, TopicNames
from sinks import erasure
from sinks.batch import Batch, Message
from sinks.suppressions import SuppressionList, SuppressionReader

log = logging.getLogger(__name__)
RETRY_S = 10.0
ERASURE_RULE = b"erasure_request"  # the rule of an erasure's identity change (streams.privacy.web)


class SinkPrivacy:
    """Suppression screening and erasure for one sink (``reader`` may be injected by tests)."""

    def __init__(
        self, kafka: KafkaOptions, topics: TopicNames, codec: Codec, reader: SuppressionReader | None = None
    ) -> None:
        self.codec, self.topics = codec, topics
        self.reader = reader or SuppressionReader(kafka, topics.suppressions, codec)
        self.list: SuppressionList = self.reader.suppressions
        self.pending: dict[uuid.UUID, dict[str, Suppression]] = {}
        self.dropped = 0
        self.loaded = False
        self._retry_at = 0.0
        self._keyed_by_person = {
            topics.resolved,
            topics.identity_changes,
            topics.journeys,
            topics.sessions,
            topics.alerts,
        }

    # -- suppression list ------------------------------------------------------------------------

    def start(self) -> None:
        """Read the whole list before the first record is screened (retried while the topic is missing)."""
        try:
            self._queue(self.reader.load())
        except OmnijourneyError as exc:
            # Fail open with a warning, not a stalled sink: the topic appears with `omnijourney topics`.
            log.warning("suppressions not enforced yet: %s", exc)
            self._retry_at = time.monotonic() + RETRY_S
            return
        self.loaded = True
        if self.list:
            log.info("suppressions loaded: %d subjects", len(self.list))

    def poll(self) -> None:
        if not self.loaded:
            if time.monotonic() >= self._retry_at:
                self.start()
            return
        self._queue(self.reader.poll())

    def _queue(self, records: Iterable[Suppression]) -> None:
        for record in records:
            self.pending.setdefault(record.erasure_id, {})[record.key] = record

    # -- screening -------------------------------------------------------------------------------

    def screen(self, batch: Batch, messages: list[Any]) -> list[Any]:
        """The messages to store; the others are noted in ``batch`` (committed, not written).

        An erasure's own ``identity.changes`` records (kind ``erasure``) are never stored: they
        tell the journey stage to delete a person, and the ``erasures`` ledger is the record of
        the erasure. Usually their person is suppressed already, but this consumer can read them
        before the suppressions reader has caught up.
        """
        persons, pattern = self.list.persons, self.list.pattern()
        kept = []
        for msg in messages:
            if msg.error() is None and (
                self._erasure_marker(msg) or (self.list and self._suppressed(msg, persons, pattern))
            ):
                batch.note(str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0))
                self.dropped += 1
            else:
                kept.append(msg)
        return kept

    def _erasure_marker(self, msg: Message) -> bool:
        value = msg.value()
        if msg.topic() != self.topics.identity_changes or value is None or ERASURE_RULE not in value:
            return False  # the bytes alone rule out almost every record, without decoding
        try:
            return bool(self.codec.decode(value).record.get("kind") == "erasure")
        except OmnijourneyError:
            return False  # the router dead-letters it

    def _suppressed(self, msg: Message, persons: set[str], pattern: Any) -> bool:
        topic, key, value = msg.topic(), msg.key(), msg.value()
        if topic in self._keyed_by_person and key is not None and key.decode(errors="replace") in persons:
            return True
        if value is None or pattern is None or pattern.search(value) is None:
            return False
        if topic == self.topics.dead_letters:
            return True  # undecodable by definition; the bytes hold an erased value
        try:
            record = self.codec.decode(value).record
        except OmnijourneyError:
            return False  # the router dead-letters it (and the bytes check above then drops that)
        return self.holds(record)

    def holds(self, record: dict[str, Any]) -> bool:
        """Whether a decoded record names a suppressed person or carries a suppressed identifier."""
        people = [
            record.get("person_id"),
            record.get("survivor_person_id"),
            *record.get("related_person_ids", ()),
        ]
        if any(self.list.person(p) for p in people):
            return True
        identifiers = record.get("identifiers") or (record.get("touchpoint") or {}).get("identifiers") or ()
        return any(self.list.identifier(i["type"], i["value"]) for i in identifiers)

    # -- erasure ---------------------------------------------------------------------------------

    def apply(self, client: Any) -> list[dict[str, Any]]:
        """Erase the rows of every pending erasure and record each in the ledger; returns the ledger rows.

        Raises what the store raises (the runner turns it into a retry); an erasure stays pending
        until its ledger row is written.
        """
        done = []
        applied = self._applied(client)
        for erasure_id in list(self.pending):
            records = list(self.pending[erasure_id].values())
            if applied.get(str(erasure_id), 0) >= records[0].subjects:
                del self.pending[erasure_id]  # applied before (this is a restart): nothing to redo
                continue
            subjects = erasure.Subjects(
                persons=tuple(sorted(r.value for r in records if r.subject is SuppressionSubject.PERSON)),
                identifiers=tuple(
                    sorted(
                        f"{r.identifier_type}:{r.value}"
                        for r in records
                        if r.subject is SuppressionSubject.IDENTIFIER
                    )
                ),
            )
            removed = erasure.count(client, subjects)
            cleaned = erasure.delete(client, subjects)
            row = {
                "erasure_id": erasure_id,
                "applied_at": dt.datetime.now(dt.UTC),
                "subjects": len(records),
                "identifiers": len(subjects.identifiers),
                "persons": len(subjects.persons),
                "removed": removed,
                "cleanup": "DELETE, APPLY DELETED MASK, OPTIMIZE FINAL: " + ",".join(cleaned),
            }
            client.insert("erasures", [list(row.values())], column_names=list(row))
            del self.pending[erasure_id]
            log.info("erasure %s applied: %s rows removed", erasure_id, sum(removed.values()))
            done.append(row)
        return done

    @staticmethod
    def _applied(client: Any) -> dict[str, int]:
        """Erasure id -> suppression records already applied, from the ledger."""
        rows = client.query("SELECT toString(erasure_id), sum(subjects) FROM erasures GROUP BY erasure_id")
        return {str(row[0]): int(row[1]) for row in rows.result_rows}
