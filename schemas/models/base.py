"""What every pydantic mirror of an Avro record shares: strictness, UTC times, the Avro dict form.

The ``.avsc`` files are the contract; these models exist so producers and stages get field-level
validation errors *before* bytes hit Kafka. Keeping the conversion rules here (UUID as text, enums as
their symbols, times in UTC at millisecond precision) means every model round-trips through the wire
format to an equal model, which the tests check for each schema.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

STRICT = ConfigDict(extra="forbid", frozen=True)


def to_utc_millis(value: dt.datetime) -> dt.datetime:
    """Convert an aware time to UTC and cut it to the millisecond, the precision of timestamp-millis.

    An aware time in another zone is converted, not rejected; without the truncation a decoded
    record would differ from the one sent by its microseconds.
    """
    utc = value.astimezone(dt.UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


UtcMillis = Annotated[AwareDatetime, AfterValidator(to_utc_millis)]
"""An Avro ``timestamp-millis``: timezone-aware on input (naive times are refused), UTC, ms precision."""

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
"""An Avro ``int``: refused here, with the field name, rather than by the encoder."""


def avro_value(value: Any) -> Any:
    """A dumped python value as fastavro writes it: UUIDs as text, enums as their symbol strings."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {key: avro_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [avro_value(item) for item in value]
    return value


class AvroRecord(BaseModel):
    """A record nested in an Avro schema: strict (unknown fields refused) and immutable."""

    model_config = STRICT


class AvroModel(AvroRecord):
    """A top-level Avro record: knows its schema's full name and converts to and from fastavro dicts."""

    AVRO_NAME: ClassVar[str]

    def to_avro(self) -> dict[str, Any]:
        """The record as ``Codec.encode`` takes it."""
        record: dict[str, Any] = avro_value(self.model_dump(mode="python"))
        return record

    @classmethod
    def from_avro(cls, record: dict[str, Any]) -> Self:
        """Validate a decoded record (``Decoded.record``) into the model."""
        return cls.model_validate(record)
