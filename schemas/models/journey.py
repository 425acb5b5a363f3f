"""A customer journey on the journeys topic, as pydantic (see ``schemas/journey.avsc``)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar, Self

from pydantic import Field, model_validator

from schemas.models.base import AvroModel, Int32, UtcMillis
from schemas.models.touchpoint import Channel

AVRO_NAME = "io.omnijourney.Journey"


class JourneyStatus(StrEnum):
    OPEN = "open"
    PURCHASE = "purchase"
    PICKUP = "pickup"
    RESOLUTION = "resolution"
    ABANDONED = "abandoned"
    MERGED = "merged"
    OTHER = "other"


class JourneyStage(StrEnum):
    AWARENESS = "awareness"
    CONSIDERATION = "consideration"
    INTENT = "intent"
    CONVERSION = "conversion"
    SERVICE = "service"
    OTHER = "other"


class Journey(AvroModel):
    """One version of one journey; the sink keeps the highest ``version`` per ``journey_id``."""

    AVRO_NAME: ClassVar[str] = AVRO_NAME

    journey_id: str = Field(min_length=1)
    person_id: str = Field(min_length=1)
    version: int = Field(ge=0)
    started_at: UtcMillis
    updated_at: UtcMillis
    ended_at: UtcMillis | None = None
    status: JourneyStatus
    stage: JourneyStage
    channel_path: list[Channel] = Field(default_factory=list)
    first_touch_channel: Channel
    last_touch_channel: Channel
    channel_switches: Int32 = Field(default=0, ge=0)
    touch_count: Int32 = Field(default=0, ge=0)
    time_to_outcome_ms: int | None = Field(default=None, ge=0)
    first_event_id: uuid.UUID | None = None
    last_event_id: uuid.UUID | None = None
    order_ids: list[str] = Field(default_factory=list)
    reservation_ids: list[str] = Field(default_factory=list)
    case_ids: list[str] = Field(default_factory=list)
    campaign_ids: list[str] = Field(default_factory=list)
    store_ids: list[str] = Field(default_factory=list)
    amount_cents: int | None = None
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    merged_into_journey_id: str | None = None

    @model_validator(mode="after")
    def _times_in_order(self) -> Self:
        """A journey cannot end before it started; catching it here names the stage's bug early."""
        if self.updated_at < self.started_at:
            raise ValueError("updated_at is before started_at")
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self
