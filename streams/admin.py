"""Creating the pipeline's topics with the configured partitions, before anything produces."""

from __future__ import annotations

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from schemas.errors import OmnijourneyError
from schemas.topics import KafkaOptions, TopicNames


def pipeline_topics(topics: TopicNames) -> list[str]:
    return [
        *topics.all_touchpoints,
        topics.resolved,
        topics.identity_routing,
        topics.identity_changes,
        topics.journey_handoff,
        topics.journey_index,
        topics.journeys,
        topics.sessions,
        topics.alerts,
        topics.dead_letters,
        topics.suppressions,
    ]


def topic_config(name: str) -> dict[str, str]:
    """Per-topic settings at creation: suppressions are compacted (kept forever, last per key),
    because a suppression that aged out would let a replay bring an erased person back."""
    if name.endswith(SUPPRESSIONS):  # with any prefix
        return {"cleanup.policy": "compact"}
    return {}


SUPPRESSIONS = TopicNames().suppressions


def ensure_topics(
    kafka: KafkaOptions, names: list[str], partitions: int, replication: int, timeout: float = 30.0
) -> list[str]:
    """Create the topics that do not exist yet; returns those created. Existing ones are kept as they are."""
    admin = AdminClient(kafka)
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise OmnijourneyError(f"cannot reach Kafka at {kafka.get('bootstrap.servers')}: {exc}") from exc
    missing = [n for n in names if n not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [
            NewTopic(n, num_partitions=partitions, replication_factor=replication, config=topic_config(n))
            for n in missing
        ],
        operation_timeout=timeout,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
            created.append(name)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise OmnijourneyError(f"cannot create topic {name}: {exc}", topic=name) from exc
    return created


def group_lag(kafka: KafkaOptions, group: str, topics: list[str], timeout: float = 10.0) -> int:
    """Messages in ``topics`` that ``group`` has not committed yet (an uncommitted partition counts whole)."""
    consumer = Consumer({**kafka, "group.id": group, "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(timeout=timeout)
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            if topic in metadata.topics
            for p in metadata.topics[topic].partitions
        ]
        lag = 0
        for tp in consumer.committed(partitions, timeout=timeout):
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout)
            position = tp.offset if tp.offset >= 0 else low
            lag += max(0, high - position)
        return lag
    finally:
        consumer.close()
