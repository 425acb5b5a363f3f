"""The SDK's input form of a touchpoint, and its validation.

A channel team hands the SDK what it knows, including raw emails and phone numbers: identifiers
may use the extra types ``email`` and ``phone``, which the SDK hashes into ``hashed_email`` and
``hashed_phone`` before anything leaves the process. Otherwise the fields, their types and their
limits mirror :class:`schemas.models.Touchpoint` (a unit test keeps the two in step).

The input is a ``TypedDict`` validated by a pydantic ``TypeAdapter`` rather than a ``BaseModel``:
validation produces a fresh plain dict that is hashed in place and encoded as is, with no model
objects built and dumped again on every event, which halves the cost of validation (one of
the two largest shares of the SDK's per-event work, with encoding). Absent optional fields stay
absent; the Avro defaults of the schema fill them when the event is encoded.
"""

# No ``from __future__ import annotations`` here: TypedDict must see ``NotRequired`` as a real
# object at class creation, or ``__required_keys__`` would claim every field is required.
import uuid
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired, cast

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from schemas.errors import InvalidEventError
from schemas.models import Channel, EventType


class InputIdentifierType(StrEnum):
    """Every wire identifier type, plus ``email`` and ``phone``, which only exist before hashing."""

    COOKIE = "cookie"
    DEVICE = "device"
    HASHED_EMAIL = "hashed_email"
    HASHED_PHONE = "hashed_phone"
    LOYALTY_ID = "loyalty_id"
    CUSTOMER_ID = "customer_id"
    CRM_ID = "crm_id"
    AD_ID = "ad_id"
    OTHER = "other"
    EMAIL = "email"
    PHONE = "phone"


if TYPE_CHECKING:
    ChannelValue = str
    EventTypeValue = str
    IdentifierTypeValue = str
else:
    # Literals of the enums' values rather than the enums: validation is a set lookup in Rust and
    # yields plain strings, which go straight to the Avro writer (about 1 us less per event than
    # enum members converted back with ``use_enum_values``).
    ChannelValue = Literal[tuple(c.value for c in Channel)]
    EventTypeValue = Literal[tuple(e.value for e in EventType)]
    IdentifierTypeValue = Literal[tuple(t.value for t in InputIdentifierType)]

_CONFIG = ConfigDict(extra="forbid")

# Canonical UUID text as one byte translation: lowercase hex digits become "x", "-" stays, every
# other byte becomes "?"; the text is canonical iff its UTF-8 bytes then read as the template.
# Cheaper than a regular expression, and shared with the fast path (``producers.fused``), which
# skips calling :func:`canonical_uuid` for text that passes it.
_UUID_TABLE = bytes(
    ord("x") if chr(i) in "0123456789abcdef" else i if chr(i) == "-" else ord("?") for i in range(256)
)
_UUID_TEMPLATE = b"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
CANONICAL_UUID_SHAPE = (_UUID_TABLE, _UUID_TEMPLATE)


def canonical_uuid(value: Any) -> str:
    """The UUID as its canonical text, as :class:`Touchpoint` accepts it (``UUID``, any text form).

    Kept as text: the wire carries text, and ``str(UUID)`` costs a microsecond per event.
    """
    if value.__class__ is str and value.isascii() and value.encode().translate(_UUID_TABLE) == _UUID_TEMPLATE:
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise ValueError("Input should be a valid UUID")


EventId = Annotated[str, PlainValidator(canonical_uuid)]


@with_config(_CONFIG)
class IdentifierInput(TypedDict):
    type: IdentifierTypeValue
    value: Annotated[str, Field(min_length=1, max_length=512)]


@with_config(_CONFIG)
class ContextInput(TypedDict, total=False):
    store_id: str | None
    agent_id: str | None
    campaign_id: str | None
    url: str | None
    purchasable: bool | None
    product_ids: list[str]
    order_id: str | None
    reservation_id: str | None
    amount_cents: Annotated[int, Field(ge=-(2**63), lt=2**63)] | None  # an Avro long
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None
    summary: Annotated[str, Field(max_length=4000)] | None


@with_config(_CONFIG)
class ConsentInput(TypedDict, total=False):
    analytics: bool | None
    marketing: bool | None
    personalization: bool | None


@with_config(_CONFIG)
class TouchpointInput(TypedDict):
    """A touchpoint as a channel application gives it to the SDK (see the module docstring)."""

    event_id: EventId
    event_time: AwareDatetime
    channel: ChannelValue
    event_type: EventTypeValue
    identifiers: Annotated[list[IdentifierInput], Field(min_length=1, max_length=64)]
    source: NotRequired[str]
    session_id: NotRequired[str | None]
    conversation_id: NotRequired[str | None]
    case_id: NotRequired[str | None]
    context: NotRequired[ContextInput]
    consent: NotRequired[ConsentInput | None]
    attributes: NotRequired[dict[str, str]]


_ADAPTER: TypeAdapter[TouchpointInput] = TypeAdapter(TouchpointInput)
# The Rust validator itself, minus TypeAdapter's Python wrapper: the SDK's hot path calls it
# directly and turns a ValidationError into InvalidEventError with :func:`invalid_event`.
validate_raw: Callable[[Any], dict[str, Any]] = _ADAPTER.validator.validate_python
# What ``validate_raw`` checks, as data: the SDK's one-pass fast path is generated from it.
INPUT_CORE_SCHEMA: Mapping[str, Any] = _ADAPTER.core_schema


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("identifiers", 0, "value")`` -> ``"identifiers.0.value"``, the form errors name fields in."""
    return ".".join(str(part) for part in loc) or "event"


def validate_input(event: Any) -> TouchpointInput:
    """A fresh, validated copy of ``event``; the caller's object is never modified.

    Raises :class:`InvalidEventError` whose ``field`` and message start with the path of the first
    offending field. Pydantic's messages describe the rule broken, never the value, so no raw
    PII ends up in the error.
    """
    try:
        return cast(TouchpointInput, validate_raw(event))
    except ValidationError as exc:
        # ``from None``: pydantic's own text quotes the input, which may be a raw email or phone.
        raise invalid_event(exc) from None


def invalid_event(exc: ValidationError) -> InvalidEventError:
    """The :class:`InvalidEventError` for a failed validation, naming the first offending field."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    first = field_path(errors[0]["loc"])
    more = f" (and {len(errors) - 1} more: {', '.join(field_path(e['loc']) for e in errors[1:4])})"
    message = f"{first}: {errors[0]['msg']}" + (more if len(errors) > 1 else "")
    return InvalidEventError(message, field=first)
