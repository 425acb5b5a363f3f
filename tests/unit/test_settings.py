"""Settings: defaults work, bad values fail with one line naming the variable, secrets stay secret."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest

from schemas.errors import ConfigError
from streams import faust_fetch_wait
from streams.app import create_app
from streams.settings import load_settings
from streams.wiring import broker_credentials


def test_defaults_point_at_the_local_broker_and_embedded_store() -> None:
    settings = load_settings({})
    assert settings.kafka_brokers == "127.0.0.1:19092"
    assert settings.store_is_embedded
    assert settings.topics.resolved == "touchpoints.resolved"


def test_prefix_isolates_every_topic() -> None:
    topics = load_settings({"OMNIJOURNEY_TOPIC_PREFIX": "t1."}).topics
    assert topics.touchpoints("chat") == "t1.touchpoints.chat"
    assert topics.dead_letters == "t1.dead-letters"
    assert all(name.startswith("t1.") for name in topics.all_touchpoints)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        (
            {"OMNIJOURNEY_KAFKA_BROKERS": "localhost"},
            "OMNIJOURNEY_KAFKA_BROKERS: 'localhost' is not host:port",
        ),
        ({"OMNIJOURNEY_KAFKA_BROKERS": "a:1,b:99999"}, "'b:99999' is not host:port"),
        ({"OMNIJOURNEY_STORE_URL": "mysql://db"}, "OMNIJOURNEY_STORE_URL='mysql://db': scheme must be"),
        ({"OMNIJOURNEY_STORE_URL": "clickhouse://:8123"}, "no host"),
        ({"OMNIJOURNEY_WEB_PORT": "eighty"}, "OMNIJOURNEY_WEB_PORT:"),
        ({"OMNIJOURNEY_SCHEMA_REGISTRY_URL": "ftp://x"}, "is not an http(s) URL"),
    ],
)
def test_bad_values_give_one_line_naming_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    message = str(info.value)
    assert needle in message
    assert "\n" not in message


def test_password_in_store_url_becomes_a_secret() -> None:
    settings = load_settings({"OMNIJOURNEY_STORE_URL": "clickhouse://ana:s3cret@ch.local:8123/analytics"})
    assert "s3cret" not in settings.store_url
    assert settings.store_url == "clickhouse://ana@ch.local:8123/analytics"
    assert settings.store_password is not None
    assert settings.store_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_sasl_options_reach_librdkafka_config_only_when_set() -> None:
    plain = load_settings({}).kafka_client_config()
    assert "sasl.password" not in plain
    sasl = load_settings(
        {
            "OMNIJOURNEY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "OMNIJOURNEY_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "OMNIJOURNEY_KAFKA_SASL_USERNAME": "svc",
            "OMNIJOURNEY_KAFKA_SASL_PASSWORD": "pw",
        }
    ).kafka_client_config()
    assert sasl["security.protocol"] == "SASL_SSL"
    assert sasl["sasl.mechanism"] == "SCRAM-SHA-512"
    assert sasl["sasl.password"] == "pw"


def test_a_sasl_protocol_without_its_user_is_refused_at_start() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"OMNIJOURNEY_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    assert "OMNIJOURNEY_KAFKA_SASL_MECHANISM" in str(caught.value)


SASL_SSL = {
    "OMNIJOURNEY_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "OMNIJOURNEY_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
    "OMNIJOURNEY_KAFKA_SASL_USERNAME": "svc",
    "OMNIJOURNEY_KAFKA_SASL_PASSWORD": "pw",
}


def test_faust_gets_the_same_security_as_librdkafka() -> None:
    """SASL over TLS gives aiokafka both the mechanism and a TLS context (protocol SASL_SSL)."""
    sasl_ssl = broker_credentials(load_settings(SASL_SSL))
    assert isinstance(sasl_ssl, faust.SASLCredentials)
    assert (sasl_ssl.protocol.value, sasl_ssl.mechanism.value) == ("SASL_SSL", "SCRAM-SHA-256")
    assert (sasl_ssl.username, sasl_ssl.password) == ("svc", "pw")
    plain_sasl = broker_credentials(
        load_settings({**SASL_SSL, "OMNIJOURNEY_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    )
    assert isinstance(plain_sasl, faust.SASLCredentials)
    assert plain_sasl.protocol.value == "SASL_PLAINTEXT"
    tls = broker_credentials(load_settings({"OMNIJOURNEY_KAFKA_SECURITY_PROTOCOL": "SSL"}))
    assert isinstance(tls, faust.SSLCredentials)
    assert broker_credentials(load_settings({})) is None


def test_brokers_accept_kafka_scheme_and_spaces() -> None:
    settings = load_settings({"OMNIJOURNEY_KAFKA_BROKERS": "kafka://a:9092, b:9093"})
    assert settings.kafka_brokers == "a:9092,b:9093"


@pytest.mark.parametrize(("env", "linger_s"), [({}, 0.005), ({"OMNIJOURNEY_PRODUCER_LINGER_MS": "0"}, 0.0)])
def test_a_workers_producer_lingers_as_set(tmp_path: Path, env: dict[str, str], linger_s: float) -> None:
    app = create_app(load_settings({"OMNIJOURNEY_DATA_DIR": str(tmp_path), **env}))
    assert app.conf.producer_linger == linger_s


@pytest.mark.parametrize(
    ("env", "wait_ms", "min_bytes"),
    [
        ({}, 20, 32_768),
        (
            {"OMNIJOURNEY_CONSUMER_FETCH_MAX_WAIT_MS": "250", "OMNIJOURNEY_CONSUMER_FETCH_MIN_BYTES": "1"},
            250,
            1,
        ),
    ],
)
def test_a_workers_consumer_fetches_as_set_not_as_faust_builds_it(
    tmp_path: Path, env: dict[str, str], wait_ms: int, min_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(load_settings({"OMNIJOURNEY_DATA_DIR": str(tmp_path), **env}))

    def as_faust_builds_it(thread: Any, transport: Any) -> SimpleNamespace:  # Faust 0.15.3
        return SimpleNamespace(_fetch_max_wait_ms=1500, _fetch_min_bytes=1)

    monkeypatch.setattr(faust_fetch_wait, "_ORIGINAL", as_faust_builds_it)
    built = faust_fetch_wait._create_worker_consumer(SimpleNamespace(app=app), None)
    assert (built._fetch_max_wait_ms, built._fetch_min_bytes) == (wait_ms, min_bytes)
    other = SimpleNamespace(app=faust.App("unconfigured", autodiscover=False))  # keeps Faust's
    built = faust_fetch_wait._create_worker_consumer(other, None)
    assert (built._fetch_max_wait_ms, built._fetch_min_bytes) == (1500, 1)
