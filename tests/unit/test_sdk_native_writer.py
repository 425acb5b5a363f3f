"""The C writer (producers/_plan_writer.c) keeps the fast path's contract, and is what the SDK uses.

Same properties as the Python fast path (tests/unit/test_sdk_fast_path.py), over the same
generated events: every plain valid event is written exactly as the slow path and the codec write
it; any event, valid or not, is either declined or written exactly as the slow path writes it.
Then what C adds risk to: dates and zones computed without Python's datetime arithmetic, integer
bounds, references (nothing the writer touched is kept alive), and input changed while written.
"""

from __future__ import annotations

import datetime as dt
import gc
import weakref
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producers.config import ProducerConfig
from producers.fast_path import build_fast_path
from producers.fused import FALLBACK_ERRORS, Fallback
from producers.native_plan import PlanBuilder, native_available
from producers.prepare import EventPreparer
from schemas.avro_writer import UnsupportedSchema
from schemas.models import TOUCHPOINT_AVRO_NAME, Touchpoint
from tests.unit.sdk_events import event
from tests.unit.test_sdk_fast_path import CODEC, KEY, RULES, ZONES, events, mutated, one_field, usable

PREPARER = EventPreparer(ProducerConfig(brokers="127.0.0.1:19092", pii_key=KEY), CODEC)
PYTHON = EventPreparer(ProducerConfig(brokers="127.0.0.1:19092", pii_key=KEY, native_writer=False), CODEC)


def test_the_c_writer_is_built_and_is_the_sdks_fast_path() -> None:
    # `make install` builds it (gcc is part of the machine); a silent fallback would hide a build failure.
    assert native_available()
    assert type(PREPARER.fast).__name__ == "builtin_function_or_method"
    assert type(PYTHON.fast).__name__ == "function"


def test_the_sdk_can_be_told_to_keep_the_python_fast_path() -> None:
    fast = build_fast_path(CODEC, PREPARER.hasher, PREPARER.topics, PREPARER.slow, native=False)
    assert type(fast).__name__ == "function"


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(events.filter(usable))
def test_every_plain_valid_event_is_written_as_the_codec_writes_it(sent: dict[str, Any]) -> None:
    topic, key, value = PREPARER.fast(sent)
    record, slow_key = PREPARER.record(sent)
    assert (topic, key, value) == PREPARER.slow(sent)
    assert value == CODEC.encode(TOUCHPOINT_AVRO_NAME, Touchpoint.model_validate(record).to_avro())
    assert key == slow_key


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_any_event_is_declined_or_written_as_the_slow_path_writes_it(sent: dict[str, Any]) -> None:
    try:
        result = PREPARER.fast(sent)
    except FALLBACK_ERRORS:
        return
    assert result == PREPARER.slow(sent)


@given(
    st.datetimes(
        min_value=dt.datetime(1, 1, 2),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=dt.datetime(9999, 12, 30),  # noqa: DTZ001
        timezones=st.sampled_from(ZONES),
    )
)
def test_times_in_any_zone_and_year_are_written_as_fastavro_writes_them(when: dt.datetime) -> None:
    sent = event(event_time=when)
    assert PREPARER.fast(sent) == PREPARER.slow(sent)


@pytest.mark.parametrize("amount", [-(2**63), 2**63 - 1, 0, -1, 63, 64, -64, -65, 2**31])
def test_longs_at_their_bounds_are_written_as_fastavro_writes_them(amount: int) -> None:
    sent = event(context={"amount_cents": amount})
    assert PREPARER.fast(sent) == PREPARER.slow(sent)


@pytest.mark.parametrize("amount", [2**63, -(2**63) - 1, 2**100, True, 1.0])
def test_what_is_no_long_is_declined(amount: Any) -> None:
    with pytest.raises(FALLBACK_ERRORS):
        PREPARER.fast(event(context={"amount_cents": amount}))


def test_long_text_is_written_in_c_too() -> None:
    sent = event(attributes={"transcript": "\u00e8" * 5000}, context={"summary": "x" * 4000})
    assert PREPARER.fast(sent) == PREPARER.slow(sent)


class Tracked(str):
    """A str subclass that can be watched for being freed (pydantic takes it as the equal str)."""


def test_nothing_the_writer_touched_stays_alive() -> None:
    source, value = Tracked("pos"), Tracked("v")
    watched = [weakref.ref(source), weakref.ref(value)]
    sent = event(source=source, attributes={"k": value})
    for _ in range(3):
        assert PREPARER.fast(sent) == PREPARER.slow(sent)
        with pytest.raises(FALLBACK_ERRORS):  # and on the way out through an error
            PREPARER.fast({**sent, "extra": 1})
    del sent, source, value
    gc.collect()
    assert [ref() for ref in watched] == [None, None]


def test_a_validator_that_changes_the_input_while_it_is_written_is_declined() -> None:
    identifiers = [{"type": "cookie", "value": "a"}, {"type": "cookie", "value": "b"}]

    class Shrinking(str):
        """An event id whose conversion empties the identifiers list it is written before."""

        def __str__(self) -> str:
            identifiers.clear()
            return super().__str__()

    sent = event(event_id=Shrinking("3F1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"), identifiers=identifiers)
    try:
        result = PREPARER.fast(sent)
    except FALLBACK_ERRORS:
        return
    assert result == PREPARER.slow(sent)


def test_the_writer_declines_with_the_fast_paths_exception() -> None:
    with pytest.raises(Fallback):
        PREPARER.fast(event(channel="web", extra=1))


def test_nodes_without_a_plan_are_refused() -> None:
    core, avro = one_field(float, "double")
    with pytest.raises(UnsupportedSchema):
        PlanBuilder({}, {}, RULES, {}).node(avro["fields"][0]["type"], core["fields"]["x"]["schema"])
