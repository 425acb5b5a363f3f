"""A worker whose agent crashes exits non-zero instead of living on without consuming.

The worker is the real one (``create_app``, the production crash policy and metrics page) plus an
agent that raises on a poison value (tests/integration/crashing_worker.py), as a real process on
the real broker. The deadlines are generous bounds that fail a test whose worker never exits or
never catches up, not timing assertions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from schemas.topics import KafkaOptions
from streams.admin import ensure_topics
from streams.crash_policy import EXIT_AGENT_CRASHED
from streams.supervise import Service, wait_http
from tests.integration.conftest import Isolated
from tests.integration.crashing_worker import POISON, STAGE

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEADLINE_S = 180.0


def start_worker(isolated: Isolated, topic: str, seen: Path, name: str) -> Service:
    base = isolated.base / "run"
    (base / "logs").mkdir(parents=True, exist_ok=True)
    (base / "pids").mkdir(parents=True, exist_ok=True)
    log_path, pid_path = base / "logs" / f"{name}.log", base / "pids" / f"{name}.pid"
    env = {**os.environ, **isolated.env, "CRASH_TEST_TOPIC": topic, "CRASH_TEST_SEEN": str(seen)}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.crashing_worker", "worker", "-l", "info"],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    pid_path.write_text(str(process.pid))
    return Service(name, process, log_path, pid_path)


def wait_exit(worker: Service) -> int:
    try:
        return worker.process.wait(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"{worker.name} still running {DEADLINE_S:.0f}s after the poison value:\n{worker.log_tail()}"
        )


def produce(kafka: KafkaOptions, topic: str, values: list[bytes]) -> None:
    producer = Producer(dict(kafka))
    for value in values:
        producer.produce(topic, value)
    assert producer.flush(30) == 0


def seen_values(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines() if path.exists() else []


def json_records(log_path: Path) -> list[dict[str, Any]]:
    """The JSON log lines of a worker's output (Faust prints a banner and more around them)."""
    records = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def crash_topic(kafka: KafkaOptions, isolated: Isolated) -> str:
    topic = f"{isolated.settings.topic_prefix}crash-test"
    ensure_topics(kafka, [topic], 1, 1)
    return topic


def test_a_crashing_agent_ends_the_worker_and_its_event_is_read_again(
    kafka: KafkaOptions, isolated: Isolated
) -> None:
    topic = crash_topic(kafka, isolated)
    produce(kafka, topic, [b"ok-1", POISON, b"ok-2"])
    seen = isolated.base / "seen.txt"

    first = start_worker(isolated, topic, seen, "worker-1")
    try:
        assert wait_exit(first) == EXIT_AGENT_CRASHED, first.log_tail()
    finally:
        first.stop(grace_s=5)
    assert seen_values(seen) == [b"ok-1", POISON]  # stopped at the poison: ok-2 never reached
    # Its last words, through the JSON log handler like every other line it logged.
    records = json_records(first.log_path)
    assert [r["logger"] for r in records if r["level"] == "CRITICAL"][:1] == ["streams.crash_policy"]

    # The crash committed nothing past what was done: the next worker meets the poison again.
    second = start_worker(isolated, topic, seen, "worker-2")
    try:
        assert wait_exit(second) == EXIT_AGENT_CRASHED, second.log_tail()
    finally:
        second.stop(grace_s=5)
    values = seen_values(seen)
    assert values.count(POISON) == 2
    assert b"ok-2" not in values


def scrape(url: str) -> tuple[str, dict[str, Metric]]:
    with urllib.request.urlopen(url, timeout=5) as response:
        content_type = str(response.headers["Content-Type"])
        body = response.read().decode()
    return content_type, {family.name: family for family in text_string_to_metric_families(body)}


def value(families: dict[str, Metric], name: str, sample: str, **labels: str) -> float | None:
    family = families.get(name)
    for s in family.samples if family else ():
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    return None


def wait_metrics(url: str, worker: Service, done: Callable[[dict[str, Metric]], bool]) -> dict[str, Metric]:
    deadline = time.monotonic() + DEADLINE_S
    families: dict[str, Metric] = {}
    while time.monotonic() < deadline:
        assert worker.alive(), f"worker exited ({worker.process.returncode}):\n{worker.log_tail()}"
        _, families = scrape(url)
        if done(families):
            return families
        time.sleep(0.5)
    pytest.fail(f"metrics never showed the expected values: {sorted(families)}\n{worker.log_tail()}")


def test_a_healthy_worker_serves_metrics_and_a_signal_stops_it_with_zero(
    kafka: KafkaOptions, isolated: Isolated
) -> None:
    topic = crash_topic(kafka, isolated)
    produce(kafka, topic, [b"ok-1", b"ok-2", b"ok-3"])
    seen = isolated.base / "seen.txt"
    worker = start_worker(isolated, topic, seen, "worker")
    try:
        settings = isolated.settings
        wait_http(f"http://{settings.web_host}:{settings.web_port}/health", worker)
        url = f"http://{settings.web_host}:{settings.web_port}/metrics"

        def caught_up(families: dict[str, Metric]) -> bool:
            events = value(
                families, "omnijourney_stage_events_in", "omnijourney_stage_events_in_total", stage=STAGE
            )
            lag = value(families, "omnijourney_consumer_lag", "omnijourney_consumer_lag", topic=topic)
            return events == 3 and lag == 0

        families = wait_metrics(url, worker, caught_up)
        content_type, _ = scrape(url)
        assert content_type.startswith("text/plain; version=0.0.4")
        assert value(families, "process_resident_memory_bytes", "process_resident_memory_bytes")
        assert seen_values(seen) == [b"ok-1", b"ok-2", b"ok-3"]
    finally:
        code = worker.stop(grace_s=60)
    assert code == 0, worker.log_tail()
