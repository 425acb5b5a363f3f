"""Prometheus metrics of the sink process, served by its HTTP server at ``/metrics``.

One registry per process (:data:`REGISTRY`, not prometheus_client's global one). What it holds:

- ``omnijourney_sink_batch_write_seconds``: histogram of one batch's write to ClickHouse, failed
  attempts included (a store that times out shows here before it shows as degraded);
- ``omnijourney_sink_rows_written_total{table}``: rows written and committed, per table;
- ``omnijourney_sink_store_errors_total``: failed opens or writes of the store;
- from the runner's status, read when scraped: ``omnijourney_sink_degraded`` (1 while writes
  fail and consumption is paused), ``omnijourney_sink_buffered_rows``,
  ``omnijourney_sink_buffer_limit_rows``, ``omnijourney_sink_batches_total``,
  ``omnijourney_sink_commit_failures_total``;
- ``omnijourney_sink_consumer_lag{topic,partition}``: the consumer's cached high watermark (from
  its last fetch, no broker request) minus the offset committed after the last write;
- ``process_*``: memory, CPU, open files.

The sink depends on ``schemas`` only; this module knows nothing of the stream workers' metrics.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from sinks.batch import Batch
from sinks.status import SinkStatus

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

WRITE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

BATCH_WRITE_SECONDS = Histogram(
    "omnijourney_sink_batch_write_seconds",
    "Time to write one batch to ClickHouse, failed attempts included.",
    buckets=WRITE_BUCKETS,
    registry=REGISTRY,
)
ROWS_WRITTEN = Counter(
    "omnijourney_sink_rows_written",
    "Rows written to ClickHouse and committed, per table.",
    ["table"],
    registry=REGISTRY,
)
STORE_ERRORS = Counter(
    "omnijourney_sink_store_errors", "Failed opens or writes of the store.", registry=REGISTRY
)


def count_batch(batch: Batch) -> None:
    """After a batch was written and its offsets committed: its rows, per table."""
    for table in set(batch.rows) | set(batch.encoded):
        rows = len(batch.rows.get(table, ())) + len(batch.encoded.get(table, ()))
        if rows:
            ROWS_WRITTEN.labels(table).inc(rows)


class SinkState(Collector):
    """Gauges and totals read from the runner's status (and its consumer) at scrape time."""

    def __init__(self) -> None:
        self.status: SinkStatus | None = None
        self.consumer: Any = None

    def watch(self, consumer: Any, status: SinkStatus) -> None:
        self.consumer, self.status = consumer, status

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        status = self.status
        if status is None:
            return
        state = status.as_dict()
        yield GaugeMetricFamily(
            "omnijourney_sink_degraded",
            "1 while the store refuses writes and consumption is paused, else 0.",
            value=1.0 if state["state"] == "degraded" else 0.0,
        )
        yield GaugeMetricFamily(
            "omnijourney_sink_buffered_rows", "Rows held unwritten.", value=state["buffered_rows"]
        )
        yield GaugeMetricFamily(
            "omnijourney_sink_buffer_limit_rows",
            "The most rows the sink will ever hold unwritten.",
            value=state["buffer_limit"],
        )
        yield CounterMetricFamily(
            "omnijourney_sink_batches", "Batches written and committed.", value=state["batches"]
        )
        yield CounterMetricFamily(
            "omnijourney_sink_commit_failures",
            "Offset commits that failed after a successful write (the batch replays).",
            value=state["commit_failures"],
        )
        lag = GaugeMetricFamily(
            "omnijourney_sink_consumer_lag",
            "High watermark minus committed offset, per assigned partition.",
            labels=["topic", "partition"],
        )
        for (topic, partition), value in sorted(consumer_lag(self.consumer, state["committed"]).items()):
            lag.add_metric([topic, str(partition)], value)
        yield lag


def consumer_lag(consumer: Any, committed: dict[str, int]) -> dict[tuple[str, int], int]:
    """Lag of each assigned partition with a committed offset; empty when the consumer cannot say.

    ``committed`` maps ``topic[partition]`` to the next offset to consume (SinkStatus.committed).
    """
    if consumer is None:
        return {}
    lags = {}
    try:
        for tp in consumer.assignment():
            done = committed.get(f"{tp.topic}[{tp.partition}]")
            if done is None:
                continue
            _, high = consumer.get_watermark_offsets(tp, cached=True)
            if high is not None and high >= 0:
                lags[(tp.topic, tp.partition)] = max(0, int(high) - done)
    except Exception:  # closed, or not assigned yet: no samples this scrape
        return {}
    return lags


SINK_STATE = SinkState()
REGISTRY.register(SINK_STATE)


def watch(consumer: Any, status: SinkStatus) -> None:
    """Report this runner's status and consumer (one runner per sink process)."""
    SINK_STATE.watch(consumer, status)


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_PLAIN_0_0_4
