"""Replaying the sink's topics from the beginning must not change anything an analyst sees."""

from __future__ import annotations

import pytest

from schemas.codec import Codec
from sinks.store import StoreConfig, store_session
from tests.integration.conftest import Isolated
from tests.integration.sink_helpers import (
    FINAL_SURVIVOR,
    alerts,
    by_topic,
    dead_letters,
    encode,
    journeys,
    snapshot,
)
from tests.integration.sink_process import health, lag, produce, reset_to_beginning, start_sink, wait_until

pytestmark = pytest.mark.integration

TOUCHPOINTS = 600


def test_reset_to_beginning_and_rerun_leaves_every_analyst_view_unchanged(isolated: Isolated) -> None:
    codec, topics = Codec(), isolated.topics
    records = by_topic(topics, TOUCHPOINTS, seed=11)
    truncated = encode(codec, records[topics.resolved][3])[:-9]
    poison = [
        (topics.resolved, b"not avro at all"),  # decoded in Python: a dead letter
        (topics.resolved, truncated),  # current fingerprint: ClickHouse refuses its block
        (topics.journeys, encode(codec, alerts()[0])),  # the wrong record for the topic
    ]
    total = produce(isolated, records, poison, codec)
    # Small batches: many inserts, cut wherever consumption happens to stop.
    env = {"OMNIJOURNEY_SINK_BATCH_ROWS": "97", "OMNIJOURNEY_SINK_BATCH_MS": "200"}

    first_run = start_sink(isolated, "sink-first", **env)
    wait_until(lambda: lag(isolated) == 0, first_run, "the first run to catch up")
    first_health = health(isolated)
    assert first_run.stop() == 0
    assert first_health["rows_written"] == total
    store = StoreConfig(isolated.settings.store_url)
    with store_session(store) as client:
        before = snapshot(client)
        raw_before = client.query("SELECT count() FROM touchpoints").result_rows[0][0]

    reset_to_beginning(isolated)
    assert lag(isolated) == total

    second_run = start_sink(isolated, "sink-replay", **env)
    wait_until(lambda: lag(isolated) == 0, second_run, "the replay to catch up")
    second_health = health(isolated)
    assert second_run.stop() == 0
    with store_session(store) as client:
        after = snapshot(client)
        raw_after = client.query("SELECT count() FROM touchpoints").result_rows[0][0]
        client.command("OPTIMIZE TABLE touchpoints FINAL")
        merged = client.query("SELECT count() FROM touchpoints").result_rows[0][0]

    # The replay really re-read and re-sent everything ...
    assert second_health["rows_written"] == total
    # ... and analysts see exactly what they saw before it.
    assert after == before
    # What the design promises about the raw table: between one and two copies per touchpoint
    # until ClickHouse merges (the insert token drops a batch cut exactly as before; batches cut
    # differently are stored again), and exactly one after a merge.
    assert raw_before == TOUCHPOINTS
    assert TOUCHPOINTS <= raw_after <= 2 * TOUCHPOINTS
    assert merged == TOUCHPOINTS

    # And what they see is right, not merely stable.
    assert len(before["v_touchpoints"]) == TOUCHPOINTS
    unified_people = {row[4] for row in before["v_touchpoints_unified"]}  # person_id column
    assert not unified_people & {repr(p) for p in FINAL_SURVIVOR}
    assert len(before["v_dead_letters"]) == len(dead_letters()) + len(poison)
    assert len(before["v_journeys"]) == len({j.journey_id for j in journeys() if j.status.value != "merged"})
    assert first_health["dead_letters"] == second_health["dead_letters"] == len(poison)
