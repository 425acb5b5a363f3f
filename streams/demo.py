"""``omnijourney demo``: the whole pipeline on simulated channels, ending in what an analyst sees.

Starts the identity worker and the sink in the background (logs in ``.run/logs``; ``make down``
stops them), produces a simulated sample of every channel through the producer SDK, waits until
both consumer groups have caught up, then prints the saved analyses.
"""

from __future__ import annotations

import sys
import time

from schemas.errors import OmnijourneyError
from sinks.query import render
from sinks.saved import saved_query
from sinks.specs import sink_topics
from streams.admin import ensure_topics, group_lag, pipeline_topics
from streams.settings import Settings
from streams.supervise import Service, run_dir, start, wait_http
from streams.wiring import sink_url, store_query, worker_url

SUMMARY = ("channel_transitions", "journey_funnel", "broken_handoffs", "dead_letters")


def _ensure_service(name: str, args: list[str], health_url: str) -> Service | None:
    """Start a service unless one already answers at ``health_url`` (a second demo reuses them)."""
    import urllib.request

    try:
        with urllib.request.urlopen(health_url, timeout=2):
            print(f"  {name}: already running")
            return None
    except OSError:
        pass
    service = start(name, args)
    wait_http(health_url, service)
    print(f"  {name}: started (pid {service.process.pid}, log {service.log_path})")
    return service


def _healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except OSError:
        return False


def wait_caught_up(settings: Settings, timeout_s: float = 900.0) -> None:
    """Until the worker and the sink have committed everything produced (lag 0 for both groups).

    Fails at once, pointing at the logs, when either service stops answering.
    """
    kafka, topics = settings.kafka_client_config(), settings.topics
    health = {"worker": f"{worker_url(settings)}/health", "sink": f"{sink_url(settings)}/health"}
    deadline = time.monotonic() + timeout_s
    last_report, quiet = 0.0, 0
    worker_topics = [
        *topics.all_touchpoints,
        topics.identity_routing,
        topics.resolved,
        topics.identity_changes,
        topics.journey_handoff,
        topics.journey_index,
    ]
    while time.monotonic() < deadline:
        for name, url in health.items():
            if not _healthy(url):
                raise OmnijourneyError(f"the {name} stopped; see {run_dir() / 'logs' / name}.log")
        worker_lag = group_lag(kafka, settings.app_id, worker_topics)
        sink_lag = group_lag(kafka, settings.sink_group, sink_topics(topics))
        # Hops of the identity stage produce more work: only a few quiet checks in a row mean done.
        quiet = quiet + 1 if worker_lag == 0 and sink_lag == 0 else 0
        if quiet >= 3:
            print("  pipeline caught up: every produced touchpoint is stored", file=sys.stderr)
            return
        if time.monotonic() - last_report >= 5:
            print(f"  waiting: worker lag {worker_lag:,}, sink lag {sink_lag:,}", file=sys.stderr, flush=True)
            last_report = time.monotonic()
        time.sleep(1.0)
    raise OmnijourneyError(f"the pipeline did not catch up in {timeout_s:.0f}s; see {run_dir() / 'logs'}")


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60)} s" if seconds >= 60 else f"{seconds:.0f} s"


def run_demo(settings: Settings, *, customers: int, days: int, seed: int) -> None:
    from streams.produce import produce_simulation

    print("omnijourney demo")
    began = time.monotonic()
    ensure_topics(
        settings.kafka_client_config(),
        pipeline_topics(settings.topics),
        settings.topic_partitions,
        settings.topic_replication,
    )
    _ensure_service("worker", ["worker", "-l", "info"], f"{worker_url(settings)}/health")
    _ensure_service("sink", ["sink"], f"{sink_url(settings)}/health")

    print(f"producing {days} simulated days of {customers} customers on every channel (seed {seed})")
    summary = produce_simulation(
        settings,
        customers=customers,
        days=days,
        seed=seed,
        rate=None,
        truth_path=run_dir() / "demo-ground-truth.json",
    )
    sent = time.monotonic()
    wait_caught_up(settings)
    caught_up = time.monotonic()
    counts = store_query(
        settings, "SELECT (SELECT count() FROM v_touchpoints), (SELECT count() FROM v_dead_letters)"
    )["rows"][0]
    print(
        f"ClickHouse holds {counts[0]:,} touchpoints ({summary.valid:,} valid ones produced by this run) "
        f"and {counts[1]:,} dead letters ({summary.wire:,} poison records sent by this run); "
        f"the pipeline caught up {caught_up - sent:,.0f} s after the last event was sent, "
        f"{_minutes(caught_up - began)} after the demo started"
    )

    for name in SUMMARY:
        item = saved_query(name)
        print(f"\n== {item.description}")
        print(render(store_query(settings, item.sql)))
    print(
        "\nThe worker and the sink keep running. Next:\n"
        f"  {worker_url(settings)}/desk   agent desk: look a customer up by phone, e-mail, loyalty card\n"
        "      (token: OMNIJOURNEY_API_TOKEN; try phone 333 123 4567, Giulia of the green sofa)\n"
        "  .venv/bin/omnijourney report --out .run/report.html   charts of every saved analysis\n"
        "  .venv/bin/omnijourney sql --list                       saved analyses\n"
        "  .venv/bin/omnijourney sql --saved channel_transitions  run one\n"
        '  .venv/bin/omnijourney sql "SELECT count() FROM v_touchpoints"\n'
        f"  logs in {run_dir() / 'logs'};  make down  stops everything"
    )
