"""Fault tests on the workers: killed mid-stream, and a second worker joining and leaving.

The whole pipeline runs as real processes on the real broker (stitching identity stage and journey
stage in one worker, the sink apart). A simulated stream is produced in the background at a modest
rate and held at fixed points (:class:`tests.integration.reconcile.Feed`), so each fault lands
while the stream flows, part of it already on the broker and part still to come. At the end
ClickHouse must hold every valid touchpoint exactly once and every wire-poison record in
dead_letters (:func:`tests.integration.reconcile.assert_reconciled`).
"""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from producers.simulator import simulate
from tests.integration.conftest import Isolated, free_port
from tests.integration.reconcile import (
    Feed,
    Fleet,
    Produced,
    assert_reconciled,
    count,
    group_members,
    wait_for,
    wait_stored,
)

pytestmark = pytest.mark.integration

CUSTOMERS, DAYS = 400, 3  # about 1,500 touchpoints
RATE = 100.0  # events/s: the stream lasts about 15 s plus the holds


def stored_some(isolated: Isolated) -> bool:
    return count(isolated, "SELECT count() FROM v_touchpoints") > 0


def events_in(port: int) -> float:
    """Records the worker's stages have taken in so far (from its Prometheus page)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        body = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(body)
        if family.name == "omnijourney_stage_events_in"
        for sample in family.samples
        if sample.name == "omnijourney_stage_events_in_total"
    )


def test_a_worker_killed_mid_stream_and_restarted_loses_and_duplicates_nothing(isolated: Isolated) -> None:
    events = list(simulate(customers=CUSTOMERS, days=DAYS, seed=71))
    produced = Produced().add_simulation(events)
    third = len(events) // 3
    fleet = Fleet(isolated.base, isolated.env)
    with fleet.watched():
        worker = fleet.worker("worker")
        fleet.sink()
        feed = Feed(isolated.settings, events, RATE, holds=[2 * third])
        feed.start()
        wait_for(lambda: feed.reached(third) and stored_some(isolated), "the stream under way", fleet)
        assert fleet.kill(worker) == -9  # no shutdown: no commit, no flush, tables as they were
        # Same data dir: the restarted worker reopens its RocksDB tables and reads the changelog tail.
        fleet.worker("worker-restarted")
        feed.release()
        feed.result()
        wait_stored(isolated, produced)
        assert_reconciled(isolated, produced)


def test_a_second_worker_joining_and_leaving_mid_stream_loses_and_duplicates_nothing(
    isolated: Isolated,
) -> None:
    events = list(simulate(customers=CUSTOMERS, days=DAYS, seed=72))
    produced = Produced().add_simulation(events)
    quarter = len(events) // 4
    settings = isolated.settings
    fleet = Fleet(isolated.base, isolated.env)
    with fleet.watched():
        fleet.worker("worker")
        fleet.sink()
        feed = Feed(settings, events, RATE, holds=[2 * quarter, 3 * quarter])
        feed.start()
        wait_for(lambda: feed.reached(quarter) and stored_some(isolated), "the stream under way", fleet)
        port = free_port()
        second = fleet.worker(
            "worker-second",
            OMNIJOURNEY_WEB_PORT=str(port),
            OMNIJOURNEY_DATA_DIR=str(isolated.base / "data-second"),
        )
        wait_for(lambda: group_members(settings, settings.app_id) == ("STABLE", 2), "the rebalance", fleet)
        feed.release()  # the next quarter flows through both workers
        wait_for(lambda: feed.reached(3 * quarter), "the third quarter produced", fleet)
        wait_for(lambda: events_in(port) > 0, "the second worker taking a share of the stream", fleet)
        assert fleet.retire(second) == 0  # leaves (SIGTERM): its partitions go back to the first
        feed.release()
        feed.result()
        wait_stored(isolated, produced)
        assert_reconciled(isolated, produced)
