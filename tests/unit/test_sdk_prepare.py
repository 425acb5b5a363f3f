"""From SDK input to (topic, key, bytes), without a broker: validation, hashing, routing, no raw PII."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import typing
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from producers.config import ProducerConfig
from producers.inputs import ConsentInput, ContextInput, InputIdentifierType, TouchpointInput
from producers.prepare import EventPreparer
from schemas.codec import Codec
from schemas.errors import InvalidEventError
from schemas.models import Channel, Consent, Context, IdentifierType, Touchpoint
from tests.unit.sdk_events import event

KEY = b"unit-test-key-0123456789abcdef"
CODEC = Codec()
PREPARER = EventPreparer(ProducerConfig(brokers="127.0.0.1:19092", pii_key=KEY), CODEC)


def mac(normalised: str) -> str:
    """The expected token, computed from the contract rather than by the SDK."""
    return hmac.new(KEY, normalised.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"identifiers": [{"type": "cookie", "value": ""}]}, "identifiers.0.value"),
        ({"identifiers": []}, "identifiers"),
        (
            {"identifiers": [{"type": "cookie", "value": "c"}, {"type": "passport", "value": "X1"}]},
            "identifiers.1.type",
        ),
        (
            {"identifiers": [{"type": "cookie", "value": "c"}, {"type": "email", "value": "not-an-email"}]},
            "identifiers.1.value",
        ),
        ({"identifiers": [{"type": "phone", "value": "12"}]}, "identifiers.0.value"),
        ({"identifiers": [{"type": "hashed_email", "value": "abc"}]}, "identifiers.0.value"),
        ({"channel": "fax"}, "channel"),
        ({"event_type": "teleport"}, "event_type"),
        ({"event_time": dt.datetime(2025, 3, 1, 9, 30)}, "event_time"),  # noqa: DTZ001 - naive on purpose
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"context": {"currency": "EURO"}}, "context.currency"),
        ({"context": {"amount_cents": 2**63}}, "context.amount_cents"),
        ({"attributes": {"a": 1}}, "attributes.a"),
        ({"shoe_size": 42}, "shoe_size"),
    ],
)
def test_an_invalid_event_names_its_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        PREPARER.prepare(event(**overrides))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_missing_required_field_is_named() -> None:
    incomplete = event()
    del incomplete["event_time"]
    with pytest.raises(InvalidEventError) as caught:
        PREPARER.prepare(incomplete)
    assert caught.value.field == "event_time"


@pytest.mark.parametrize(("kind", "raw"), [("email", "anna rossi@example.com"), ("phone", "+39 333 12 ab")])
def test_refused_pii_is_not_quoted_in_the_error(kind: str, raw: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        PREPARER.prepare(event(identifiers=[{"type": kind, "value": raw}]))
    assert raw not in str(caught.value)
    assert caught.value.__suppress_context__  # nothing chained that could quote the value either


@given(
    st.from_regex(r"[a-z][a-z0-9.]{0,15}@[a-z]{2,10}\.(it|com|org)", fullmatch=True),
    st.from_regex(r"3[0-9]{9}", fullmatch=True),
)
def test_raw_pii_never_reaches_the_wire(email: str, national: str) -> None:
    typed_email = f"  {email.upper()} "
    typed_phone = f"({national[:3]}) {national[3:6]}.{national[6:]}"
    prepared = PREPARER.prepare(
        event(
            identifiers=[
                {"type": "cookie", "value": "ck-1"},
                {"type": "email", "value": typed_email},
                {"type": "phone", "value": typed_phone},
            ]
        )
    )
    wire = prepared.key + prepared.value
    for leaked in (email, email.upper(), typed_email, typed_phone, national, "+39" + national):
        assert leaked.encode() not in wire
    decoded = Touchpoint.from_avro(CODEC.decode(prepared.value).record)
    assert [(i.type.value, i.value) for i in decoded.identifiers] == [
        ("cookie", "ck-1"),
        ("hashed_email", mac(email)),
        ("hashed_phone", mac("+39" + national)),
    ]


@pytest.mark.parametrize(
    ("identifiers", "expected"),
    [
        ([("cookie", "ck"), ("customer_id", "C1")], "customer_id:C1"),
        ([("loyalty_id", "L1"), ("crm_id", "R1")], "crm_id:R1"),
        ([("email", "a@b.it"), ("loyalty_id", "L1")], "loyalty_id:L1"),
        ([("phone", "3331234567"), ("email", "A@B.it")], f"hashed_email:{mac('a@b.it')}"),
        ([("cookie", "ck"), ("phone", "3331234567")], f"hashed_phone:{mac('+393331234567')}"),
        ([("cookie", "ck"), ("device", "dv")], "device:dv"),
        ([("ad_id", "ad"), ("cookie", "ck")], "cookie:ck"),
        ([("other", "o"), ("ad_id", "ad")], "ad_id:ad"),
        ([("other", "o")], "other:o"),
        ([("customer_id", "C1"), ("customer_id", "C2")], "customer_id:C1"),
    ],
)
def test_the_key_is_the_strongest_identifier(identifiers: list[tuple[str, str]], expected: str) -> None:
    ids = [{"type": kind, "value": value} for kind, value in identifiers]
    assert PREPARER.prepare(event(identifiers=ids)).key == expected.encode()


DOCUMENTED_PRIORITY = [
    "customer_id",
    "crm_id",
    "loyalty_id",
    "hashed_email",
    "hashed_phone",
    "device",
    "cookie",
    "ad_id",
    "other",
]


@pytest.mark.parametrize(
    ("stronger", "weaker"),
    [(a, b) for i, a in enumerate(DOCUMENTED_PRIORITY) for b in DOCUMENTED_PRIORITY[i + 1 :]],
)
def test_every_stronger_type_wins_over_every_weaker_one(stronger: str, weaker: str) -> None:
    def identifier(kind: str) -> dict[str, str]:
        return {"type": kind, "value": mac(kind) if kind.startswith("hashed_") else f"{kind}-value"}

    strong = identifier(stronger)
    prepared = PREPARER.prepare(event(identifiers=[identifier(weaker), strong]))
    assert prepared.key == f"{stronger}:{strong['value']}".encode()


@pytest.mark.parametrize("channel", [c.value for c in Channel])
def test_one_topic_per_channel(channel: str) -> None:
    assert PREPARER.prepare(event(channel=channel)).topic == f"touchpoints.{channel}"
    custom = EventPreparer(
        ProducerConfig(brokers="b:9092", pii_key=KEY, topic_prefix="t42.touchpoints"), CODEC
    )
    assert custom.prepare(event(channel=channel)).topic == f"t42.touchpoints.{channel}"


def test_a_touchpoint_model_is_sent_as_it_is_after_its_hashes_are_checked() -> None:
    digest = mac("anna@example.com")
    model = Touchpoint.model_validate(
        event(
            identifiers=[{"type": "hashed_email", "value": digest.upper()}, {"type": "device", "value": "d"}]
        )
    )
    prepared = PREPARER.prepare(model)
    assert prepared == PREPARER.prepare(
        event(identifiers=[{"type": "email", "value": "Anna@Example.com"}, {"type": "device", "value": "d"}])
    )
    assert prepared.key == f"hashed_email:{digest}".encode()
    smuggled = Touchpoint.model_validate(
        event(identifiers=[{"type": "hashed_phone", "value": "+393331234567"}])
    )
    with pytest.raises(InvalidEventError) as caught:
        PREPARER.prepare(smuggled)
    assert caught.value.field == "identifiers.0.value"


def test_the_callers_event_is_left_untouched() -> None:
    original = event(
        identifiers=[{"type": "email", "value": " Anna@Example.com"}], context={"store_id": "MI3"}
    )
    snapshot = repr(original)
    PREPARER.prepare(original)
    assert repr(original) == snapshot


def test_times_travel_in_utc_milliseconds() -> None:
    rome = dt.timezone(dt.timedelta(hours=2))
    sent = event(event_time=dt.datetime(2025, 6, 1, 11, 0, 0, 123987, tzinfo=rome))
    decoded = CODEC.decode(PREPARER.prepare(sent).value).record
    assert decoded["event_time"] == dt.datetime(2025, 6, 1, 9, 0, 0, 123000, tzinfo=dt.UTC)


def test_uuid_forms_become_the_canonical_text() -> None:
    value = uuid.UUID("3f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
    forms = [value, str(value).upper(), value.hex, f"urn:uuid:{value}"]
    encoded = {PREPARER.prepare(event(event_id=form)).value for form in forms}
    assert len(encoded) == 1
    assert CODEC.decode(encoded.pop()).record["event_id"] == value


def test_to_touchpoint_is_what_the_wire_carries() -> None:
    sent = event(
        identifiers=[{"type": "phone", "value": "0039 333 1234567"}], context={"url": "https://x.test"}
    )
    expected = PREPARER.touchpoint(sent)
    assert expected.identifiers[0].type is IdentifierType.HASHED_PHONE
    assert expected.identifiers[0].value == mac("+393331234567")
    assert Touchpoint.from_avro(CODEC.decode(PREPARER.prepare(sent).value).record) == expected


def test_the_input_model_mirrors_the_touchpoint() -> None:
    assert set(typing.get_type_hints(TouchpointInput)) == set(Touchpoint.model_fields)
    assert set(typing.get_type_hints(ContextInput)) == set(Context.model_fields)
    assert set(typing.get_type_hints(ConsentInput)) == set(Consent.model_fields)
    assert {t.value for t in InputIdentifierType} == {t.value for t in IdentifierType} | {"email", "phone"}
    required = {name for name, field in Touchpoint.model_fields.items() if field.is_required()}
    assert TouchpointInput.__required_keys__ == required
