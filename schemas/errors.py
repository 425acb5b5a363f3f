"""The one exception family of omnijourney.

Every error the pipeline raises on purpose is an :class:`OmnijourneyError`, so callers can catch one
type, and every error knows where it happened: the Kafka topic, partition and offset of the record
that caused it when there is one. Dead-letter records are built from exactly these fields, which is
why they live on the exception rather than in the message text.

It lives in ``schemas`` because that package depends on nothing of ours, and producers, streams and
sinks all depend on it.
"""

from __future__ import annotations


class OmnijourneyError(Exception):
    """Base of every deliberate omnijourney error; carries where the offending record came from."""

    def __init__(
        self,
        message: str,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.topic = topic
        self.partition = partition
        self.offset = offset

    def at(self, topic: str | None, partition: int | None, offset: int | None) -> OmnijourneyError:
        """Attach the record's position once the caller knows it (decoders do not)."""
        self.topic, self.partition, self.offset = topic, partition, offset
        return self

    @property
    def where(self) -> str:
        """``topic[partition]@offset`` or an empty string when the error has no record."""
        if self.topic is None:
            return ""
        return f"{self.topic}[{self.partition}]@{self.offset}"

    def __str__(self) -> str:
        return f"{self.message} ({self.where})" if self.topic is not None else self.message


class ConfigError(OmnijourneyError):
    """A setting is missing or malformed; the message is one line an operator can act on."""


class SchemaError(OmnijourneyError):
    """An Avro schema cannot be loaded, or a change to it would break old readers or data."""


class DecodeError(OmnijourneyError):
    """Bytes on a topic are not a record we can read (bad framing, unknown schema, truncated Avro)."""


class UnknownSchemaError(DecodeError):
    """The writer schema's fingerprint or registry id is not one we know."""


class InvalidEventError(OmnijourneyError):
    """A record decoded but its values break the contract (e.g. no usable identifier, naive time).

    ``field`` names the offending field so the producer or the dead-letter reason can point at it.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message, topic=topic, partition=partition, offset=offset)
        self.field = field


class DeliveryError(OmnijourneyError):
    """Kafka did not acknowledge a record; the producer never drops such a failure silently."""


class StoreError(OmnijourneyError):
    """ClickHouse refused or could not be reached; ``code`` is the server's error code when known."""

    def __init__(self, message: str, *, code: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
