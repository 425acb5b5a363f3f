"""The routing topic's values: packed messages in order within a size, and the old format still read."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from streams.identity.protocol import decode, encode
from streams.identity.wire import PACKED_VERSION, pack, unpack
from tests.unit.test_identity_partitions import first_messages, story


def encoded_messages(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [encode(m) for m in first_messages(story(rng), rng)]


@pytest.mark.parametrize("max_bytes", [1, 300, 2_000, 1_000_000])
def test_packed_values_carry_every_message_in_order_within_the_size(max_bytes: int) -> None:
    items = encoded_messages(max_bytes)
    values = list(pack(items, max_bytes))
    unpacked = [item for _, value in values for item in unpack(value)]
    assert unpacked == json.loads(json.dumps(items))
    for key, value in values:
        inside = unpack(value)
        assert len(value) <= max_bytes or len(inside) == 1  # only a lone item may exceed the size
        assert key == decode(inside[0]).key
    if max_bytes >= 1_000_000:
        assert len(values) == 1
    if max_bytes == 1:
        assert len(values) == len(items)


def test_a_value_of_the_old_format_is_one_message() -> None:
    message = encode(first_messages(story(random.Random(3)))[0])
    assert unpack(json.dumps(message).encode()) == [message]
    assert unpack(message) == [message]
    erase = {"m": "erase", "key": "cookie:c1", "ids": ["cookie:c1"], "ps": [], "e": "x", "t": 1}
    assert unpack(json.dumps(erase)) == [erase]


@pytest.mark.parametrize(
    "value", [b"[1, 2]", b'{"w": 3, "ms": []}', b'{"w": 2, "ms": {}}', b'{"w": 2, "ms": [1]}', b"{", b"{}"]
)
def test_values_of_no_known_format_are_refused(value: bytes) -> None:
    with pytest.raises(ValueError, match=r".+"):
        unpack(value)
    assert PACKED_VERSION == 2


def test_values_written_by_the_standard_library_and_by_the_stage_read_alike() -> None:
    """An upgrade mixes writers: values of the release before (``json.dumps``, ASCII-escaped) and of
    this one (compact UTF-8) must read the same by either reader."""
    items = [*encoded_messages(5), {"m": "erase", "key": "loyalty_id:Zoë-7", "note": "città"}]
    by_stdlib = json.dumps({"w": PACKED_VERSION, "ms": items}).encode()
    ((_, by_stage),) = pack(items)
    expected = json.loads(json.dumps(items))
    assert unpack(by_stdlib) == unpack(by_stage) == json.loads(by_stage)["ms"] == expected
    assert "Zoë".encode() in by_stage  # UTF-8, not escapes
    assert b"\\u" not in by_stage
