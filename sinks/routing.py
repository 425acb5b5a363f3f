"""Which table a consumed record goes to, and its row; undecodable records become dead letters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from schemas.codec import Codec
from schemas.errors import OmnijourneyError
from schemas.topics import TopicNames
from sinks.batch import DEAD_LETTERS, TOUCHPOINTS

DEAD_LETTER_PAYLOAD_LIMIT = 64 * 1024
EXPECTED = {TOUCHPOINTS: "io.omnijourney.ResolvedTouchpoint", DEAD_LETTERS: "io.omnijourney.DeadLetter"}


@dataclass(frozen=True)
class Routed:
    table: str
    row: dict[str, Any]


def sink_dead_letter(
    error: OmnijourneyError | Exception,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
) -> dict[str, Any]:
    """A dead-letter row for a record the sink itself could not read."""
    payload = value or b""
    return {
        "failed_at": dt.datetime.now(dt.UTC),
        "stage": "sink",
        "error_type": type(error).__name__,
        "reason": getattr(error, "message", str(error)),
        "field": getattr(error, "field", None),
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "key": key,
        "payload": payload[:DEAD_LETTER_PAYLOAD_LIMIT],
        "payload_size": len(payload),
    }


class Router:
    """Maps topic -> table and decodes, dead-lettering what cannot be read."""

    def __init__(self, topics: TopicNames, codec: Codec) -> None:
        self.codec = codec
        self.tables = {topics.resolved: TOUCHPOINTS, topics.dead_letters: DEAD_LETTERS}

    @property
    def source_topics(self) -> list[str]:
        return list(self.tables)

    def route(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> Routed:
        table = self.tables[topic]
        try:
            decoded = self.codec.decode(value)
            if decoded.name != EXPECTED[table]:
                raise OmnijourneyError(f"expected {EXPECTED[table]} on {topic}, got {decoded.name}")
        except OmnijourneyError as exc:
            return Routed(
                DEAD_LETTERS,
                sink_dead_letter(exc.at(topic, partition, offset), topic, partition, offset, key, value),
            )
        return Routed(table, decoded.record)
