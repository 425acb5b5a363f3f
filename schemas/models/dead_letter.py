"""A record a stage could not decode or accept, as pydantic (see ``schemas/dead_letter.avsc``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from schemas.models.base import AvroModel, Int32, UtcMillis

AVRO_NAME = "io.omnijourney.DeadLetter"


class DeadLetter(AvroModel):
    """The failed input kept whole with why it failed and where it came from.

    The position fields mirror :class:`schemas.errors.OmnijourneyError`'s topic/partition/offset, so
    a dead letter is built straight from the exception that rejected the record.
    """

    AVRO_NAME: ClassVar[str] = AVRO_NAME

    failed_at: UtcMillis
    stage: str = Field(min_length=1)
    error_type: str = Field(min_length=1)
    reason: str
    field: str | None = None
    source_topic: str
    source_partition: Int32
    source_offset: int
    key: bytes | None = None
    payload: bytes | None = None
    payload_size: int = Field(default=0, ge=0)
