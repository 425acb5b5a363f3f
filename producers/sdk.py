"""The channel producer SDK: validated, PII-hashed Avro touchpoints onto ``<prefix>.<channel>``.

A channel application creates one :class:`TouchpointProducer` and calls :meth:`send` for each
event. Raw emails and phone numbers are hashed before anything leaves the process; an invalid
event raises :class:`InvalidEventError` naming the field and nothing is sent; a record Kafka does
not acknowledge raises :class:`UndeliveredError` (a :class:`DeliveryError`) from the next call.

Kafka settings favour never losing or duplicating an event over latency: idempotence with
``acks=all``, and a short linger so records travel in compressed batches.

One producer is meant to be used from one thread: the counters and the failure list are not
locked. Use one producer per thread (librdkafka itself is thread-safe).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from time import monotonic
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaException, Producer

from producers.config import ProducerConfig
from producers.delivery import DeliveryLedger, ProducerStats, UndeliveredError
from producers.fused import FALLBACK_ERRORS
from producers.prepare import EventPreparer, Prepared
from schemas.codec import Codec
from schemas.errors import ConfigError, DeliveryError, InvalidEventError
from schemas.models import Touchpoint

Event = Touchpoint | Mapping[str, Any]

# Failure reports reach Python only through poll(); polling on a clock rather than a count
# surfaces a failure within a tenth of a second at any send rate, for ~50 ns per send.
_POLL_INTERVAL_S = 0.1
_QUEUE_FULL_WAIT_S = 0.05


class TouchpointProducer:
    """Validates, hashes, encodes and sends touchpoints; surfaces every failed delivery."""

    def __init__(self, config: ProducerConfig, codec: Codec | None = None) -> None:
        self.config = config
        self._preparer = EventPreparer(config, codec)
        # Bound once: the hot path below is a handful of calls per event.
        self._fast = self._preparer.fast
        self._slow = self._preparer.slow
        self._ledger = DeliveryLedger()
        self._pending = self._ledger.pending  # the ledger's own list, cleared in place
        options = config.librdkafka()
        options["on_delivery"] = self._ledger.on_delivery
        options["error_cb"] = self._ledger.on_error
        try:
            self._producer = Producer(options)
        except KafkaException as exc:  # e.g. an unknown option in ``extra``
            raise ConfigError(f"librdkafka refused the producer configuration: {exc.args[0].str()}") from None
        self._produce_now = self._producer.produce
        self._sent = 0
        self._queue_full_waits = 0
        self._poll_due = 0.0
        self._closed = False

    # -- sending ------------------------------------------------------------------------------

    def send(self, event: Event) -> None:
        """Validate, hash and queue one event for its channel's topic.

        Raises :class:`InvalidEventError` (nothing sent) or, before sending this event,
        :class:`UndeliveredError` for earlier records that failed.
        """
        if self._pending or self._closed:
            self._check_open_and_healthy()
        try:
            topic, key, value = self._fast(event)
        except FALLBACK_ERRORS:  # input the fast path does not vouch for: the slow path decides
            topic, key, value = self._slow(event)
        # ``_produce`` inlined: this is the per-event path.
        try:
            self._produce_now(topic, value, key)
        except BufferError:
            self._produce_when_room(topic, key, value)
        except KafkaException as exc:
            raise self._rejected(topic, exc) from None
        self._sent += 1
        now = monotonic()
        if now >= self._poll_due:
            self._serve(now)

    def send_many(self, events: Iterable[Event]) -> int:
        """Send events in order; returns how many were sent.

        If one is invalid, the ones before it have been sent and none after it: the
        :class:`InvalidEventError` says which (``event 17: identifiers.0.value: ...``).
        The same work as :meth:`send` per event, minus a method call and most clock reads.
        """
        if self._pending or self._closed:
            self._check_open_and_healthy()
        fast, slow, produce = self._fast, self._slow, self._produce_now
        count = 0
        try:
            for event in events:
                try:
                    topic, key, value = fast(event)
                except FALLBACK_ERRORS:
                    try:
                        topic, key, value = slow(event)
                    except InvalidEventError as exc:
                        raise InvalidEventError(f"event {count}: {exc.message}", field=exc.field) from None
                try:
                    produce(topic, value, key)
                except BufferError:
                    self._produce_when_room(topic, key, value)
                except KafkaException as exc:
                    raise self._rejected(topic, exc) from None
                count += 1
                if not count & 63:
                    now = monotonic()
                    if now >= self._poll_due:
                        self._serve(now)
        finally:
            self._sent += count
        return count

    def send_raw(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Queue pre-encoded (or deliberately invalid) bytes with the same delivery accounting.

        For tools: the simulator's poison events and the benchmarks. No validation, no hashing.
        """
        if self._pending or self._closed:
            self._check_open_and_healthy()
        self._produce(topic, key, value)

    def prepare(self, event: Event) -> Prepared:
        """Topic, key and encoded bytes :meth:`send` would produce for ``event``; nothing is sent."""
        return self._preparer.prepare(event)

    def to_touchpoint(self, event: Event) -> Touchpoint:
        """The touchpoint the wire carries for ``event`` (PII hashed): for tests and ground truth."""
        return self._preparer.touchpoint(event)

    def _produce(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        try:
            self._produce_now(topic, value, key)
        except BufferError:
            self._produce_when_room(topic, key, value)
        except KafkaException as exc:
            raise self._rejected(topic, exc) from None
        self._sent += 1
        now = monotonic()
        if now >= self._poll_due:
            self._serve(now)

    def _serve(self, now: float) -> None:
        """Serve librdkafka's reports (failures reach Python only this way), at most every 0.1 s."""
        self._poll_due = now + _POLL_INTERVAL_S
        self._producer.poll(0)

    def _rejected(self, topic: str, exc: KafkaException) -> UndeliveredError:
        """A record ``produce()`` refused outright, e.g. larger than ``message.max.bytes``."""
        error = exc.args[0]
        return self._ledger.reject(topic, error.str(), error.name())

    def _produce_when_room(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """The local queue is full: serve deliveries until there is room; never drop the record."""
        while True:
            self._queue_full_waits += 1
            self._producer.poll(_QUEUE_FULL_WAIT_S)
            self._ledger.raise_pending(" while waiting for room in the send queue")
            try:
                self._produce_now(topic, value, key)
                return
            except BufferError:
                continue
            except KafkaException as exc:
                raise self._rejected(topic, exc) from None

    def _check_open_and_healthy(self) -> None:
        if self._closed:
            raise DeliveryError("the producer is closed")
        self._ledger.raise_pending()

    # -- completion ---------------------------------------------------------------------------

    def flush(self, timeout: float = 30.0) -> int:
        """Wait up to ``timeout`` s for queued records; returns how many are still in flight.

        Raises :class:`UndeliveredError` if any record failed (those in flight may still succeed).
        """
        remaining: int = self._producer.flush(timeout)
        self._ledger.raise_pending()
        return remaining

    def close(self, timeout: float = 30.0) -> None:
        """Flush, then stop. Raises :class:`UndeliveredError` if anything was not delivered.

        Records still in flight after ``timeout`` are purged and reported as failed, so a
        closed producer has accounted for every record it accepted.
        """
        if self._closed:
            return
        self._closed = True
        try:
            remaining = self._producer.flush(timeout)
            if remaining:
                self._producer.purge()
                self._producer.flush(0)  # serves the purged records' failure reports
            self._ledger.raise_pending(f" by close() after {timeout:g}s" if remaining else "")
            if remaining:  # purge reported nothing: still say so rather than return quietly
                raise DeliveryError(f"{remaining} records still in flight after {timeout:g}s were purged")
        finally:
            self._producer.close()

    def __enter__(self) -> TouchpointProducer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close()
            return
        try:  # do not hide the error that ended the block behind a delivery error
            self.close()
        except DeliveryError as failure:
            exc.add_note(str(failure))

    # -- counters -----------------------------------------------------------------------------

    def stats(self) -> ProducerStats:
        """Counters; ``delivered`` is exact once nothing is in flight (after :meth:`flush`).

        In flight is librdkafka's queue length after serving pending reports, which also counts
        protocol requests under way: while sending, ``delivered`` errs on the low side.
        """
        if not self._closed:
            self._producer.poll(0)
        in_flight = len(self._producer)
        failed_reports = self._ledger.failed_reports
        return ProducerStats(
            sent=self._sent,
            delivered=max(0, self._sent - failed_reports - in_flight),
            failed=failed_reports + self._ledger.rejected,
            in_flight=in_flight,
            queue_full_waits=self._queue_full_waits,
        )

    @property
    def sent(self) -> int:
        return self._sent

    @property
    def delivered(self) -> int:
        return self.stats().delivered

    @property
    def failed(self) -> int:
        return self.stats().failed
