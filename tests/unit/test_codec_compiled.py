"""The codec's generated writers and readers agree with fastavro on every record, good or bad.

``Codec()`` encodes with a writer and decodes with a reader generated per schema
(:mod:`schemas.avro_writer`, :mod:`schemas.avro_reader`); ``Codec(compiled=False)`` uses fastavro
alone. Every schema the pipeline writes must get generated code (else the speed-up silently does
not apply), and on any record, from the schema walk of the model tests and from a simulated week,
both must give the same bytes and the same values, or both the same refusal; on corrupt bodies
(truncated, bytes flipped, random) both must read the same or both refuse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import HEADER_LEN, Codec, _reader_of
from schemas.errors import DecodeError, SchemaError
from schemas.models import MODELS
from streams.journeys.stage import PersonStage, on_tick, on_touch
from streams.journeys.timeline import to_ms
from tests.unit.journey_sim import simulated_touches
from tests.unit.test_models_roundtrip import CATALOG, sample

COMPILED = Codec(CATALOG)
REFERENCE = Codec(CATALOG, compiled=False)
NOW = dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)
NAIVE = NOW.replace(tzinfo=None)  # fastavro writes it; the generated writer hands it over


def read(codec: Codec, data: bytes) -> Any:
    """What ``codec`` reads from ``data``: the record, or the kind of its refusal."""
    try:
        return codec.decode(data).record
    except DecodeError:
        return "refused"
    except Exception as exc:  # compared: the same kind either way
        return type(exc).__name__


def outcome(codec: Codec, name: str, record: dict[str, Any]) -> bytes | str:
    """The bytes ``codec`` writes, or the kind of its refusal."""
    try:
        return codec.encode(name, record)
    except SchemaError:
        return "refused"


@pytest.mark.parametrize("name", sorted(CATALOG.current))
def test_every_schema_gets_a_generated_writer(name: str) -> None:
    COMPILED.encode(name, sample(CATALOG.current[name].parsed, full=True))
    assert COMPILED._writers[name] is not None
    assert REFERENCE._writers.get(name) is None
    assert _reader_of(CATALOG.current[name]) is not None


@pytest.mark.parametrize("full", [True, False], ids=["full", "minimal"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_schema_walk_records_encode_as_fastavro_writes_them(name: str, full: bool) -> None:
    record = sample(CATALOG.current[name].parsed, full=full)
    assert COMPILED.encode(name, record) == REFERENCE.encode(name, record)
    data = COMPILED.encode(name, record)
    assert COMPILED.decode(data).record == REFERENCE.decode(data).record
    as_model = MODELS[name].from_avro(COMPILED.decode(data).record).to_avro()
    assert COMPILED.encode(name, as_model) == REFERENCE.encode(name, as_model)


def full_records() -> list[bytes]:
    return [COMPILED.encode(name, sample(CATALOG.current[name].parsed, full=True)) for name in sorted(MODELS)]


@pytest.mark.parametrize("data", full_records(), ids=sorted(MODELS))
def test_a_truncated_or_overlong_body_is_read_as_fastavro_reads_it(data: bytes) -> None:
    for end in range(HEADER_LEN, len(data)):
        assert read(COMPILED, data[:end]) == read(REFERENCE, data[:end])
    assert read(COMPILED, data + b"\x00") == read(REFERENCE, data + b"\x00") == "refused"


@pytest.mark.parametrize("data", full_records(), ids=sorted(MODELS))
def test_every_byte_of_a_body_set_to_odd_values_is_read_as_fastavro_reads_it(data: bytes) -> None:
    for at in range(HEADER_LEN, len(data)):
        for value in (0, 1, 2, 0x7F, 0x80, 0xFF):
            body = data[:at] + bytes((value,)) + data[at + 1 :]
            assert read(COMPILED, body) == read(REFERENCE, body), (at, value)


@settings(max_examples=300)
@given(st.sampled_from(full_records()), st.data())
def test_a_body_with_bytes_changed_is_read_as_fastavro_reads_it(data: bytes, draw: st.DataObject) -> None:
    body = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4))):
        body[draw.draw(st.integers(HEADER_LEN, len(body) - 1))] = draw.draw(st.integers(0, 255))
    assert read(COMPILED, bytes(body)) == read(REFERENCE, bytes(body))


@settings(max_examples=200)
@given(st.sampled_from(full_records()), st.binary(max_size=64))
def test_random_bytes_after_a_header_are_read_as_fastavro_reads_them(data: bytes, body: bytes) -> None:
    framed = data[:HEADER_LEN] + body
    assert read(COMPILED, framed) == read(REFERENCE, framed)


def test_a_simulated_weeks_journey_outputs_encode_as_fastavro_writes_them() -> None:
    touches, _ = simulated_touches(customers=60, days=7, seed=3)
    stages: dict[str, PersonStage] = {}
    written = {"io.omnijourney.Session": 0, "io.omnijourney.Journey": 0, "io.omnijourney.Alert": 0}
    watermark = 0
    for touch in touches:
        stage = stages.setdefault(touch.person_id, PersonStage.new(touch.person_id))
        watermark = max(watermark, to_ms(touch.event_time))
        outputs = [on_touch(stage, touch, watermark, NOW)]
        outputs += [on_tick(other, watermark, NOW) for other in stages.values() if other is not stage][:3]
        for out in outputs:
            for name, records in zip(written, (out.sessions, out.journeys, out.alerts), strict=True):
                for record in records:
                    data = COMPILED.encode(name, record)
                    assert data == REFERENCE.encode(name, record)
                    assert COMPILED.decode(data).record == REFERENCE.decode(data).record
                    written[name] += 1
    assert min(written.values()) > 0, written  # every kind was written and compared


SESSION = "io.omnijourney.Session"


def session_record() -> dict[str, Any]:
    return dict(sample(CATALOG.current[SESSION].parsed, full=True))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: r.update(surprise=1), id="a key the schema does not name"),
        pytest.param(lambda r: r.pop("session_id"), id="a required field missing"),
        pytest.param(lambda r: r.update(event_count="7"), id="a string for a long"),
        pytest.param(lambda r: r.update(channel=42), id="a number for a string"),
        pytest.param(lambda r: r.update(started_at=NAIVE), id="a naive time"),
        pytest.param(lambda r: r.update(started_at=1_740_787_200_000), id="a time in epoch millis"),
        pytest.param(lambda r: r.update(event_count=True), id="a bool for a long"),
        pytest.param(lambda r: r.update(store_id=None), id="null in an optional field"),
    ],
)
def test_an_odd_record_meets_the_same_fate_as_with_fastavro(change: Any) -> None:
    record = session_record()
    change(record)
    assert outcome(COMPILED, SESSION, record) == outcome(REFERENCE, SESSION, record)


def test_refusals_still_name_the_schema() -> None:
    record = {**session_record(), "surprise": 1}
    with pytest.raises(SchemaError, match=r"io\.omnijourney\.Session"):
        COMPILED.encode(SESSION, record)
