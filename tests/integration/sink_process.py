"""Running the real sink process on its own (no identity worker) against an isolated corner of the
broker, feeding it, and waiting for it: shared by the sink's integration tests."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.codec import Codec
from schemas.models.base import AvroModel
from sinks.query_server import bearer
from sinks.specs import sink_topics
from streams.admin import group_lag
from streams.supervise import Service, start, wait_http
from streams.wiring import api_token
from tests.integration.conftest import Isolated
from tests.integration.sink_helpers import encode


def sink_url(isolated: Isolated) -> str:
    return f"http://{isolated.settings.web_host}:{isolated.settings.sink_port}"


def start_sink(isolated: Isolated, name: str, **env: str) -> Service:
    """``omnijourney sink`` with the test's settings (overridden by ``env``), answering /health."""
    service = start(name, ["sink"], {**isolated.env, **env}, isolated.base / "run")
    wait_http(f"{sink_url(isolated)}/health", service)
    return service


def health(isolated: Isolated) -> dict[str, Any]:
    with urllib.request.urlopen(f"{sink_url(isolated)}/health", timeout=10) as response:
        return dict(json.load(response))


def sql(isolated: Isolated, query: str) -> tuple[int, dict[str, Any]]:
    """HTTP status and body of the sink's /sql for ``query``."""
    url, headers = f"{sink_url(isolated)}/sql", bearer(api_token(isolated.settings))
    request = urllib.request.Request(url, data=query.encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(json.load(response))
    except urllib.error.HTTPError as exc:
        return exc.code, dict(json.load(exc))


def wait_until(check: Callable[[], bool], service: Service, what: str, timeout_s: float = 180) -> None:
    """Poll ``check`` until true; a bound on waiting (with the log on failure), not a speed assertion."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert service.alive(), f"{service.name} died:\n{service.log_tail()}"
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}:\n{service.log_tail(60)}")


def lag(isolated: Isolated) -> int:
    return group_lag(
        isolated.settings.kafka_client_config(), isolated.settings.sink_group, sink_topics(isolated.topics)
    )


def produce(
    isolated: Isolated,
    records: Mapping[str, Sequence[AvroModel]],
    raw: Sequence[tuple[str, bytes]] = (),
    codec: Codec | None = None,
) -> int:
    """Encode and produce every record to its topic (keyed by person id), plus raw poison; returns count."""
    codec = codec or Codec()
    producer = Producer({"bootstrap.servers": isolated.settings.kafka_brokers, "enable.idempotence": True})
    count = 0
    for topic, items in records.items():
        for record in items:
            key = getattr(record, "person_id", None) or getattr(record, "source_topic", "")
            producer.produce(topic, encode(codec, record), key=str(key).encode())
            count += 1
    for topic, value in raw:
        producer.produce(topic, value, key=b"poison")
        count += 1
    assert producer.flush(30) == 0
    return count


def reset_to_beginning(isolated: Isolated) -> None:
    """Commit offset 0 for every partition of the sink's topics (the group must have no members)."""
    kafka = isolated.settings.kafka_client_config()
    admin = AdminClient(kafka)
    metadata = admin.list_topics(timeout=10)
    partitions = [
        TopicPartition(topic, p, 0)
        for topic in sink_topics(isolated.topics)
        for p in metadata.topics[topic].partitions
    ]
    futures = admin.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(isolated.settings.sink_group, partitions)]
    )
    for future in futures.values():
        future.result(timeout=30)


def committed(isolated: Isolated) -> dict[tuple[str, int], int]:
    """The sink group's committed offsets (-1001 where nothing was committed)."""
    kafka = isolated.settings.kafka_client_config()
    admin = AdminClient(kafka)
    metadata = admin.list_topics(timeout=10)
    partitions = [
        TopicPartition(topic, p)
        for topic in sink_topics(isolated.topics)
        for p in metadata.topics[topic].partitions
    ]
    futures = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(isolated.settings.sink_group, partitions)]
    )
    result = next(iter(futures.values())).result(timeout=30)
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions}


def group_members(isolated: Isolated) -> tuple[str, int]:
    """(state, member count) of the sink's consumer group."""
    admin = AdminClient(isolated.settings.kafka_client_config())
    futures = admin.describe_consumer_groups([isolated.settings.sink_group])
    description = next(iter(futures.values())).result(timeout=30)
    return str(description.state), len(description.members)


def rss_kb(service: Service) -> int:
    for line in Path(f"/proc/{service.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
