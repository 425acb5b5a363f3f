"""Plain configuration of the producer SDK.

The SDK never reads the environment or the settings object itself: ``streams`` (the composition
root) or a channel team's own application builds a :class:`ProducerConfig` from whatever settings
it has and hands it down. That keeps the SDK installable and testable without the stream
processors, and keeps the HMAC secret out of any global state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.errors import ConfigError

COMPRESSION_TYPES = frozenset({"none", "gzip", "snappy", "lz4", "zstd"})

# Options the SDK owns: overriding them through ``extra`` would silently break a guarantee
# (exactly-once-per-partition ordering, or failures that are never dropped).
_GUARANTEED = {"enable.idempotence": True, "acks": "all"}


@dataclass(frozen=True)
class ProducerConfig:
    """Everything a :class:`producers.sdk.TouchpointProducer` needs, as plain values.

    ``pii_key`` is the HMAC secret shared by every producer of one deployment: the same email must
    hash to the same value on every channel, or identities never stitch. ``default_country_code``
    is the calling code (digits only, e.g. ``"39"``) given to phone numbers written without one.
    ``extra`` holds further librdkafka options (SASL, SSL, ...), passed through verbatim.
    ``native_writer`` lets the SDK check and encode events in C when that writer is built
    (:mod:`producers.native_plan`); off, it uses its Python fast path. Both write the same bytes.
    """

    brokers: str
    pii_key: bytes = field(repr=False)
    client_id: str = "omnijourney-producer"
    default_country_code: str = "39"
    topic_prefix: str = "touchpoints"
    compression: str = "zstd"
    linger_ms: int = 20
    batch_size: int = 1_000_000
    batch_num_messages: int = 10_000
    queue_max_messages: int = 200_000
    delivery_timeout_ms: int = 120_000
    native_writer: bool = True
    extra: dict[str, Any] = field(default_factory=dict, repr=False)  # may hold SASL passwords

    def __post_init__(self) -> None:
        """Reject settings that would only fail later, deep inside librdkafka or at the first event."""
        if not self.brokers.strip():
            raise ConfigError("producer brokers are empty; expected host:port[,host:port...]")
        for broker in self.brokers.split(","):
            host, sep, port = broker.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ConfigError(f"producer broker {broker.strip()!r} is not host:port")
        if len(self.pii_key) < 16:
            raise ConfigError("pii_key must be at least 16 bytes; a short HMAC key makes hashes guessable")
        if not self.default_country_code.isdigit() or not 1 <= len(self.default_country_code) <= 3:
            raise ConfigError(
                f"default_country_code {self.default_country_code!r} is not a calling code (1-3 digits)"
            )
        if not self.topic_prefix or self.topic_prefix.endswith("."):
            raise ConfigError(f"topic_prefix {self.topic_prefix!r} must be non-empty and not end with '.'")
        if self.compression not in COMPRESSION_TYPES:
            raise ConfigError(f"compression {self.compression!r} is not one of {sorted(COMPRESSION_TYPES)}")
        for name in ("linger_ms", "batch_size", "batch_num_messages", "queue_max_messages"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative")
        if self.delivery_timeout_ms <= 0:
            raise ConfigError("delivery_timeout_ms must be positive")
        for key, value in _GUARANTEED.items():
            if key in self.extra and str(self.extra[key]).lower() != str(value).lower():
                raise ConfigError(f"{key} is fixed to {value} by the SDK and cannot be overridden")

    def librdkafka(self) -> dict[str, Any]:
        """The confluent-kafka Producer configuration these values stand for.

        ``murmur2_random`` is the Java client's partitioner, so a key lands on the same partition
        whichever language produced it. ``delivery.report.only.error`` keeps successful deliveries
        off the Python thread entirely; success is counted from what is no longer in flight.
        """
        options: dict[str, Any] = {
            "bootstrap.servers": self.brokers,
            "client.id": self.client_id,
            "compression.type": self.compression,
            "linger.ms": self.linger_ms,
            "batch.size": self.batch_size,
            "batch.num.messages": self.batch_num_messages,
            "queue.buffering.max.messages": self.queue_max_messages,
            "delivery.timeout.ms": self.delivery_timeout_ms,
            "partitioner": "murmur2_random",
            "delivery.report.only.error": True,
        }
        options.update(self.extra)
        options.update(_GUARANTEED)
        return options
