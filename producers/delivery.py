"""Delivery accounting: every record Kafka does not acknowledge is counted and raised, never dropped.

librdkafka reports deliveries asynchronously, from ``poll()``/``flush()``. The producer is
configured to report only failures (``delivery.report.only.error``), so successful records cost
the Python thread nothing after ``produce()``; they are counted as whatever was sent, did not
fail and is no longer in flight. Failures are kept here until the producer's next call raises
them as one :class:`UndeliveredError`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError

from schemas.errors import DeliveryError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryFailure:
    """One record Kafka did not take: where it was going and librdkafka's reason."""

    topic: str | None
    partition: int | None
    offset: int | None
    reason: str
    code: str


class UndeliveredError(DeliveryError):
    """Records were not delivered; ``failures`` lists each one (topic, partition, reason).

    The topic, partition and offset of the error itself are those of the first failure.
    """

    def __init__(self, failures: tuple[DeliveryFailure, ...], detail: str = "") -> None:
        first = failures[0]
        count = f"{len(failures)} record{'s' if len(failures) != 1 else ''}"
        super().__init__(
            f"{count} not delivered{detail}; first: {first.code}: {first.reason}",
            topic=first.topic,
            partition=first.partition,
            offset=first.offset,
        )
        self.failures = failures


@dataclass(frozen=True)
class ProducerStats:
    """Counters of one producer. ``delivered`` is exact once nothing is in flight (after flush)."""

    sent: int
    delivered: int
    failed: int
    in_flight: int
    queue_full_waits: int


def _position(value: int | None) -> int | None:
    """librdkafka marks unknown partitions and offsets with negative numbers."""
    return value if value is not None and value >= 0 else None


class DeliveryLedger:
    """Collects failures from librdkafka callbacks until the producer raises them."""

    def __init__(self) -> None:
        self.pending: list[DeliveryFailure] = []
        self.failed_reports = 0  # failures of records that produce() had accepted
        self.rejected = 0  # records produce() refused outright
        self.auth_failed = False  # the broker refused the credentials (reported once)

    def on_delivery(self, err: Any, msg: Any) -> None:
        """librdkafka delivery report (configured to fire for failures only)."""
        if err is None:
            return
        self.failed_reports += 1
        self.pending.append(
            DeliveryFailure(
                topic=msg.topic(),
                partition=_position(msg.partition()),
                offset=_position(msg.offset()),
                reason=err.str(),
                code=err.name(),
            )
        )

    def on_error(self, err: Any) -> None:
        """Client-level errors: fatal ones stop the producer, the rest librdkafka retries itself.

        A refused login is retried too, but retrying never fixes a wrong password: it is raised
        (once) with the broker's words, instead of surfacing minutes later as records that timed
        out for no stated reason.
        """
        if err.fatal():
            reason = f"fatal producer error: {err.str()}"
            self.pending.append(DeliveryFailure(None, None, None, reason, err.name()))
        elif err.code() == KafkaError._AUTHENTICATION:
            if not self.auth_failed:
                self.auth_failed = True
                reason = f"the broker refused the credentials: {err.str()}"
                self.pending.append(DeliveryFailure(None, None, None, reason, err.name()))
        else:
            log.warning("kafka producer: %s", err.str())

    def reject(self, topic: str, reason: str, code: str) -> UndeliveredError:
        """A record ``produce()`` refused; returned so the caller raises it at once."""
        self.rejected += 1
        return UndeliveredError((DeliveryFailure(topic, None, None, reason, code),))

    def raise_pending(self, detail: str = "") -> None:
        """Raise the failures collected so far (and forget them: each is raised once)."""
        if self.pending:
            failures = tuple(self.pending)
            self.pending.clear()
            raise UndeliveredError(failures, detail)
