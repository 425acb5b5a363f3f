"""The worker's metrics: counters the agents call, consumer lag from what the consumer knows.

The page itself, on a real worker's web server, is exercised by
tests/integration/test_worker_crash.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import faust
import pytest
from faust.types import TP
from prometheus_client.parser import text_string_to_metric_families

from schemas.errors import InvalidEventError
from streams import metrics
from streams.metrics import REGISTRY, ConsumerLag


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_stage_counters_count_per_stage_and_output() -> None:
    stage = f"s{uuid.uuid4().hex[:8]}"  # counters live as long as the process: fresh labels
    counts = metrics.StageMetrics(stage)
    counts.count_in()
    counts.count_in(4)
    counts.count_out("resolved", 3)
    counts.count_out("routing")
    counts.count_out("resolved")
    counts.count_batch()
    counts.count_batch()
    metrics.StageMetrics(stage).count_in()  # a second instance adds to the same series
    assert sample("omnijourney_stage_batches_total", {"stage": stage}) == 2
    assert sample("omnijourney_stage_events_in_total", {"stage": stage}) == 6
    assert sample("omnijourney_stage_events_out_total", {"stage": stage, "output": "resolved"}) == 4
    assert sample("omnijourney_stage_events_out_total", {"stage": stage, "output": "routing"}) == 1


def test_dead_letters_are_counted_by_error_type() -> None:
    stage = f"s{uuid.uuid4().hex[:8]}"
    metrics.count_dead_letter(stage, InvalidEventError("bad value", field="event_time"))
    metrics.StageMetrics(stage).count_dead_letter(InvalidEventError("bad value", field="channel"))
    metrics.count_dead_letter(stage, ValueError("x"))
    labels = {"stage": stage, "error_type": "InvalidEventError"}
    assert sample("omnijourney_dead_letters_total", labels) == 2
    assert sample("omnijourney_dead_letters_total", {"stage": stage, "error_type": "ValueError"}) == 1


@dataclass(frozen=True)
class FakeChange:
    kind: str


def test_identity_changes_are_counted_by_kind() -> None:
    before = sample("omnijourney_identity_changes_total", {"kind": "merge"})
    blocked = sample("omnijourney_identity_changes_total", {"kind": "identifier_blocked"})
    metrics.count_identity_changes(
        [FakeChange("merge"), FakeChange("identifier_blocked"), FakeChange("merge")]
    )
    assert sample("omnijourney_identity_changes_total", {"kind": "merge"}) == before + 2
    assert sample("omnijourney_identity_changes_total", {"kind": "identifier_blocked"}) == blocked + 1


@dataclass
class FakeMonitor:
    tp_committed_offsets: dict[TP, int] = field(default_factory=dict)
    tp_read_offsets: dict[TP, int] = field(default_factory=dict)


@dataclass
class FakeConsumer:
    highwaters: dict[TP, int | None]

    def assignment(self) -> set[TP]:
        return set(self.highwaters)

    def highwater(self, tp: TP) -> int | None:
        return self.highwaters[tp]


@dataclass
class FakeApp:
    consumer: Any
    monitor: FakeMonitor


def test_lag_is_end_offset_minus_committed_and_unknown_partitions_are_left_out() -> None:
    committed, read_only, unknown, no_fetch = (TP("t.in", p) for p in range(4))
    app = FakeApp(
        FakeConsumer({committed: 120, read_only: 50, unknown: 10, no_fetch: None}),
        FakeMonitor({committed: 100, no_fetch: 3}, {read_only: 44}),
    )
    lag = ConsumerLag()
    lag.bind(app)  # type: ignore[arg-type]
    # committed: 120 - 100; read only: the next offset after 44 is 45, so 50 - 45.
    assert lag.lags() == {("t.in", 0): 20, ("t.in", 1): 5}
    family = next(iter(lag.collect()))
    values = {s.labels["partition"]: s.value for s in family.samples}
    assert values == {"0": 20.0, "1": 5.0}


def test_lag_has_no_samples_while_the_consumer_cannot_answer() -> None:
    class NotStarted:
        def assignment(self) -> set[TP]:
            raise RuntimeError("Consumer thread not yet started")

    lag = ConsumerLag()
    lag.bind(FakeApp(NotStarted(), FakeMonitor()))  # type: ignore[arg-type]
    assert lag.lags() == {}
    assert lag.collect().__next__().samples == []


def test_exposition_is_prometheus_text_with_the_stage_families() -> None:
    metrics.StageMetrics("exposition-test").count_in()
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert families["omnijourney_stage_events_in"].type == "counter"
    assert "omnijourney_consumer_lag" in families
    assert "process_resident_memory_bytes" in families


@pytest.mark.parametrize("faust_sensor", [False, True])
def test_the_page_is_declared_once_per_app(faust_sensor: bool) -> None:
    app = faust.App(f"m{uuid.uuid4().hex[:8]}", autodiscover=False)
    metrics.register_metrics_page(app, faust_sensor=faust_sensor)
    # A second route for the same path would make the web server refuse to start.
    metrics.register_metrics_page(app, faust_sensor=faust_sensor)
    assert "/metrics" in app.web.views
    assert type(app.monitor).__name__ == ("PrometheusMonitor" if faust_sensor else "Monitor")
