"""Shared machinery of the stage benchmarks (``bench_identity``, ``bench_journeys``).

Not a benchmark itself (``run.py`` collects only ``bench_*.py``). What it gives them:

- :class:`Corner`: one run's private topics (unique prefix), app ids, ports and directories, and
  their removal afterwards (every topic whose name starts with the run's tag, so Faust's
  changelog and assignor topics go too);
- the read+decode baseline: a confluent-kafka consumer that reads every record and decodes it
  with the project's codec, clock from its first record;
- the changelog reader that counts a table's live keys, the result rows in ``run.py``'s shape and
  the options both benchmarks take.

The worker processes and their measurement are in :mod:`tests.bench.stage_workers`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from producers.sdk import TouchpointProducer
from producers.simulator import simulate
from schemas.codec import Codec
from schemas.topics import KafkaOptions, TopicNames
from streams.admin import ensure_topics, pipeline_topics
from streams.settings import Settings, load_settings
from streams.supervise import Service
from streams.wiring import producer_config

ROOT = Path(__file__).resolve().parents[2]
BROKERS = os.environ.get("OMNIJOURNEY_KAFKA_BROKERS", "127.0.0.1:19092")
CONSUMER: KafkaOptions = {  # the sink benchmark's consumer options: a fast Python reader
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "enable.partition.eof": False,
    "fetch.min.bytes": 65536,
    "fetch.wait.max.ms": 100,
    "queued.max.messages.kbytes": 32768,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Corner:
    """One benchmark run's private part of the broker, and the processes it started."""

    tag: str
    partitions: int
    base: Path
    kafka: KafkaOptions
    services: list[Service] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    worker_env: dict[str, str] = field(default_factory=dict)  # more environment for every worker

    @property
    def prefix(self) -> str:
        return f"{self.tag}."

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.prefix)

    def env(self, app_id: str, **settings: str) -> dict[str, str]:
        """``OMNIJOURNEY_*`` of a worker on this corner (``settings``: more fields, by name)."""
        env = {
            "OMNIJOURNEY_KAFKA_BROKERS": str(self.kafka["bootstrap.servers"]),
            "OMNIJOURNEY_TOPIC_PREFIX": self.prefix,
            "OMNIJOURNEY_TOPIC_PARTITIONS": str(self.partitions),
            "OMNIJOURNEY_APP_ID": app_id,
            "OMNIJOURNEY_DATA_DIR": str(self.base / app_id),
            "OMNIJOURNEY_WEB_PORT": str(free_port()),
            "OMNIJOURNEY_SINK_PORT": str(free_port()),
            "OMNIJOURNEY_STORE_URL": f"chdb://{self.base / 'store'}",
            "OMNIJOURNEY_LOG_FORMAT": "text",
        }
        env.update({f"OMNIJOURNEY_{k.upper()}": v for k, v in settings.items()})
        env.update(self.worker_env)
        self.groups.append(app_id)
        return env

    def stop_services(self) -> None:
        for service in self.services:
            service.stop(grace_s=15)
        self.services.clear()

    def remove(self) -> None:
        """Stop what is still running, then delete this run's topics and consumer groups."""
        self.stop_services()
        admin = AdminClient(self.kafka)
        names = [t for t in admin.list_topics(timeout=30).topics if t.startswith(self.tag)]
        if names:
            for future in admin.delete_topics(names, operation_timeout=30).values():
                try:
                    future.result(timeout=60)
                except Exception as exc:  # cleanup must go on; say what stayed behind
                    log(f"could not delete a topic: {exc}")
        if self.groups:
            for future in admin.delete_consumer_groups(self.groups, request_timeout=30).values():
                with contextlib.suppress(Exception):  # a group that never committed does not exist
                    future.result(timeout=60)


def new_corner(name: str, partitions: int, base: Path, worker_env: list[str] | None = None) -> Corner:
    """A corner with every pipeline topic created (``partitions`` each); ``worker_env`` holds
    ``NAME=VALUE`` items every worker gets (Faust reads some of its settings from the
    environment, e.g. ``PRODUCER_LINGER=0.005``: experiments without a code change)."""
    kafka: KafkaOptions = {"bootstrap.servers": BROKERS}
    env = dict(item.split("=", 1) for item in worker_env or [])
    corner = Corner(f"bench{uuid.uuid4().hex[:8]}{name}", partitions, base, kafka, worker_env=env)
    ensure_topics(kafka, pipeline_topics(corner.topics), partitions, 1)
    return corner


