"""The whole pipeline on a broker that demands SASL: settings alone make every client log in.

A private broker (tests/integration/local_broker.py, started by the project's kafka.sh) listens
with SASL_PLAINTEXT (SCRAM-SHA-256) beside its plaintext port. The producer SDK, the Faust worker
(aiokafka), the sink and the admin calls all reach it through the one settings object; the
touchpoints they move are reconciled in ClickHouse as in the fault tests. Wrong credentials fail
at the SDK with the broker's refusal, not as records that silently time out.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from producers.delivery import UndeliveredError
from producers.sdk import TouchpointProducer
from producers.simulator import simulate
from streams.admin import ensure_topics, pipeline_topics
from streams.settings import load_settings
from streams.wiring import producer_config
from tests.integration.conftest import Isolated, free_port
from tests.integration.local_broker import LocalBroker, local_broker
from tests.integration.reconcile import Feed, Fleet, Produced, assert_reconciled, wait_stored

pytestmark = pytest.mark.integration

CUSTOMERS, DAYS, SEED = 120, 2, 53


@pytest.fixture
def sasl_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    with local_broker(tmp_path, sasl=True) as broker:
        yield broker


def sasl_env(broker: LocalBroker, password: str) -> dict[str, str]:
    return {
        "OMNIJOURNEY_KAFKA_BROKERS": broker.sasl_listener,
        "OMNIJOURNEY_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "OMNIJOURNEY_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "OMNIJOURNEY_KAFKA_SASL_USERNAME": broker.username,
        "OMNIJOURNEY_KAFKA_SASL_PASSWORD": password,
    }


def secured_corner(broker: LocalBroker, base: Path) -> Isolated:
    tag = uuid.uuid4().hex[:10]
    env = {
        **sasl_env(broker, broker.password),
        "OMNIJOURNEY_TOPIC_PREFIX": f"s{tag}.",
        "OMNIJOURNEY_TOPIC_PARTITIONS": "2",
        "OMNIJOURNEY_APP_ID": f"s{tag}",
        "OMNIJOURNEY_SINK_GROUP": f"s{tag}-sink",
        "OMNIJOURNEY_STORE_URL": f"chdb://{base / 'store'}",
        "OMNIJOURNEY_DATA_DIR": str(base / "data"),
        "OMNIJOURNEY_WEB_PORT": str(free_port()),
        "OMNIJOURNEY_SINK_PORT": str(free_port()),
        "OMNIJOURNEY_SINK_BATCH_MS": "300",
    }
    settings = load_settings(env)
    ensure_topics(
        settings.kafka_client_config(), pipeline_topics(settings.topics), settings.topic_partitions, 1
    )
    return Isolated(env, settings, settings.topics, base)


def test_every_client_logs_in_with_the_settings_and_nothing_is_lost(
    sasl_broker: LocalBroker, tmp_path: Path
) -> None:
    corner = secured_corner(sasl_broker, tmp_path)
    events = list(simulate(customers=CUSTOMERS, days=DAYS, seed=SEED))
    produced = Produced().add_simulation(events)
    produced.poison += [b"\x00not avro at all", b"\xc3\x01" + bytes(16)]  # raw, past the SDK
    assert produced.valid

    with Fleet(tmp_path, corner.env).watched() as fleet:
        fleet.sink()
        fleet.worker("worker")
        feed = Feed(corner.settings, events, rate=None)
        feed.start()
        raw = Producer(corner.settings.kafka_client_config())
        for value in produced.poison:
            raw.produce(corner.topics.touchpoints("web"), value)
        assert raw.flush(30) == 0
        summary = feed.result()
        assert summary.valid == len(produced.valid)
        wait_stored(corner, produced)
        assert_reconciled(corner, produced)


def test_wrong_credentials_are_named_by_the_sdk(sasl_broker: LocalBroker, tmp_path: Path) -> None:
    settings = load_settings({**sasl_env(sasl_broker, "not-the-password"), "OMNIJOURNEY_TOPIC_PREFIX": "x."})
    payload = next(e.payload for e in simulate(customers=5, days=1, seed=SEED) if e.valid and e.wire is None)
    producer = TouchpointProducer(producer_config(settings))
    producer.send(payload)
    with pytest.raises(UndeliveredError, match="refused the credentials") as caught:
        producer.flush(20)
    assert "Authentication failed" in str(caught.value)
    with pytest.raises(UndeliveredError, match="1 record not delivered"):  # purged, and said so
        producer.close(timeout=1)
