"""Producer configuration and the SDK's behaviour that needs no broker (nothing is ever delivered)."""

from __future__ import annotations

from typing import Any

import pytest

from producers.config import ProducerConfig
from producers.sdk import TouchpointProducer
from schemas.errors import ConfigError, DeliveryError, InvalidEventError
from tests.unit.sdk_events import event

KEY = b"unit-test-key-0123456789abcdef"
# Nothing listens on port 1: the client only ever gets "connection refused" from loopback.
NOWHERE = "127.0.0.1:1"


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"brokers": ""}, "brokers"),
        ({"brokers": "kafka"}, "host:port"),
        ({"brokers": "a:9092,b"}, "host:port"),
        ({"pii_key": b"short"}, "pii_key"),
        ({"default_country_code": "+39"}, "default_country_code"),
        ({"default_country_code": "3939"}, "default_country_code"),
        ({"topic_prefix": "touchpoints."}, "topic_prefix"),
        ({"compression": "brotli"}, "compression"),
        ({"linger_ms": -1}, "linger_ms"),
        ({"delivery_timeout_ms": 0}, "delivery_timeout_ms"),
        ({"extra": {"acks": 1}}, "acks"),
        ({"extra": {"enable.idempotence": False}}, "enable.idempotence"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(overrides: dict[str, Any], mentions: str) -> None:
    values: dict[str, Any] = {"brokers": "127.0.0.1:19092", "pii_key": KEY, **overrides}
    with pytest.raises(ConfigError, match=mentions):
        ProducerConfig(**values)


def test_delivery_guarantees_cannot_be_configured_away() -> None:
    config = ProducerConfig(
        brokers="k1:9092,k2:9092", pii_key=KEY, extra={"security.protocol": "SASL_SSL", "acks": "all"}
    )
    options = config.librdkafka()
    assert options["enable.idempotence"] is True
    assert options["acks"] == "all"
    assert options["security.protocol"] == "SASL_SSL"
    assert options["bootstrap.servers"] == "k1:9092,k2:9092"


def test_secrets_stay_out_of_the_repr() -> None:
    config = ProducerConfig(brokers="k:9092", pii_key=KEY, extra={"sasl.password": "hunter2-secret"})
    assert KEY.decode() not in repr(config)
    assert "hunter2-secret" not in repr(config)


def test_an_invalid_event_sends_nothing() -> None:
    with TouchpointProducer(ProducerConfig(brokers=NOWHERE, pii_key=KEY)) as producer:
        with pytest.raises(InvalidEventError) as caught:
            producer.send(event(identifiers=[{"type": "email", "value": "not an email"}]))
        assert caught.value.field == "identifiers.0.value"
        stats = producer.stats()
        assert (stats.sent, stats.failed) == (0, 0)


def test_send_many_says_which_event_was_invalid_and_stops_there() -> None:
    producer = TouchpointProducer(ProducerConfig(brokers=NOWHERE, pii_key=KEY))
    events = [event(), event(), event(channel="fax"), event()]
    with pytest.raises(InvalidEventError) as caught:
        producer.send_many(events)
    assert str(caught.value).startswith("event 2: channel: ")
    assert caught.value.field == "channel"
    assert producer.stats().sent == 2
    with pytest.raises(DeliveryError):  # the two sent can never be delivered here
        producer.close(timeout=0.5)


def test_a_closed_producer_refuses_to_send() -> None:
    producer = TouchpointProducer(ProducerConfig(brokers=NOWHERE, pii_key=KEY))
    producer.close()
    with pytest.raises(DeliveryError, match="closed"):
        producer.send(event())
    with pytest.raises(DeliveryError, match="closed"):
        producer.send_raw("touchpoints.web", b"k", b"v")


def test_records_stuck_at_close_are_purged_and_reported() -> None:
    producer = TouchpointProducer(ProducerConfig(brokers=NOWHERE, pii_key=KEY))
    producer.send(event())
    producer.send_raw("touchpoints.web", None, b"poison")
    with pytest.raises(DeliveryError) as caught:
        producer.close(timeout=0.5)
    assert "2 records not delivered" in str(caught.value)
    stats = producer.stats()
    assert (stats.sent, stats.delivered, stats.failed) == (2, 0, 2)


def test_an_option_librdkafka_does_not_know_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"no\.such\.option"):
        TouchpointProducer(ProducerConfig(brokers=NOWHERE, pii_key=KEY, extra={"no.such.option": 1}))


def fail_inside_a_with_block(config: ProducerConfig) -> None:
    with TouchpointProducer(config) as producer:
        producer.send(event())  # never deliverable: times out, and close() reports it
        raise RuntimeError("application failure")


def test_the_error_that_ended_a_with_block_is_not_replaced_by_a_delivery_error() -> None:
    config = ProducerConfig(brokers=NOWHERE, pii_key=KEY, delivery_timeout_ms=1000)
    with pytest.raises(RuntimeError, match="application failure") as caught:
        fail_inside_a_with_block(config)
    assert "not delivered" in "".join(getattr(caught.value, "__notes__", []))
