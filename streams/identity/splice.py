"""The resolved touchpoint's bytes without decoding the touchpoint: its Avro body copied as it came.

A ``ResolvedTouchpoint`` is five scalar fields followed by the ``Touchpoint`` record, and Avro
writes a record as its fields one after another with no framing of their own. So when the input
was single-object encoded with the *current* Touchpoint schema, the output's body is the encoded
scalars followed by the input's body verbatim -- exactly what decoding it and encoding the record
again would give for any canonical encoding (what fastavro, the SDK and the Java library write),
and a body that decodes to the same record otherwise (intake decoded it already, so it is whole
and has no trailing bytes). Every other input -- an older Touchpoint schema, which must be
resolved into the current one, or Confluent framing, whose output needs the registry's id --
goes through :func:`streams.identity.touchpoints.resolved_record` and the codec.
"""

from __future__ import annotations

import base64
import datetime as dt

from schemas.codec import HEADER_LEN, SINGLE_OBJECT_MAGIC, Codec
from streams.identity.protocol import Resolution
from streams.identity.touchpoints import RESOLVED_NAME, TOUCHPOINT_NAME, resolved_record_of

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def zigzag(n: int) -> bytes:
    """Avro's ``int``/``long``: zigzag, then base-128 varint, low groups first."""
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z & ~0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def string(text: str) -> bytes:
    """Avro's ``string``: the UTF-8 length as a long, then the bytes."""
    data = text.encode()
    return zigzag(len(data)) + data


def millis(when: dt.datetime) -> int:
    """``timestamp-millis`` of an aware datetime, computed as fastavro does (truncating micros)."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


class ResolvedEncoder:
    """``ResolvedTouchpoint`` values for resolutions, spliced whenever that is exact."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        catalog = codec.catalog
        self._touchpoint = SINGLE_OBJECT_MAGIC + catalog.reader(TOUCHPOINT_NAME).fingerprint
        self._resolved = SINGLE_OBJECT_MAGIC + catalog.reader(RESOLVED_NAME).fingerprint
        self.spliced = self.encoded = 0

    def encode(self, resolution: Resolution, now: dt.datetime | None = None) -> bytes:
        """The value for touchpoints.resolved (``now``: resolved_at, the current time by default)."""
        payload = resolution.payload
        value = base64.b64decode(payload["v"])
        return self.encode_value(
            resolution.person_id, value, payload["t"], int(payload["p"]), int(payload["o"]), now
        )

    def encode_value(
        self,
        person_id: str,
        value: bytes,
        topic: str,
        partition: int,
        offset: int,
        now: dt.datetime | None = None,
    ) -> bytes:
        """The same from the touchpoint's bytes as read (intake decoded and validated them already)."""
        now = dt.datetime.now(dt.UTC) if now is None else now
        if self.codec.confluent is not None or value[:HEADER_LEN] != self._touchpoint:
            self.encoded += 1
            record = resolved_record_of(self.codec, person_id, value, topic, partition, offset)
            record["resolved_at"] = now
            return self.codec.encode(RESOLVED_NAME, record)
        self.spliced += 1
        head = b"".join(
            (
                self._resolved,
                string(person_id),
                zigzag(millis(now)),
                string(topic),
                zigzag(partition),
                zigzag(offset),
            )
        )
        return head + value[HEADER_LEN:]
