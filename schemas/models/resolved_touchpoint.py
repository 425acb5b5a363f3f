"""A touchpoint after identity resolution, as pydantic (see ``schemas/resolved_touchpoint.avsc``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from schemas.models.base import AvroModel, Int32, UtcMillis
from schemas.models.touchpoint import Touchpoint

AVRO_NAME = "io.omnijourney.ResolvedTouchpoint"


class ResolvedTouchpoint(AvroModel):
    """A touchpoint with the person it belongs to and the position it was read from.

    The source position travels with the record so the journey stage and the sink can recognise a
    replayed input without keeping their own bookkeeping.
    """

    AVRO_NAME: ClassVar[str] = AVRO_NAME

    person_id: str = Field(min_length=1)
    resolved_at: UtcMillis
    source_topic: str = Field(min_length=1)
    source_partition: Int32 = Field(ge=0)
    source_offset: int = Field(ge=0)
    touchpoint: Touchpoint
