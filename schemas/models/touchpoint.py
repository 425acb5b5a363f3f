"""The touchpoint, as pydantic: what a channel team's event must look like before it is sent."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from schemas.models.base import AvroModel, AvroRecord, UtcMillis

AVRO_NAME = "io.omnijourney.Touchpoint"


class Channel(StrEnum):
    WEB = "web"
    APP = "app"
    ADS = "ads"
    SOCIAL = "social"
    EMAIL = "email"
    CHAT = "chat"
    CALL_CENTER = "call_center"
    STORE = "store"
    POS = "pos"
    OTHER = "other"


class EventType(StrEnum):
    PAGE_VIEW = "page_view"
    SEARCH = "search"
    PRODUCT_VIEW = "product_view"
    LOGIN = "login"
    AD_IMPRESSION = "ad_impression"
    AD_CLICK = "ad_click"
    SOCIAL_ENGAGEMENT = "social_engagement"
    EMAIL_SENT = "email_sent"
    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"
    CHAT_STARTED = "chat_started"
    CHAT_MESSAGE = "chat_message"
    CHAT_ENDED = "chat_ended"
    CALL_STARTED = "call_started"
    CALL_ENDED = "call_ended"
    CASE_OPENED = "case_opened"
    CASE_RESOLVED = "case_resolved"
    STOCK_CHECK = "stock_check"
    CART_ADD = "cart_add"
    CART_ABANDONED = "cart_abandoned"
    RESERVATION_CREATED = "reservation_created"
    RESERVATION_PICKED_UP = "reservation_picked_up"
    RESERVATION_CANCELLED = "reservation_cancelled"
    RESERVATION_EXPIRED = "reservation_expired"
    STORE_VISIT = "store_visit"
    PURCHASE = "purchase"
    RETURN_REQUESTED = "return_requested"
    RETURN_COMPLETED = "return_completed"
    CONSENT_UPDATED = "consent_updated"
    OTHER = "other"


class IdentifierType(StrEnum):
    """Identifier kinds on the wire. Email and phone only ever travel hashed."""

    COOKIE = "cookie"
    DEVICE = "device"
    HASHED_EMAIL = "hashed_email"
    HASHED_PHONE = "hashed_phone"
    LOYALTY_ID = "loyalty_id"
    CUSTOMER_ID = "customer_id"
    CRM_ID = "crm_id"
    AD_ID = "ad_id"
    OTHER = "other"


class Identifier(AvroRecord):
    type: IdentifierType
    value: str = Field(min_length=1, max_length=512)


class Context(AvroRecord):
    store_id: str | None = None
    agent_id: str | None = None
    campaign_id: str | None = None
    url: str | None = None
    purchasable: bool | None = None
    product_ids: list[str] = Field(default_factory=list)
    order_id: str | None = None
    reservation_id: str | None = None
    amount_cents: int | None = None
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    summary: str | None = Field(default=None, max_length=4000)


class Consent(AvroRecord):
    analytics: bool | None = None
    marketing: bool | None = None
    personalization: bool | None = None


class Touchpoint(AvroModel):
    """One interaction of one customer with one channel (see ``schemas/touchpoint.avsc``).

    ``event_time`` must be timezone-aware; it is converted to UTC and cut to the millisecond, the
    precision of the wire format, so a decoded event equals the one that was sent.
    """

    AVRO_NAME: ClassVar[str] = AVRO_NAME

    event_id: uuid.UUID
    event_time: UtcMillis
    channel: Channel
    event_type: EventType
    identifiers: list[Identifier] = Field(min_length=1, max_length=64)
    source: str = ""
    session_id: str | None = None
    conversation_id: str | None = None
    case_id: str | None = None
    context: Context = Field(default_factory=Context)
    consent: Consent | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