def corner_settings(corner: Corner) -> Settings:
    return load_settings(corner.env(f"{corner.tag}-producer"))


# -- input ----------------------------------------------------------------------------------------


def valid_payloads(customers: int, days: int, seed: int) -> list[dict[str, Any]]:
    """SDK input of the simulation's valid events (raw emails and phones), in arrival order."""
    return [
        e.payload for e in simulate(customers=customers, days=days, seed=seed) if e.valid and e.wire is None
    ]


def produce_payloads(settings: Settings, payloads: Iterable[dict[str, Any]]) -> int:
    """Send through the producer SDK until the broker acknowledged all; returns how many."""
    with TouchpointProducer(producer_config(settings)) as producer:
        sent = producer.send_many(payloads)
        if producer.flush(120):
            raise RuntimeError("not every touchpoint reached the broker")
    return sent


def read_all(topics: list[str], count: int, decode: bool) -> tuple[float, list[bytes]]:
    """Events/s of a consumer reading ``count`` records of ``topics`` (and decoding each value
    with ``Codec.decode``), from its first record; also the values, for counting afterwards."""
    consumer = Consumer(
        {"bootstrap.servers": BROKERS, "group.id": f"bench-read-{uuid.uuid4().hex}", **CONSUMER}
    )
    consumer.subscribe(topics)
    codec_decode = Codec().decode
    values: list[bytes] = []
    keep = values.append
    start = 0.0
    deadline = time.monotonic() + 120
    try:
        while len(values) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"read {len(values)} of {count} records in 120 s")
            batch = consumer.consume(num_messages=10000, timeout=1.0)
            if batch and not start:
                start = time.perf_counter()
            for msg in batch:
                if msg.error() is None:
                    value = msg.value() or b""
                    if decode:
                        codec_decode(value)
                    keep(value)
        return count / (time.perf_counter() - start), values
    finally:
        consumer.close()


def changelog_keys(topic: str) -> tuple[int, float]:
    """Distinct live keys of a changelog topic, and their mean key + latest value size in bytes."""
    consumer = Consumer(
        {"bootstrap.servers": BROKERS, "group.id": f"bench-cl-{uuid.uuid4().hex}", **CONSUMER}
    )
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return 0, 0.0
        ends = {}
        for p in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        sizes: dict[bytes, int] = {}
        done: set[int] = set()
        while len(done) < len(ends):
            for msg in consumer.consume(num_messages=10000, timeout=1.0):
                if msg.error() is not None:
                    continue
                key, value = msg.key() or b"", msg.value()
                if value is None:
                    sizes.pop(key, None)
                else:
                    sizes[key] = len(key) + len(value)
                if (msg.offset() or 0) + 1 >= ends[msg.partition() or 0]:
                    done.add(msg.partition() or 0)
        return len(sizes), (sum(sizes.values()) / len(sizes) if sizes else 0.0)
    finally:
        consumer.close()


def row(
    name: str, value: float, baseline: float, unit: str, baseline_name: str, **extra: Any
) -> dict[str, Any]:
    """One result in the shape ``run.py`` tabulates."""
    return {
        "name": name,
        "value": round(value, 1),
        "baseline": round(baseline, 1),
        "ratio": round(value / baseline, 3) if baseline else 0.0,
        "unit": unit,
        "baseline_name": baseline_name,
        **extra,
    }


def common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options both stage benchmarks take."""
    # 1,000 customers x 7 days is about 8,500 touchpoints: at the stages' present speed on a
    # shared 2-core machine that keeps both stage benchmarks near 5 minutes.
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="read+decode baseline rounds (best counts)")
    parser.add_argument(
        "--max-seconds", type=float, default=40.0,
        help="stop a stage worker this long after its first event and count what it did by then (0: never; "
        "the stitching stage is never capped)",
    )  # fmt: skip
    parser.add_argument(
        "--worker-env", action="append", default=[], metavar="NAME=VALUE",
        help="environment for every worker, e.g. PRODUCER_LINGER=0.005 (repeatable)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--py-spy", type=Path, help="profile each stage worker into this directory (raw stacks)"
    )


def temp_base(prefix: str) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix=prefix)
