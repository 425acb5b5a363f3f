"""What the simulator hands out: one event as a channel producer would send it, and whether it is good.

Times are kept as integer epoch milliseconds inside the simulator (cheap to compare and shift, and
exactly the wire precision) and turned into aware UTC datetimes only when a payload is built.
"""

from __future__ import annotations

import datetime as dt
from random import Random
from typing import Any, Final, NamedTuple

EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_timedelta: Final = dt.timedelta
SECOND: Final = 1_000
MINUTE: Final = 60 * SECOND
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR

CHANNELS: Final = ("web", "app", "ads", "social", "email", "chat", "call_center", "store", "pos")

# Invalid payloads: the SDK must refuse them before anything reaches Kafka.
SDK_INVALID_KINDS: Final = (
    "missing_identifiers",
    "naive_event_time",
    "garbled_event_time",
    "unknown_event_type",
    "bad_email",
    "bad_event_id",
)
# Wire poison: bytes sent straight to a topic, bypassing the SDK; consumers must dead-letter them.
WIRE_INVALID_KINDS: Final = ("random_bytes", "truncated_avro", "unknown_fingerprint")


class SimulatedEvent(NamedTuple):
    """One event in arrival order.

    ``payload`` is the SDK input form (see the package docstring). ``channel`` is the channel whose
    producer sends it, which picks the topic even when the payload's own channel field is garbled.
    ``wire`` is set only for wire poison: the exact bytes to put on the topic without the SDK;
    its ``payload`` is then the event those bytes pretend to be, kept for bookkeeping only.
    (A named tuple rather than a dataclass: it is built once per event and this is the cheapest.)
    """

    payload: dict[str, Any]
    valid: bool
    invalid_kind: str | None
    arrival_ms: int
    channel: str
    wire: bytes | None = None

    @property
    def arrival_time(self) -> dt.datetime:
        """When the producer gets (and sends) the event; later than event_time for late events.

        Kept as epoch ms and converted on demand: most consumers only need the order.
        """
        return to_datetime(self.arrival_ms)

    @property
    def event_id(self) -> str:
        return str(self.payload["event_id"])

    @property
    def is_wire_poison(self) -> bool:
        return self.wire is not None


def to_datetime(ms: int) -> dt.datetime:
    """Epoch milliseconds as an aware UTC datetime (exact: no sub-millisecond part)."""
    return EPOCH + _timedelta(0, 0, 0, ms)  # positional: twice as fast as milliseconds=ms


def to_ms(value: dt.datetime) -> int:
    """An aware datetime as epoch milliseconds, truncated like the wire format truncates."""
    if value.tzinfo is None:
        raise ValueError("simulation times must be timezone-aware")
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000 + delta.microseconds // 1_000


_VERSION_MASK: Final = ~((0xF << 76) | (0x3 << 62))
_VERSION_BITS: Final = (0x4 << 76) | (0x2 << 62)


def uuid4(rng: Random) -> str:
    """A random (version 4) UUID drawn from ``rng``, so event ids are reproducible from the seed.

    Built from the integer directly because ``uuid.UUID`` costs several times more per event.
    """
    h = "%032x" % ((rng.getrandbits(128) & _VERSION_MASK) | _VERSION_BITS)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def below(rng: Random, n: int) -> int:
    """``rng.randrange(n)`` for hot paths: a float draw is several times cheaper than randrange."""
    return int(rng.random() * n)


def hex_id(rng: Random, prefix: str, bits: int = 64) -> str:
    """An opaque random id such as a cookie or session id."""
    return f"{prefix}{rng.getrandbits(bits):0{bits // 4}x}"
