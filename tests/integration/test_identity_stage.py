"""The identity stage on the real broker: the identity map it builds equals the reference.

The worker's tables are read back from their changelog topics (what a restarted worker recovers
from) and turned into an identifier -> person map, which must equal the map the pure-Python
reference computes from the same events, at 1 and at 8 partitions.
"""

from __future__ import annotations

import collections
import json
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from producers.simulator import simulate
from schemas.catalog import SchemaCatalog
from schemas.codec import Codec
from schemas.topics import KafkaOptions
from streams.admin import ensure_topics, group_lag, pipeline_topics
from streams.identity.lookup import identity_map
from streams.identity.reference import identity_map_of
from streams.identity.score import wire_events
from streams.produce import produce_simulation
from streams.settings import Settings, load_settings
from streams.supervise import start, wait_http
from tests.integration.conftest import Isolated, free_port

pytestmark = pytest.mark.integration

CUSTOMERS, DAYS, SEED = 150, 7, 5


def read_changelog(kafka: KafkaOptions, topic: str) -> dict[str, Any]:
    """Last value per key of a Faust table's changelog (JSON keys and values; None deletes)."""
    consumer = Consumer({**kafka, "group.id": f"reader-{uuid.uuid4().hex}", "enable.auto.commit": False})
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    ends = {}
    for p in metadata.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if high > low:
            ends[p] = high
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])
    table: dict[str, Any] = {}
    misses = 0
    while ends and misses < 20:
        msg = consumer.poll(1.0)
        if msg is None:
            misses += 1
            continue
        assert msg.error() is None, msg.error()
        key = json.loads(msg.key() or b"null")
        value = msg.value()
        if value is None:
            table.pop(key, None)
        else:
            table[key] = json.loads(value)
        if (msg.offset() or 0) + 1 >= ends.get(msg.partition() or 0, 0):
            ends.pop(msg.partition() or 0, None)
    consumer.close()
    assert not ends, f"could not read {topic} to the end"
    return table


def resolved_event_ids(kafka: KafkaOptions, topic: str) -> collections.Counter[str]:
    """How often each touchpoint's event id appears on the resolved topic (read to its end)."""
    codec = Codec(SchemaCatalog.load())
    consumer = Consumer({**kafka, "group.id": f"reader-{uuid.uuid4().hex}", "enable.auto.commit": False})
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    ends = {}
    for p in metadata.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if high > low:
            ends[p] = high
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])
    seen: collections.Counter[str] = collections.Counter()
    misses = 0
    while ends and misses < 20:
        msg = consumer.poll(1.0)
        if msg is None:
            misses += 1
            continue
        assert msg.error() is None, msg.error()
        seen[str(codec.decode(msg.value() or b"").record["touchpoint"]["event_id"])] += 1
        if (msg.offset() or 0) + 1 >= ends.get(msg.partition() or 0, 0):
            ends.pop(msg.partition() or 0, None)
    consumer.close()
    assert not ends, f"could not read {topic} to the end"
    return seen


def wait_idle(settings: Settings, topics: list[str], timeout_s: float = 300) -> None:
    """Until the worker's group has no lag on any of ``topics`` twice in a row (hops produce more)."""
    deadline, quiet = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline:
        lag = group_lag(settings.kafka_client_config(), settings.app_id, topics)
        quiet = quiet + 1 if lag == 0 else 0
        if quiet >= 3:
            return
        time.sleep(1.0)
    raise AssertionError(f"identity stage still has lag after {timeout_s}s")


def wait_group_stable(kafka: KafkaOptions, group: str, members: int, timeout_s: float = 120) -> None:
    """Until ``group`` is Stable with ``members`` members, so producing starts after the last join.

    A worker that joins while another already consumes triggers a rebalance, and what the first
    processed since its last commit is processed again (Faust is at-least-once): the touchpoints
    resolved twice that way are a separate, tolerated case, not what this test pins down.
    """
    admin = AdminClient(kafka)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        description = next(iter(admin.describe_consumer_groups([group]).values())).result(timeout=30)
        if str(description.state).endswith("STABLE") and len(description.members) == members:
            return
        time.sleep(0.5)
    raise AssertionError(f"group {group} not stable with {members} members after {timeout_s}s")


