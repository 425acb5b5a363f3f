"""Spliced resolved touchpoints are byte for byte what decoding and encoding again would give."""

from __future__ import annotations

import base64
import datetime as dt
import io
import random
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from producers.config import ProducerConfig
from producers.prepare import EventPreparer
from producers.simulator import simulate
from schemas.codec import Codec
from streams.identity.protocol import Resolution
from streams.identity.splice import ResolvedEncoder, millis, zigzag
from streams.identity.touchpoints import RESOLVED_NAME, resolved_record

CODEC = Codec()
PREPARER = EventPreparer(
    ProducerConfig(brokers="127.0.0.1:1", pii_key=b"splice-test-key-0123456789abcdef"), CODEC
)


def wire_values(seed: int, customers: int = 30) -> list[bytes]:
    """Touchpoints as the SDK puts them on the wire, from the simulator's valid events."""
    events = [
        e.payload for e in simulate(customers=customers, days=3, seed=seed) if e.valid and e.wire is None
    ]
    return [PREPARER.prepare(p).value for p in events]


def resolution(value: bytes, person: str, topic: str, partition: int, offset: int) -> Resolution:
    payload = {"v": base64.b64encode(value).decode(), "t": topic, "p": partition, "o": offset}
    return Resolution("e", 0, person, payload)


def by_codec(res: Resolution, now: dt.datetime) -> bytes:
    record = resolved_record(CODEC, res)
    record["resolved_at"] = now
    return CODEC.encode(RESOLVED_NAME, record)


@pytest.mark.parametrize("seed", [1, 2])
def test_spliced_bytes_equal_the_codecs_encoding(seed: int) -> None:
    rng = random.Random(seed)
    encoder = ResolvedEncoder(CODEC)
    values = wire_values(seed)
    assert len(values) > 50
    for value in values:
        person = f"p-{rng.getrandbits(96):024x}"
        topic = rng.choice(["touchpoints.web", "x" * rng.randrange(0, 300), "tópico.ü"])
        res = resolution(value, person, topic, rng.randrange(0, 2**31), rng.randrange(0, 2**62))
        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=rng.randrange(0, 10**15))
        assert encoder.encode(res, now) == by_codec(res, now)
    assert encoder.spliced == len(values)
    assert encoder.encoded == 0


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_zigzag_is_avros_long(n: int) -> None:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, {"type": "long"}, n)
    assert zigzag(n) == buf.getvalue()


@given(
    st.datetimes(
        min_value=dt.datetime(1970, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
        max_value=dt.datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    )
)
def test_millis_is_fastavros_timestamp_millis(when: dt.datetime) -> None:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, {"type": "long", "logicalType": "timestamp-millis"}, when)
    assert zigzag(millis(when)) == buf.getvalue()


def test_other_inputs_go_through_the_codec() -> None:
    """An older Touchpoint schema must be resolved into the current one: no splice."""
    value = wire_values(3, customers=5)[0]
    forged = value[:2] + b"\x00" * 8 + value[10:]  # not the current Touchpoint fingerprint

    class Recording(Codec):
        def __init__(self) -> None:
            super().__init__(CODEC.catalog)
            self.calls: list[Any] = []

        def decode(self, data: bytes | None) -> Any:
            self.calls.append(data)
            return super().decode(value)  # stands for the resolved-into-current record

    recording = Recording()
    encoder = ResolvedEncoder(recording)
    now = dt.datetime(2026, 5, 5, tzinfo=dt.UTC)
    out = encoder.encode(resolution(forged, "p-1", "t", 0, 1), now)
    assert recording.calls == [forged]
    assert (encoder.spliced, encoder.encoded) == (0, 1)
    assert out == by_codec(resolution(value, "p-1", "t", 0, 1), now)
