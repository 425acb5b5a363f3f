"""Fault test: the Kafka broker stopped and restarted mid-stream.

The test brings its own broker (tests/integration/local_broker.py, the project's kafka.sh on
free ports): the shared one serves everyone else. Producer, worker and sink all point at it. While
a simulated stream is being produced the broker is stopped (controlled shutdown, as an operator or
a rolling restart would), stays away for a while with every client retrying, and comes back with
its data. The producer's queued records, the worker's uncommitted work and the sink's batch in
hand must all survive: ClickHouse ends with every valid touchpoint exactly once and every wire
poison record in dead_letters.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from producers.simulator import simulate
from tests.integration.conftest import make_isolated
from tests.integration.local_broker import local_broker
from tests.integration.reconcile import Feed, Fleet, Produced, assert_reconciled, count, wait_for, wait_stored

pytestmark = pytest.mark.integration

CUSTOMERS, DAYS = 300, 3
RATE = 100.0  # events/s
OUTAGE_S = 10.0  # how long the broker stays away: every client notices and retries


def test_the_broker_stopped_and_restarted_mid_stream_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    events = list(simulate(customers=CUSTOMERS, days=DAYS, seed=73))
    produced = Produced().add_simulation(events)
    third = len(events) // 3
    with local_broker(tmp_path) as broker:
        isolated = make_isolated(tmp_path, {"bootstrap.servers": broker.plaintext})
        fleet = Fleet(tmp_path, isolated.env)
        with fleet.watched():
            fleet.worker("worker")
            fleet.sink()
            # The records produced while the broker is away wait in the producer's queue.
            feed = Feed(isolated.settings, events, RATE, holds=[2 * third], close_timeout_s=300)
            feed.start()

            def under_way() -> bool:
                return feed.reached(third) and count(isolated, "SELECT count() FROM v_touchpoints") > 0

            wait_for(under_way, "the stream under way", fleet)
            broker.down()
            time.sleep(OUTAGE_S)
            fleet.assert_alive()  # a missing broker is no reason for a worker or the sink to exit
            broker.up()
            feed.release()
            feed.result()
            wait_stored(isolated, produced, timeout_s=300)
            assert_reconciled(isolated, produced)