def worker_env(base: dict[str, str], data_dir: Path) -> dict[str, str]:
    return {**base, "OMNIJOURNEY_WEB_PORT": str(free_port()), "OMNIJOURNEY_DATA_DIR": str(data_dir)}


@pytest.mark.parametrize(
    ("partitions", "workers", "kill"),
    # Two workers on 8 partitions, and a worker SIGKILLed and restarted, each passed once and
    # stalled once after the rebalance (issue 4 stays open for it): they return here, as
    # (8, 2, False) and (4, 1, True), when the stall is fixed.
    [(1, 1, False), (8, 1, False), (8, 2, False), (4, 1, True)],
    ids=["1-partition", "8-partitions", "8-partitions-2-workers", "sigkill-restart"],
)
def test_identity_map_equals_reference(
    isolated: Isolated,
    tmp_path: Path,
    partitions: int,
    workers: int,
    kill: bool,
    dropped_afterwards: list[str],
) -> None:
    """Same map at any partition and worker count, and after a worker is SIGKILLed mid-stream."""
    tag = uuid.uuid4().hex[:8]
    dropped_afterwards.append(f"id{tag}")
    env = {
        **isolated.env,
        "OMNIJOURNEY_TOPIC_PREFIX": f"id{tag}.",
        "OMNIJOURNEY_APP_ID": f"id{tag}",
        "OMNIJOURNEY_TOPIC_PARTITIONS": str(partitions),
        "OMNIJOURNEY_IDENTITY_STAGE": "stitch",
    }
    settings = load_settings(env)
    kafka = settings.kafka_client_config()
    ensure_topics(kafka, pipeline_topics(settings.topics), partitions, 1)
    envs = [worker_env(env, tmp_path / f"data{i}") for i in range(workers)]
    running = [start(f"worker{i}", ["worker", "-l", "info"], e, tmp_path / "run") for i, e in enumerate(envs)]
    try:
        for service, e in zip(running, envs, strict=True):
            wait_http(f"http://127.0.0.1:{e['OMNIJOURNEY_WEB_PORT']}/health", service)
        wait_group_stable(kafka, settings.app_id, workers)
        produce_simulation(
            settings, customers=CUSTOMERS, days=DAYS, seed=SEED, rate=None, truth_path=None, progress=False
        )
        if kill:
            time.sleep(2.0)  # mid-stream: the walk of many touchpoints is under way
            lag = group_lag(
                kafka, settings.app_id, [*settings.topics.all_touchpoints, settings.topics.identity_routing]
            )
            assert lag > 0, "the kill must land mid-stream"
            running[0].stop(sig=signal.SIGKILL)
            running[0] = start("worker0-restarted", ["worker", "-l", "info"], envs[0], tmp_path / "run")
            wait_http(f"http://127.0.0.1:{envs[0]['OMNIJOURNEY_WEB_PORT']}/health", running[0])
        wait_idle(settings, [*settings.topics.all_touchpoints, settings.topics.identity_routing])
        assert all(w.alive() for w in running), [w.log_tail() for w in running]
    finally:
        codes = [w.stop() for w in running]
    assert codes == [0] * workers

    identifiers = read_changelog(kafka, f"{settings.app_id}-identity-identifiers-changelog")
    clusters = read_changelog(kafka, f"{settings.app_id}-identity-clusters-changelog")
    actual = identity_map(identifiers.items(), clusters.items())

    simulation = simulate(customers=CUSTOMERS, days=DAYS, seed=SEED)
    valid = {e.event_id for e in simulation if e.valid}
    resolved = resolved_event_ids(kafka, settings.topics.resolved)
    assert set(resolved) == valid, (len(valid - set(resolved)), len(set(resolved) - valid))
    # Exactly once where nothing is handed over; a crash or a second worker's rebalance hands
    # uncommitted work to another consumer, which resolves it again (at least once: the sink and
    # the journey stage deduplicate by event id). Loss is excluded in every case, above.
    if not kill and workers == 1:
        assert max(resolved.values()) == 1, "one undisturbed worker resolves every touchpoint once"
    expected = identity_map_of(wire_events(simulation, settings.pii_hash_key.get_secret_value().encode()))
    assert actual == expected
    persons = set(expected.values())
    assert len(persons) < len(expected) / 1.5, "the sample should stitch many identifiers together"
