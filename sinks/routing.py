"""Which table a consumed record goes to, and in which form; undecodable records become dead letters.

The hot path looks at ten bytes per message: a message written with the current schema of the
topic's record (single-object magic plus that schema's fingerprint) is kept as it is, for
ClickHouse to decode (:mod:`sinks.avro_block`). Anything else (an older schema version, Confluent
framing, a stranger) is decoded here with the codec, which resolves old writers into the current
reader or says exactly why it cannot; what it cannot read becomes a dead letter.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError

from schemas.codec import Codec
from schemas.errors import DecodeError, OmnijourneyError
from schemas.topics import TopicNames
from sinks.avro_block import container_header, container_schema, single_object_header
from sinks.batch import DEAD_LETTERS, Batch, Message
from sinks.specs import TableSpec, topic_tables

DEAD_LETTER_PAYLOAD_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Routed:
    table: str
    row: dict[str, Any]


@dataclass(frozen=True)
class Route:
    """One source topic: its table, and the message prefix that may skip Python decoding."""

    spec: TableSpec
    fast_prefix: bytes | None  # None: every message of the topic is decoded in Python


def sink_dead_letter(
    error: OmnijourneyError | Exception,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    failed_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """A dead-letter row for a record the sink itself could not read.

    ``failed_at`` is the record's broker timestamp when the caller has it, not the clock: a replay
    then writes an identical row, and the analyst view of dead letters does not change.
    """
    payload = value or b""
    return {
        "failed_at": failed_at or dt.datetime.now(dt.UTC),
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


def _broker_time(message: Message) -> dt.datetime | None:
    kind, ms = message.timestamp()
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC) if ms >= 0 and kind else None


class Router:
    """Maps topic -> table; keeps current-schema messages encoded, decodes the rest."""

    def __init__(self, topics: TopicNames, codec: Codec, fast: bool = True) -> None:
        self.codec = codec
        self.routes: dict[str, Route] = {}
        self.container_headers: dict[str, bytes] = {}
        self.container_columns: dict[str, list[str]] = {}
        for topic, spec in topic_tables(topics).items():
            schema = container_schema(codec.catalog, spec.record) if fast else None
            prefix = single_object_header(codec.catalog, spec.record) if schema else None
            if schema:
                self.container_headers[spec.table] = container_header(schema)
                self.container_columns[spec.table] = [f["name"] for f in json.loads(schema)["fields"]]
            self.routes[topic] = Route(spec, prefix)
        self.tables = {topic: route.spec.table for topic, route in self.routes.items()}

    @property
    def source_topics(self) -> list[str]:
        return list(self.routes)

    def feed(self, batch: Batch, messages: Iterable[Any]) -> tuple[int, list[KafkaError]]:
        """Add consumed messages to ``batch``; returns (dead letters made, consumer errors seen).

        The loop is the sink's hot path, hence the local names and the inlined range bookkeeping
        (:meth:`Batch.note` does the same, one call per message).
        """
        routes, encoded, ranges = self.routes, batch.encoded, batch.ranges
        errors: list[KafkaError] = []
        dead = added = 0
        for msg in messages:
            error = msg.error()
            if error is not None:
                errors.append(error)
                continue
            topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
            route = routes[topic]
            value = msg.value()
            if route.fast_prefix is not None and value is not None and value.startswith(route.fast_prefix):
                table = route.spec.table
                bucket = encoded.get(table)
                if bucket is None:
                    bucket = encoded[table] = []
                bucket.append(msg)
            else:
                routed = self.decode(route, msg)
                batch.rows.setdefault(routed.table, []).append(routed.row)
                dead += routed.table == DEAD_LETTERS and routed.row.get("stage") == "sink"
            span = ranges.get((topic, partition))
            if span is None:
                ranges[(topic, partition)] = [offset, offset]
            elif offset > span[1]:
                span[1] = offset
            elif offset < span[0]:
                span[0] = offset
            added += 1
        if added:
            if batch.started is None:
                batch.started = batch.clock()
            batch.size += added
        return dead, errors

    def decode(self, route: Route, msg: Message) -> Routed:
        """The record decoded for its table, or a dead letter saying why it cannot be."""
        topic, partition, offset = str(msg.topic()), int(msg.partition() or 0), int(msg.offset() or 0)
        value = msg.value()
        try:
            decoded = self.codec.decode(value)
            if decoded.name != route.spec.record:
                raise DecodeError(f"expected {route.spec.record} on {topic}, got {decoded.name}")
        except OmnijourneyError as exc:
            error = exc.at(topic, partition, offset)
            row = sink_dead_letter(error, topic, partition, offset, msg.key(), value, _broker_time(msg))
            return Routed(DEAD_LETTERS, row)
        return Routed(route.spec.table, decoded.record)

    def route(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
    ) -> Routed:
        """Decode one record in Python (no fast path): its table and row."""
        return self.decode(self.routes[topic], _Plain(topic, partition, offset, key, value))

    def demote(self, batch: Batch, table: str) -> int:
        """Move ``table``'s encoded messages to the Python path (ClickHouse refused their block).

        Decoding them one by one finds the records that cannot be read, which become dead letters
        instead of failing the batch again. Returns how many dead letters that made.
        """
        messages = batch.encoded.pop(table, [])
        dead = 0
        for msg in messages:
            routed = self.decode(self.routes[str(msg.topic())], msg)
            batch.rows.setdefault(routed.table, []).append(routed.row)
            dead += routed.table == DEAD_LETTERS and routed.row.get("stage") == "sink"
        return dead


@dataclass(frozen=True)
class _Plain:
    """A message from plain values, for :meth:`Router.route`."""

    t: str
    p: int
    o: int
    k: bytes | None
    v: bytes | None

    def topic(self) -> str:
        return self.t

    def partition(self) -> int:
        return self.p

    def offset(self) -> int:
        return self.o

    def key(self) -> bytes | None:
        return self.k

    def value(self) -> bytes | None:
        return self.v

    def timestamp(self) -> tuple[int, int]:
        return (0, -1)
