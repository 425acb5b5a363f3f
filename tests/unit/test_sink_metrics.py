"""The sink's metrics: what the runner counts, what its status shows, and the /metrics page."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from threading import Thread
from typing import Any

from confluent_kafka import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from sinks import metrics as sink_metrics
from sinks.batch import Batch
from sinks.connection import StoreConnection
from sinks.metrics import REGISTRY, SinkState, consumer_lag
from sinks.query_server import bearer, make_server
from sinks.status import SinkStatus
from tests.unit.test_sink_runner import FakeWriter, make, steps


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_count_batch_counts_decoded_and_encoded_rows_per_table() -> None:
    batch = Batch(max_rows=100, max_ms=1000)
    batch.add("identity_map_test", {"a": 1}, "t", 0, 0)
    batch.add("identity_map_test", {"a": 2}, "t", 0, 1)
    batch.add_encoded("journeys_test", object(), "t", 0, 2)  # type: ignore[arg-type]
    before = sample("omnijourney_sink_rows_written_total", {"table": "identity_map_test"})
    sink_metrics.count_batch(batch)
    assert sample("omnijourney_sink_rows_written_total", {"table": "identity_map_test"}) == before + 2
    assert sample("omnijourney_sink_rows_written_total", {"table": "journeys_test"}) >= 1


def test_the_runner_times_writes_and_counts_rows_and_store_errors() -> None:
    writes = sample("omnijourney_sink_batch_write_seconds_count")
    rows = sample("omnijourney_sink_rows_written_total", {"table": "touchpoints"})
    errors = sample("omnijourney_sink_store_errors_total")
    writer = FakeWriter()
    runner, _ = make(60, writer)
    steps(runner, 4)  # 7 messages a step, batches of 10
    assert runner.status.rows_written, "the fake consumer should have filled committed batches"
    assert sample("omnijourney_sink_batch_write_seconds_count") == writes + writer.attempts
    # Counted once committed, like the status: the fake writer returns every row it was given.
    committed = runner.status.rows_written
    assert sample("omnijourney_sink_rows_written_total", {"table": "touchpoints"}) == rows + committed
    writer.up = False
    steps(runner, 4)
    assert runner.status.state == "degraded"
    assert sample("omnijourney_sink_store_errors_total") > errors
    assert sample("omnijourney_sink_degraded") == 1.0  # the runner registered its status


@dataclass
class LagConsumer:
    highs: dict[tuple[str, int], int]

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t, p in self.highs]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False) -> tuple[int, int]:
        assert cached, "a scrape must not ask the broker"
        return 0, self.highs[(tp.topic, tp.partition)]


def test_lag_is_high_watermark_minus_committed_for_committed_partitions() -> None:
    consumer = LagConsumer({("r", 0): 500, ("r", 1): 80, ("r", 2): -1001})
    # Partition 1 has no commit yet, partition 2 no fetch yet: both are left out.
    assert consumer_lag(consumer, {"r[0]": 420, "r[2]": 7}) == {("r", 0): 80}
    assert consumer_lag(None, {"r[0]": 420}) == {}


def test_state_families_follow_the_status() -> None:
    state = SinkState()
    assert list(state.collect()) == []  # no runner yet: nothing to report
    status = SinkStatus(state="degraded", buffered_rows=12, buffer_limit=100, batches=3)
    status.committed["r[0]"] = 40
    state.watch(LagConsumer({("r", 0): 45}), status)
    values = {f.name: f.samples for f in state.collect()}
    assert values["omnijourney_sink_degraded"][0].value == 1.0
    assert values["omnijourney_sink_buffered_rows"][0].value == 12
    assert values["omnijourney_sink_batches"][0].value == 3
    assert [(s.labels, s.value) for s in values["omnijourney_sink_consumer_lag"]] == [
        ({"topic": "r", "partition": "0"}, 5.0)
    ]
    status.state = "ok"
    values = {f.name: f.samples for f in state.collect()}
    assert values["omnijourney_sink_degraded"][0].value == 0.0


def test_the_http_server_serves_metrics_in_prometheus_text_format() -> None:
    sink_metrics.watch(None, SinkStatus(state="ok"))
    server = make_server("127.0.0.1", 0, StoreConnection(client=object()), lambda: {"state": "ok"})
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            content_type: Any = response.headers["Content-Type"]
            body = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert content_type.startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body)}
    assert families["omnijourney_sink_batch_write_seconds"].type == "histogram"
    assert families["omnijourney_sink_degraded"].samples[0].value == 0.0


def test_sql_asks_for_the_api_token_and_health_does_not() -> None:
    class OneRow:
        result_rows, column_names, column_types = [(1,)], ("one",), ()

    class Client:
        def query(self, sql: str, settings: dict[str, Any]) -> OneRow:
            return OneRow()

    server = make_server("127.0.0.1", 0, StoreConnection(client=Client()), lambda: {"state": "ok"}, "s3cret")
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def post_sql(headers: dict[str, str]) -> int:
        request = urllib.request.Request(f"{base}/sql", data=b"SELECT 1", method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        missing, wrong = post_sql({}), post_sql(bearer("guess"))
        right = post_sql(bearer("s3cret"))
        with urllib.request.urlopen(f"{base}/health", timeout=10) as response:
            health = response.status
    finally:
        server.shutdown()
        server.server_close()
    assert (missing, wrong, right, health) == (401, 401, 200, 200)
