"""Fixtures for tests against the real broker (started by `make up`) and a chDB store.

Each test gets its own topic prefix, consumer groups, app id, store directory and ports, so tests
never see each other's data. A missing broker is a failure, never a skip.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from schemas.topics import KafkaOptions, TopicNames
from streams.admin import ensure_topics, pipeline_topics
from streams.settings import Settings, load_settings
from streams.supervise import Service, start, wait_http
from streams.wiring import api_token

BROKERS = os.environ.get("OMNIJOURNEY_KAFKA_BROKERS", "127.0.0.1:19092")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def kafka() -> KafkaOptions:
    options: KafkaOptions = {"bootstrap.servers": BROKERS}
    try:
        AdminClient(options).list_topics(timeout=10)
    except Exception as exc:
        pytest.fail(f"no Kafka broker at {BROKERS} ({exc}); run `make up` (make test does it for you)")
    return options


@dataclass(frozen=True)
class Isolated:
    """One test's private corner of the broker and its own store."""

    env: dict[str, str]
    settings: Settings
    topics: TopicNames
    base: Path


@pytest.fixture
def isolated(tmp_path: Path, kafka: KafkaOptions) -> Iterator[Isolated]:
    corner = make_isolated(tmp_path, kafka)
    yield corner
    drop_corner(kafka, corner)


def drop_corner(kafka: KafkaOptions, corner: Isolated) -> None:
    """Delete every topic of one test's corner: its pipeline topics and Faust's changelogs.

    Each topic is a directory and open files on the shared broker; a full run creates thousands,
    and a broker that keeps them all dies of "Too many open files". The app id is the tag every
    one of them starts with (``t<tag>.`` for ours, ``t<tag>-`` for Faust's).
    """
    drop_topics(kafka, corner.settings.app_id)


def drop_topics(kafka: KafkaOptions, prefix: str) -> None:
    """Delete every topic whose name starts with ``prefix``."""
    admin = AdminClient(kafka)
    names = [name for name in admin.list_topics(timeout=10).topics if name.startswith(prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.exception(timeout=60)  # a topic already gone is as good as deleted


@pytest.fixture
def dropped_afterwards(kafka: KafkaOptions) -> Iterator[list[str]]:
    """Topic prefixes a test adds to this list are deleted when it ends (see :func:`drop_corner`)."""
    prefixes: list[str] = []
    yield prefixes
    for prefix in prefixes:
        drop_topics(kafka, prefix)


def make_isolated(tmp_path: Path, kafka: KafkaOptions) -> Isolated:
    """A private corner of the broker ``kafka`` names: its topics created, settings to reach it."""
    tag = uuid.uuid4().hex[:10]
    env = {
        "OMNIJOURNEY_KAFKA_BROKERS": str(kafka["bootstrap.servers"]),
        "OMNIJOURNEY_TOPIC_PREFIX": f"t{tag}.",
        "OMNIJOURNEY_TOPIC_PARTITIONS": "4",
        "OMNIJOURNEY_APP_ID": f"t{tag}",
        "OMNIJOURNEY_SINK_GROUP": f"t{tag}-sink",
        "OMNIJOURNEY_STORE_URL": f"chdb://{tmp_path / 'store'}",
        "OMNIJOURNEY_DATA_DIR": str(tmp_path / "data"),
        "OMNIJOURNEY_WEB_PORT": str(free_port()),
        "OMNIJOURNEY_SINK_PORT": str(free_port()),
        "OMNIJOURNEY_SINK_BATCH_MS": "300",
    }
    settings = load_settings(env)
    ensure_topics(
        kafka, pipeline_topics(settings.topics), settings.topic_partitions, settings.topic_replication
    )
    return Isolated(env, settings, settings.topics, tmp_path)


@pytest.fixture
def stitched(isolated: Isolated) -> Iterator[Isolated]:
    """Worker (stitching identity + journeys) and sink as real processes; both must exit cleanly."""
    env = {**isolated.env, "OMNIJOURNEY_IDENTITY_STAGE": "stitch"}
    base = isolated.base / "run"
    services = [start("worker", ["worker", "-l", "info"], env, base), start("sink", ["sink"], env, base)]
    try:
        s = isolated.settings
        wait_http(f"http://{s.web_host}:{s.web_port}/health", services[0])
        wait_http(f"http://{s.web_host}:{s.sink_port}/health", services[1])
        yield isolated
    finally:
        codes = [service.stop() for service in services]
        assert codes == [0, 0], [service.log_tail() for service in services]


@dataclass
class Pipeline:
    worker: Service
    sink: Service
    sink_url: str
    token: str | None  # what the sink's /sql asks for


@pytest.fixture
def pipeline(isolated: Isolated) -> Iterator[Pipeline]:
    """The identity worker and the sink, as real processes; stopped (SIGTERM) after the test."""
    base = isolated.base / "run"
    worker = start("worker", ["worker", "-l", "info"], isolated.env, base)
    sink = start("sink", ["sink"], isolated.env, base)
    services = [worker, sink]
    try:
        settings = isolated.settings
        wait_http(f"http://{settings.web_host}:{settings.web_port}/health", worker)
        sink_url = f"http://{settings.web_host}:{settings.sink_port}"
        wait_http(f"{sink_url}/health", sink)
        yield Pipeline(worker, sink, sink_url, api_token(settings))
    finally:
        for service in services:
            service.stop()
