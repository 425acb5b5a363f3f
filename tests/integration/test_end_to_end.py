"""A simulated week for 2,000 customers through every real part, reconciled against ground truth.

Producer SDK → broker → stitching identity stage → journey stage → sink → chDB, as real processes.
At the end ClickHouse must hold exactly one row per valid touchpoint (the same set of event ids the
simulator produced), every wire-poison record in dead_letters, the per-channel counts the truth
gives, and journeys, sessions and alerts the journey stage derived from them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from producers.simulator import load_ground_truth, simulate
from streams.demo import wait_caught_up
from streams.produce import produce_simulation
from tests.integration.conftest import Isolated
from tests.integration.sink_process import sql

pytestmark = pytest.mark.integration

CUSTOMERS, DAYS, SEED = 2_000, 7, 31


def rows(isolated: Isolated, query: str) -> list[list[Any]]:
    status, body = sql(isolated, query)
    assert status == 200, body
    return list(body["rows"])


def test_a_simulated_week_reconciles_with_ground_truth(stitched: Isolated, tmp_path: Path) -> None:
    settings = stitched.settings
    truth_path = tmp_path / "truth.json"
    summary = produce_simulation(
        settings, customers=CUSTOMERS, days=DAYS, seed=SEED, rate=None, truth_path=truth_path, progress=False
    )
    truth = load_ground_truth(truth_path)
    valid_ids = {e.event_id for e in simulate(customers=CUSTOMERS, days=DAYS, seed=SEED) if e.valid}
    assert len(valid_ids) == truth.valid_events == summary.valid
    wait_caught_up(settings, timeout_s=900)
    deadline = time.monotonic() + 120  # the sink writes its last batch after its last commit check
    while (
        rows(stitched, "SELECT count() FROM v_touchpoints")[0][0] < len(valid_ids)
        and time.monotonic() < deadline
    ):
        time.sleep(1.0)

    stored = rows(stitched, "SELECT toString(event_id), count() FROM touchpoints FINAL GROUP BY event_id")
    assert {r[0] for r in stored} == valid_ids
    assert max(r[1] for r in stored) == 1  # one row per touchpoint for analysts
    assert rows(stitched, "SELECT count() FROM v_touchpoints")[0][0] == len(valid_ids)

    wire_poison = sum(1 for i in truth.invalid if i.stage == "wire")
    assert rows(stitched, "SELECT count() FROM v_dead_letters")[0][0] == wire_poison

    mix = {r[0]: r[1] for r in rows(stitched, "SELECT channel, count() FROM v_touchpoints GROUP BY channel")}
    assert mix == {channel: n for channel, n in truth.channel_counts.items() if n}

    purchases = sum(1 for j in truth.journeys if j.outcome == "purchase")
    outcomes = dict(rows(stitched, "SELECT status, count() FROM v_journeys GROUP BY status"))
    assert outcomes.get("purchase", 0) == purchases  # every purchase ends exactly one journey
    sessions = rows(stitched, "SELECT sum(event_count), count() FROM v_sessions")[0]
    assert sessions[0] == len(valid_ids)  # every touchpoint in exactly one live session
    kinds = {r[0] for r in rows(stitched, "SELECT DISTINCT kind FROM v_alerts")}
    assert {"reservation_missing_at_store", "campaign_landing_not_purchasable"} <= kinds
