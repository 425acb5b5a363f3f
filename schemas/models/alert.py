"""A broken hand-off between channels, as pydantic (see ``schemas/alert.avsc``)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from schemas.models.base import AvroModel, UtcMillis
from schemas.models.touchpoint import Channel

AVRO_NAME = "io.omnijourney.Alert"


class AlertKind(StrEnum):
    RESERVATION_NOT_PICKED_UP = "reservation_not_picked_up"
    REPEAT_CONTACT_OTHER_CHANNEL = "repeat_contact_other_channel"
    CAMPAIGN_LANDING_NOT_PURCHASABLE = "campaign_landing_not_purchasable"
    RESERVATION_MISSING_AT_STORE = "reservation_missing_at_store"
    CHAT_CANNOT_SEE_STOCK = "chat_cannot_see_stock"
    OTHER = "other"


class Alert(AvroModel):
    """What the next person serving the customer should know went wrong, with the evidence."""

    AVRO_NAME: ClassVar[str] = AVRO_NAME

    alert_id: str = Field(min_length=1)
    kind: AlertKind
    person_id: str = Field(min_length=1)
    detected_at: UtcMillis
    event_time: UtcMillis
    channel: Channel
    previous_channel: Channel | None = None
    store_id: str | None = None
    case_id: str | None = None
    conversation_id: str | None = None
    reservation_id: str | None = None
    campaign_id: str | None = None
    url: str | None = None
    message: str = Field(min_length=1)
    evidence_event_ids: list[uuid.UUID] = Field(default_factory=list)
    retracted_by: str | None = None
