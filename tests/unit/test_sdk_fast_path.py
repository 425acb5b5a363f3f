"""The one-pass fast path writes exactly what the slow path and the codec write, or steps aside.

Two properties, over generated touchpoints: every plain valid event is taken by the fast path and
its bytes equal the codec's (fastavro's) encoding of the touchpoint the slow path builds; and for
any event, valid or not, the fast path either declines (one of ``FALLBACK_ERRORS``) or gives the
slow path's exact result, so it never accepts what the slow path refuses.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from enum import StrEnum
from typing import Annotated, Any, Literal

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field, StringConstraints, TypeAdapter
from typing_extensions import TypedDict

from producers.config import ProducerConfig
from producers.fast_path import build_fast_path, framing_header
from producers.fused import FALLBACK_ERRORS, Generator
from producers.fused_identifiers import IdentifierRules
from producers.inputs import canonical_uuid
from producers.prepare import EventPreparer
from producers.routing import KEY_PRIORITY
from schemas.avro_writer import UnsupportedSchema
from schemas.codec import SINGLE_OBJECT_MAGIC, Codec
from schemas.confluent import ConfluentFraming
from schemas.errors import InvalidEventError, SchemaError
from schemas.models import TOUCHPOINT_AVRO_NAME, Channel, EventType, Touchpoint
from tests.unit.sdk_events import event

KEY = b"unit-test-key-0123456789abcdef"
CODEC = Codec(compiled=False)  # fastavro alone: the reference the generated writers must match
# The Python fast path; tests/unit/test_sdk_native_writer.py holds the C writer to the same properties.
PREPARER = EventPreparer(ProducerConfig(brokers="127.0.0.1:19092", pii_key=KEY, native_writer=False), CODEC)
ZONES = [
    dt.UTC,
    dt.timezone(dt.timedelta(hours=5, minutes=30)),
    dt.timezone(dt.timedelta(hours=-23, minutes=-59)),
    dt.timezone(dt.timedelta(seconds=1)),
    zoneinfo.ZoneInfo("Europe/Rome"),
    zoneinfo.ZoneInfo("America/St_Johns"),
]
AVRO_LONG = st.integers(min_value=-(2**63), max_value=2**63 - 1)

text = st.text(max_size=20)
maybe_text = st.none() | text
maybe_bool = st.none() | st.booleans()
plain_ids = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["cookie", "device", "loyalty_id", "customer_id", "crm_id", "ad_id", "other"]
        ),
        "value": st.text(min_size=1, max_size=40) | st.text(min_size=500, max_size=512),
    }
)
hashed_ids = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["hashed_email", "hashed_phone"]),
        "value": st.binary(min_size=32, max_size=32).map(bytes.hex)
        | st.binary(min_size=32, max_size=32).map(lambda b: b.hex().upper()),
    }
)
pii_ids = st.fixed_dictionaries(
    {
        "type": st.just("email"),
        "value": st.from_regex(r"[A-Za-z0-9._]{1,12}@[a-z]{2,8}\.[a-z]{2,4}", fullmatch=True),
    }
) | st.fixed_dictionaries(
    {"type": st.just("phone"), "value": st.from_regex(r"\+?3[0-9 ]{9,11}", fullmatch=True)}
)
contexts = st.fixed_dictionaries(
    {},
    optional={
        "store_id": maybe_text,
        "agent_id": maybe_text,
        "campaign_id": maybe_text,
        "url": maybe_text,
        "purchasable": maybe_bool,
        "product_ids": st.lists(text, max_size=4),
        "order_id": maybe_text,
        "reservation_id": maybe_text,
        "amount_cents": st.none() | AVRO_LONG | st.sampled_from([-(2**63), 2**63 - 1, 0, -1]),
        "currency": st.none() | st.text(min_size=3, max_size=3),
        "summary": st.none() | st.text(max_size=1500),  # past 1024 bytes: lengths outside the table
    },
)
consents = st.none() | st.fixed_dictionaries(
    {}, optional={"analytics": maybe_bool, "marketing": maybe_bool, "personalization": maybe_bool}
)
times = st.datetimes(
    min_value=dt.datetime(1, 1, 2),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=dt.datetime(9999, 12, 30),  # noqa: DTZ001 - zones come from ``timezones``
    timezones=st.sampled_from(ZONES),
)
events = st.fixed_dictionaries(
    {
        "event_id": st.uuids().flatmap(
            lambda u: st.sampled_from([u, str(u), str(u).upper(), u.hex, f"urn:uuid:{u}"])
        ),
        "event_time": times,
        "channel": st.sampled_from([c.value for c in Channel]),
        "event_type": st.sampled_from([e.value for e in EventType]),
        "identifiers": st.lists(plain_ids | hashed_ids | pii_ids, min_size=1, max_size=6),
    },
    optional={
        "source": text | st.text(min_size=1000, max_size=1100),
        "session_id": maybe_text,
        "conversation_id": maybe_text,
        "case_id": maybe_text,
        "context": contexts,
        "consent": consents,
        "attributes": st.dictionaries(st.text(max_size=10), text, max_size=4),
    },
)


def usable(event: dict[str, Any]) -> bool:
    """Whether the SDK accepts the event (a generated email or phone may still be implausible)."""
    try:
        PREPARER.slow(event)
    except InvalidEventError:
        return False
    return True


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(events.filter(usable))
def test_every_plain_valid_event_takes_the_fast_path_and_matches_the_codec(sent: dict[str, Any]) -> None:
    topic, key, value = PREPARER.fast(sent)  # raising here would mean the fast path declined it
    record, slow_key = PREPARER.record(sent)
    assert (topic, key, value) == PREPARER.slow(sent)
    assert value == CODEC.encode(TOUCHPOINT_AVRO_NAME, Touchpoint.model_validate(record).to_avro())
    assert key == slow_key
    assert topic == f"touchpoints.{sent['channel']}"


class Text(str):
    """A str subclass: pydantic accepts it as the equal str."""

    __slots__ = ()


class Odd(StrEnum):
    WEB = "web"
    EMAIL = "email"


naive = dt.datetime(2025, 3, 1, 9, 30)  # noqa: DTZ001 - naive on purpose
weird = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        1,
        -1,
        2**63,
        1.5,
        "",
        "web",
        "email",
        "x" * 600,
        "\ud800",
        Text("web"),
        Text("c@d.it"),
        Odd.WEB,
        Odd.EMAIL,
        b"web",
        [],
        ["a"],
        ("a",),
        {},
        {"a": "b"},
        {"type": "cookie", "value": "c"},
        naive,
        dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
        uuid.UUID(int=7),
        "3F1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A generated event with one thing changed: a value, a missing key or an unknown one."""
    event: dict[str, Any] = draw(events)
    targets: list[dict[str, Any]] = [event, *event["identifiers"]]
    for name in ("context", "consent", "attributes"):
        if isinstance(event.get(name), dict):
            targets.append(event[name])
    target = draw(st.sampled_from(targets))
    names = [*sorted(target), "unknown", "source", "url", "analytics"]
    name = draw(st.sampled_from(names))
    if draw(st.booleans()) and name in target:
        del target[name]
    else:
        target[name] = draw(weird)
    return event


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_the_fast_path_declines_or_agrees_with_the_slow_path(sent: dict[str, Any]) -> None:
    try:
        result = PREPARER.fast(sent)
    except FALLBACK_ERRORS:
        return  # the slow path decides: the existing tests pin what it says
    assert result == PREPARER.slow(sent)  # raising here: the fast path accepted an invalid event


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"event_time": naive}, "event_time"),
        ({"identifiers": []}, "identifiers"),
        ({"identifiers": [{"type": "cookie", "value": "c"}] * 65}, "identifiers"),
        ({"identifiers": [{"type": "email", "value": "not an email"}]}, "identifiers.0.value"),
        ({"identifiers": [{"type": "email", "value": "a\ud800@b.it"}]}, "identifiers.0.value"),
        ({"context": {"amount_cents": 2**63}}, "context.amount_cents"),
        ({"attributes": {"a": 1}}, "attributes.a"),
        ({"consent": {"analytics": None, "extra": True}}, "consent.extra"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_events_are_left_to_the_slow_path(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(FALLBACK_ERRORS):
        PREPARER.fast(event(**overrides))
    with pytest.raises(InvalidEventError) as caught:
        PREPARER.prepare(event(**overrides))
    assert caught.value.field == field


def test_unencodable_text_is_left_to_the_slow_path() -> None:
    # pydantic accepts a lone surrogate; UTF-8 cannot carry it, and the slow path's codec refuses it.
    with pytest.raises(FALLBACK_ERRORS):
        PREPARER.fast(event(source="\ud800"))
    with pytest.raises(SchemaError):
        PREPARER.prepare(event(source="\ud800"))


@pytest.mark.parametrize(
    "overrides",
    [
        {"event_time": "2025-03-01T09:30:00Z"},
        {"event_time": 1_740_821_400},
        {"identifiers": ({"type": "cookie", "value": "c"},)},
        {"source": b"pos"},
        {"context": {"amount_cents": True, "product_ids": ("a",)}},
        {"consent": {"analytics": 1}},
    ],
)
def test_what_pydantic_converts_is_left_to_the_slow_path(overrides: dict[str, Any]) -> None:
    with pytest.raises(FALLBACK_ERRORS):
        PREPARER.fast(event(**overrides))
    record, _ = PREPARER.record(event(**overrides))
    assert PREPARER.prepare(event(**overrides)).value == CODEC.encode(
        TOUCHPOINT_AVRO_NAME, Touchpoint.model_validate(record).to_avro()
    )


def test_edge_values_match_the_codec() -> None:
    edges = event(
        event_id=uuid.UUID(int=0),
        event_time=dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),  # just before the epoch
        identifiers=[{"type": "other", "value": "\U0001f600" * 512}],  # 2048 bytes for 512 characters
        source="",
        session_id=None,
        conversation_id=None,
        case_id=None,
        context={k: None for k in ("store_id", "agent_id", "url", "purchasable", "amount_cents", "summary")},
        consent={"analytics": None, "marketing": None, "personalization": None},
        attributes={"": ""},
    )
    edges["context"]["product_ids"] = []
    record, _ = PREPARER.record(edges)
    assert PREPARER.fast(edges)[2] == CODEC.encode(
        TOUCHPOINT_AVRO_NAME, Touchpoint.model_validate(record).to_avro()
    )


@pytest.mark.parametrize(
    ("text", "fast"), [("a" * 4095, True), ("a" * 4096, False), ("\u00e8" * 4000, False)]
)
def test_text_of_4_kib_or_more_takes_the_slow_path(text: str, fast: bool) -> None:
    sent = event(attributes={"transcript": text})  # a map value: no length limit
    record, _ = PREPARER.record(sent)
    expected = CODEC.encode(TOUCHPOINT_AVRO_NAME, Touchpoint.model_validate(record).to_avro())
    if fast:
        assert PREPARER.fast(sent)[2] == expected
    else:
        with pytest.raises(FALLBACK_ERRORS):
            PREPARER.fast(sent)
    assert PREPARER.prepare(sent).value == expected


def test_strings_pydantic_accepts_as_equal_strings_are_written_alike() -> None:
    plain = PREPARER.fast(event(source="pos", identifiers=[{"type": "email", "value": "a@b.it"}]))
    dressed = event(channel=Odd.WEB, source=Text("pos"), identifiers=[{"type": Odd.EMAIL, "value": "a@b.it"}])
    assert PREPARER.parts(dressed) == plain == PREPARER.slow(dressed)


def test_a_cache_that_starts_over_still_hashes_right() -> None:
    preparer = EventPreparer(ProducerConfig(brokers="127.0.0.1:19092", pii_key=KEY), CODEC)
    fast = build_fast_path(CODEC, preparer.hasher, preparer.topics, preparer.slow, cache_size=2)
    assert fast is not None
    emails = [f"Person.{i}@Example.com" for i in range(7)]
    for _ in range(2):
        for email in emails:
            sent = event(identifiers=[{"type": "email", "value": email}, {"type": "cookie", "value": email}])
            assert fast(sent) == preparer.slow(sent)


def test_a_fast_path_that_disagrees_with_the_slow_path_is_not_used() -> None:
    def wrong(sent: Any) -> tuple[str, bytes, bytes]:
        topic, key, value = PREPARER.slow(sent)
        return topic, key, value + b"!"

    assert build_fast_path(CODEC, PREPARER.hasher, PREPARER.topics, wrong) is None


class OneIdRegistry:
    def id_for(self, subject: str, schema: str) -> int:
        return 0x01020304

    def schema_for(self, schema_id: int) -> str:
        raise AssertionError("encoding never asks for a schema")


@pytest.mark.parametrize("framing", ["single-object", "confluent"])
def test_the_fast_path_takes_the_codecs_framing(framing: str) -> None:
    confluent = ConfluentFraming(OneIdRegistry(), CODEC.catalog) if framing == "confluent" else None
    codec = Codec(CODEC.catalog, confluent)
    preparer = EventPreparer(ProducerConfig(brokers="127.0.0.1:19092", pii_key=KEY), codec)
    sent = event(identifiers=[{"type": "phone", "value": "333 123 4567"}])
    _, _, value = preparer.fast(sent)
    assert value == codec.encode(TOUCHPOINT_AVRO_NAME, preparer.touchpoint(sent).to_avro())
    assert value.startswith(b"\x00\x01\x02\x03\x04" if confluent else SINGLE_OBJECT_MAGIC)
    assert framing_header(codec) == value[: 5 if confluent else 10]


CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@given(st.uuids().map(str) | st.text(alphabet="0123456789abcdefABCDEF-\u0660x", min_size=30, max_size=40))
def test_canonical_uuid_text_is_returned_as_it_is_and_other_text_is_converted_or_refused(value: str) -> None:
    try:
        result = canonical_uuid(value)
    except ValueError:
        assert not CANONICAL.fullmatch(value)
        return
    assert CANONICAL.fullmatch(result)
    assert (result == value) == bool(CANONICAL.fullmatch(value))


RULES = IdentifierRules(field="identifiers", transforms={}, priority=KEY_PRIORITY)


def one_field(annotation: Any, avro_type: Any) -> tuple[Any, Any]:
    """The core schema of ``{x: annotation}`` and the Avro record ``{x: avro_type}``."""
    One = TypedDict("One", {"x": annotation})  # noqa: UP013 - a variable type
    avro = fastavro.parse_schema(
        {"type": "record", "name": "One", "fields": [{"name": "x", "type": avro_type}]}
    )
    return TypeAdapter(One).core_schema, avro


@pytest.mark.parametrize(
    ("annotation", "avro_type"),
    [
        (Annotated[str, Field(pattern="^[A-Z]+$")], "string"),
        (Annotated[str, StringConstraints(to_lower=True)], "string"),
        (Annotated[str, Field(strict=True)], "string"),
        (Annotated[int, Field(multiple_of=2)], "long"),
        (dt.datetime, {"type": "long", "logicalType": "timestamp-millis"}),  # naive ones allowed
        (int | str, ["long", "string"]),
        (str, "long"),
        (Literal["a", "z"], {"type": "enum", "name": "E", "symbols": ["a", "b"]}),
        (float, "double"),
        (bytes, "bytes"),
        (list[str], {"type": "map", "values": "string"}),
    ],
)
def test_constructs_not_generated_are_refused_when_compiling(annotation: Any, avro_type: Any) -> None:
    core, avro = one_field(annotation, avro_type)
    with pytest.raises(UnsupportedSchema):
        Generator({}, {}, RULES, {}).value(avro, core, "r", 1)
