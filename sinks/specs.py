"""What the sink does with each topic: the record it expects, the table it fills, where each write
path inserts, and how decoded records become Arrow.

Two write paths reach the same tables (see ``sinks/ddl/002_*.sql``): records in the current schema
are inserted as Avro and decoded by ClickHouse (``avro_target``); records in an older schema, or in
a block ClickHouse refused, are decoded in Python and inserted as Arrow (``arrow_target``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from schemas.topics import TopicNames
from sinks.batch import DEAD_LETTERS, TOUCHPOINTS
from sinks.rows import dead_letters_table, touchpoints_table
from sinks.rows_records import alerts_table, identity_changes_table, journeys_table, sessions_table

IDENTITY_CHANGES = "identity_changes"
JOURNEYS = "journeys"
SESSIONS = "sessions"
ALERTS = "alerts"


@dataclass(frozen=True)
class TableSpec:
    """One table the sink fills from one topic."""

    table: str
    record: str  # the Avro full name the topic carries
    avro_target: str  # where ClickHouse-decoded Avro goes (a Null table with a view, or the table)
    arrow_target: str  # where Python-decoded Arrow rows go
    build: Callable[[Sequence[dict[str, Any]]], pa.Table]


SPECS: dict[str, TableSpec] = {
    spec.table: spec
    for spec in (
        TableSpec(
            TOUCHPOINTS,
            "io.omnijourney.ResolvedTouchpoint",
            "touchpoints_ingest",
            TOUCHPOINTS,
            touchpoints_table,
        ),
        TableSpec(
            IDENTITY_CHANGES,
            "io.omnijourney.IdentityChange",
            IDENTITY_CHANGES,
            IDENTITY_CHANGES,
            identity_changes_table,
        ),
        TableSpec(JOURNEYS, "io.omnijourney.Journey", JOURNEYS, JOURNEYS, journeys_table),
        TableSpec(SESSIONS, "io.omnijourney.Session", SESSIONS, SESSIONS, sessions_table),
        TableSpec(ALERTS, "io.omnijourney.Alert", ALERTS, ALERTS, alerts_table),
        TableSpec(DEAD_LETTERS, "io.omnijourney.DeadLetter", DEAD_LETTERS, DEAD_LETTERS, dead_letters_table),
    )
}


def sink_topics(topics: TopicNames) -> list[str]:
    """Every topic the sink consumes (its consumer group's lag is measured over these)."""
    return list(topic_tables(topics))


def topic_tables(topics: TopicNames) -> dict[str, TableSpec]:
    """Source topic -> the spec of the table it fills."""
    return {
        topics.resolved: SPECS[TOUCHPOINTS],
        topics.identity_changes: SPECS[IDENTITY_CHANGES],
        topics.journeys: SPECS[JOURNEYS],
        topics.sessions: SPECS[SESSIONS],
        topics.alerts: SPECS[ALERTS],
        topics.dead_letters: SPECS[DEAD_LETTERS],
    }
