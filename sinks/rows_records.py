"""Arrow tables for identity_changes, journeys, sessions and alerts from decoded Avro records.

This is the Python write path, taken only by records in an older schema version or in a block
ClickHouse refused (the current schema goes to ClickHouse as Avro), so clarity beats speed here:
records are made Arrow-friendly (UUIDs as text) and converted with ``Table.from_pylist`` against
an explicit schema whose column names are the ClickHouse column names.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

TS = pa.timestamp("ms", tz="UTC")
STRINGS = pa.list_(pa.string())
IDENTIFIERS = pa.list_(pa.struct([("type", pa.string()), ("value", pa.string())]))

IDENTITY_CHANGE_SCHEMA = pa.schema(
    [
        ("change_id", pa.string()),
        ("kind", pa.string()),
        ("person_id", pa.string()),
        ("survivor_person_id", pa.string()),
        ("related_person_ids", STRINGS),
        ("event_id", pa.string()),
        ("identifiers", IDENTIFIERS),
        ("rule", pa.string()),
        ("reason", pa.string()),
        ("event_time", TS),
        ("changed_at", TS),
    ]
)

JOURNEY_SCHEMA = pa.schema(
    [
        ("journey_id", pa.string()),
        ("person_id", pa.string()),
        ("version", pa.uint64()),
        ("started_at", TS),
        ("updated_at", TS),
        ("ended_at", TS),
        ("status", pa.string()),
        ("stage", pa.string()),
        ("channel_path", STRINGS),
        ("first_touch_channel", pa.string()),
        ("last_touch_channel", pa.string()),
        ("channel_switches", pa.int32()),
        ("touch_count", pa.int32()),
        ("time_to_outcome_ms", pa.int64()),
        ("first_event_id", pa.string()),
        ("last_event_id", pa.string()),
        ("order_ids", STRINGS),
        ("reservation_ids", STRINGS),
        ("case_ids", STRINGS),
        ("campaign_ids", STRINGS),
        ("store_ids", STRINGS),
        ("amount_cents", pa.int64()),
        ("currency", pa.string()),
        ("merged_into_journey_id", pa.string()),
    ]
)

SESSION_SCHEMA = pa.schema(
    [
        ("session_id", pa.string()),
        ("person_id", pa.string()),
        ("channel", pa.string()),
        ("started_at", TS),
        ("ended_at", TS),
        ("event_count", pa.int32()),
        ("version", pa.uint64()),
        ("closed", pa.bool_()),
        ("journey_id", pa.string()),
        ("channel_session_id", pa.string()),
        ("store_id", pa.string()),
        ("first_event_id", pa.string()),
        ("last_event_id", pa.string()),
    ]
)

ALERT_SCHEMA = pa.schema(
    [
        ("alert_id", pa.string()),
        ("kind", pa.string()),
        ("person_id", pa.string()),
        ("detected_at", TS),
        ("event_time", TS),
        ("channel", pa.string()),
        ("previous_channel", pa.string()),
        ("store_id", pa.string()),
        ("case_id", pa.string()),
        ("conversation_id", pa.string()),
        ("reservation_id", pa.string()),
        ("campaign_id", pa.string()),
        ("url", pa.string()),
        ("message", pa.string()),
        ("evidence_event_ids", STRINGS),
        ("retracted_by", pa.string()),
    ]
)


def _plain(value: Any) -> Any:
    """UUIDs (fastavro's reading of ``logicalType: uuid``) as text; lists element by element."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def records_table(records: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """The columns of ``schema`` taken from each record by name."""
    names = schema.names
    rows = [{name: _plain(rec.get(name)) for name in names} for rec in records]
    return pa.Table.from_pylist(rows, schema=schema)


def identity_changes_table(records: Sequence[dict[str, Any]]) -> pa.Table:
    return records_table(records, IDENTITY_CHANGE_SCHEMA)


def journeys_table(records: Sequence[dict[str, Any]]) -> pa.Table:
    return records_table(records, JOURNEY_SCHEMA)


def sessions_table(records: Sequence[dict[str, Any]]) -> pa.Table:
    return records_table(records, SESSION_SCHEMA)


def alerts_table(records: Sequence[dict[str, Any]]) -> pa.Table:
    return records_table(records, ALERT_SCHEMA)
