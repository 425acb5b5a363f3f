"""ClickHouse outages, for real: a store that cannot be reached at start, and a store whose table
storage breaks mid-stream. Nothing is lost, nothing is duplicated, and the sink says it is degraded.

No ClickHouse server can run on this machine (shared/notes/clickhouse-chdb.md), so the unreachable
store is a ``clickhouse://`` URL to a closed loopback port, and the mid-stream failure is chDB's own:
the touchpoints table's data directory is replaced by a file, so every insert into it fails inside
ClickHouse with a filesystem error until the directory is put back.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sinks.store import StoreConfig, store_session
from tests.integration.conftest import Isolated, free_port
from tests.integration.sink_helpers import by_topic, resolved_touchpoints
from tests.integration.sink_process import (
    committed,
    group_members,
    health,
    lag,
    produce,
    sql,
    start_sink,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_unreachable_store_at_start_degrades_then_a_reachable_one_gets_everything_once(
    isolated: Isolated,
) -> None:
    topics = isolated.topics
    records = by_topic(topics, 300, seed=21)
    total = produce(isolated, records)
    dead_store = f"clickhouse://127.0.0.1:{free_port()}/omni"
    env = {"OMNIJOURNEY_SINK_BATCH_ROWS": "100"}

    down = start_sink(isolated, "sink-down", OMNIJOURNEY_STORE_URL=dead_store, **env)
    wait_until(lambda: health(isolated)["retries"] >= 3, down, "three failed attempts to open the store")
    state = health(isolated)
    assert state["state"] == "degraded"
    assert state["store"] == dead_store
    assert "cannot open store" in state["last_error"]
    assert "last_error_code" in state
    assert state["last_error_retryable"] is True
    wait_until(
        lambda: group_members(isolated)[1] == 1, down, "the degraded sink to hold its group membership"
    )
    assert "STABLE" in group_members(isolated)[0]
    status, body = sql(isolated, "SELECT 1")
    assert status == 503
    assert "store not open" in body["error"]

    more = {topics.resolved: list(resolved_touchpoints(2000, seed=22))}
    total += produce(isolated, more)
    retries = health(isolated)["retries"]
    wait_until(lambda: health(isolated)["retries"] >= retries + 2, down, "two more attempts")
    state = health(isolated)
    assert state["state"] == "degraded"
    assert state["buffered_rows"] == 0  # paused: nothing gathered while it cannot write
    assert state["rows_written"] == 0
    assert all(offset < 0 for offset in committed(isolated).values())
    assert lag(isolated) == total
    assert down.stop() == 0

    up = start_sink(isolated, "sink-up", **env)
    wait_until(lambda: lag(isolated) == 0, up, "the sink with a reachable store to catch up")
    assert health(isolated)["state"] == "ok"
    assert up.stop() == 0
    touchpoints = 300 + 2000
    with store_session(StoreConfig(isolated.settings.store_url)) as client:
        raw = client.query("SELECT count(), uniqExact(event_id) FROM touchpoints").result_rows[0]
        seen = client.query("SELECT count() FROM v_touchpoints").result_rows[0][0]
        journeys = client.query("SELECT count() FROM journeys FINAL").result_rows[0][0]
    assert tuple(raw) == (touchpoints, touchpoints)  # nothing written twice, even before merging
    assert seen == touchpoints
    assert journeys == len({j.journey_id for j in records[topics.journeys]})  # type: ignore[attr-defined]


def test_storage_failing_mid_stream_pauses_retries_and_loses_nothing(isolated: Isolated) -> None:
    topics = isolated.topics
    sink = start_sink(isolated, "sink", OMNIJOURNEY_SINK_BATCH_ROWS="50", OMNIJOURNEY_SINK_BATCH_MS="200")
    first = resolved_touchpoints(200, seed=31)
    produce(isolated, {topics.resolved: list(first)})
    wait_until(lambda: lag(isolated) == 0, sink, "the first wave to be stored")
    before = committed(isolated)

    status, body = sql(
        isolated,
        "SELECT data_paths[1] FROM system.tables WHERE database = currentDatabase() AND name = 'touchpoints'",
    )
    assert status == 200, body
    table_dir = Path(body["rows"][0][0].rstrip("/"))
    moved = table_dir.with_name(table_dir.name + ".away")
    os.rename(table_dir, moved)
    table_dir.write_text("the disk under this table is gone\n")
    try:
        second = resolved_touchpoints(3000, seed=32)  # different seed: new event ids
        produce(isolated, {topics.resolved: list(second)})
        wait_until(lambda: health(isolated)["retries"] >= 3, sink, "the sink to fail and retry three times")
        state = health(isolated)
        assert state["state"] == "degraded"
        assert state["last_error_code"] == 1001
        assert "filesystem" in state["last_error"]
        # At most the failed batch and the one filling, whatever arrives meanwhile.
        assert state["buffered_rows"] <= state["buffer_limit"] < len(second)
        assert lag(isolated) > 0
        assert committed(isolated) == before  # nothing committed while nothing could be written
    finally:
        table_dir.unlink()
        os.rename(moved, table_dir)

    wait_until(lambda: lag(isolated) == 0, sink, "the sink to recover and catch up")
    assert health(isolated)["state"] == "ok"
    assert sink.stop() == 0
    with store_session(StoreConfig(isolated.settings.store_url)) as client:
        raw = client.query("SELECT count(), uniqExact(event_id) FROM touchpoints").result_rows[0]
        seen = client.query("SELECT toString(event_id) FROM v_touchpoints").result_rows
    expected = {str(r.touchpoint.event_id) for r in [*first, *second]}
    assert sorted(r[0] for r in seen) == sorted(expected)
    # One month of event times means one part per insert: a failed insert left nothing behind,
    # so even the raw table holds every touchpoint exactly once.
    assert tuple(raw) == (len(expected), len(expected))
