"""A per-channel session of one customer, as pydantic (see ``schemas/session.avsc``)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Self

from pydantic import Field, model_validator

from schemas.models.base import AvroModel, Int32, UtcMillis
from schemas.models.touchpoint import Channel

AVRO_NAME = "io.omnijourney.Session"


class Session(AvroModel):
    """One version of one session; the sink keeps the highest ``version`` per ``session_id``."""

    AVRO_NAME: ClassVar[str] = AVRO_NAME

    session_id: str = Field(min_length=1)
    person_id: str = Field(min_length=1)
    channel: Channel
    started_at: UtcMillis
    ended_at: UtcMillis
    event_count: Int32 = Field(ge=1)
    version: int = Field(ge=0)
    closed: bool = False
    journey_id: str | None = None
    channel_session_id: str | None = None
    store_id: str | None = None
    first_event_id: uuid.UUID | None = None
    last_event_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        """A session's end is its latest event; earlier than its first means the stage mixed them up."""
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self
