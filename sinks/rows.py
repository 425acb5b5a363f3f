"""Turning decoded Avro records into Arrow tables shaped like the ClickHouse tables.

Columnar on purpose: ``insert_arrow`` is about four times faster into ClickHouse than Python rows
(shared/notes/clickhouse-chdb.md), and building columns in one pass over the records keeps the
Python work per row small.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

TS = pa.timestamp("ms", tz="UTC")
STRINGS = pa.list_(pa.string())

TOUCHPOINT_COLUMNS: dict[str, pa.DataType] = {
    "event_id": pa.string(),
    "event_time": TS,
    "channel": pa.string(),
    "event_type": pa.string(),
    "person_id": pa.string(),
    "identifier_types": STRINGS,
    "identifier_values": STRINGS,
    "source": pa.string(),
    "session_id": pa.string(),
    "conversation_id": pa.string(),
    "case_id": pa.string(),
    "store_id": pa.string(),
    "agent_id": pa.string(),
    "campaign_id": pa.string(),
    "url": pa.string(),
    "purchasable": pa.bool_(),
    "product_ids": STRINGS,
    "order_id": pa.string(),
    "reservation_id": pa.string(),
    "amount_cents": pa.int64(),
    "currency": pa.string(),
    "summary": pa.string(),
    "consent_analytics": pa.bool_(),
    "consent_marketing": pa.bool_(),
    "consent_personalization": pa.bool_(),
    "attributes": pa.map_(pa.string(), pa.string()),
    "resolved_at": TS,
    "source_topic": pa.string(),
    "source_partition": pa.int32(),
    "source_offset": pa.int64(),
}
_CONTEXT_FIELDS = (
    "store_id", "agent_id", "campaign_id", "url", "purchasable", "product_ids", "order_id",
    "reservation_id", "amount_cents", "currency", "summary",
)  # fmt: skip
_TOP_FIELDS = ("channel", "event_type", "source", "session_id", "conversation_id", "case_id")
_CONSENT_FIELDS = ("analytics", "marketing", "personalization")

DEAD_LETTER_COLUMNS: dict[str, pa.DataType] = {
    "failed_at": TS,
    "stage": pa.string(),
    "error_type": pa.string(),
    "reason": pa.string(),
    "field": pa.string(),
    "source_topic": pa.string(),
    "source_partition": pa.int32(),
    "source_offset": pa.int64(),
    "key": pa.binary(),
    "payload": pa.binary(),
    "payload_size": pa.int64(),
}


def _table(columns: dict[str, list[Any]], types: dict[str, pa.DataType]) -> pa.Table:
    return pa.table({name: pa.array(columns[name], type=types[name]) for name in types})


def touchpoints_table(records: Sequence[dict[str, Any]]) -> pa.Table:
    """Arrow table for ``touchpoints`` from decoded ResolvedTouchpoint records."""
    cols: dict[str, list[Any]] = {name: [] for name in TOUCHPOINT_COLUMNS}
    for rec in records:
        tp = rec["touchpoint"]
        ctx = tp["context"]
        consent = tp["consent"] or {}
        cols["event_id"].append(str(tp["event_id"]))
        cols["event_time"].append(tp["event_time"])
        cols["person_id"].append(rec["person_id"])
        cols["identifier_types"].append([i["type"] for i in tp["identifiers"]])
        cols["identifier_values"].append([i["value"] for i in tp["identifiers"]])
        for name in _TOP_FIELDS:
            cols[name].append(tp[name])
        for name in _CONTEXT_FIELDS:
            cols[name].append(ctx[name])
        for name in _CONSENT_FIELDS:
            cols[f"consent_{name}"].append(consent.get(name))
        cols["attributes"].append(list(tp["attributes"].items()))
        cols["resolved_at"].append(rec["resolved_at"])
        cols["source_topic"].append(rec["source_topic"])
        cols["source_partition"].append(rec["source_partition"])
        cols["source_offset"].append(rec["source_offset"])
    return _table(cols, TOUCHPOINT_COLUMNS)


def dead_letters_table(records: Sequence[dict[str, Any]]) -> pa.Table:
    """Arrow table for ``dead_letters``; key and payload stay the original bytes.

    Bytes as they were (ClickHouse ``String`` holds any bytes), exactly as the Avro path stores them,
    so a dead letter reads the same whichever path wrote it.
    """
    cols: dict[str, list[Any]] = {name: [rec.get(name) for rec in records] for name in DEAD_LETTER_COLUMNS}
    return _table(cols, DEAD_LETTER_COLUMNS)
