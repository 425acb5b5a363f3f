"""deploy/docker-compose.yml cannot run here (no Docker engine); this keeps it honest by reading it."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from streams.settings import ENV_PREFIX, Settings, load_settings

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "docker-compose.yml"


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def published(service: dict[str, Any]) -> set[int]:
    return {int(str(p).split(":")[-1]) for p in service.get("ports", [])}


def test_expected_services_exist() -> None:
    assert {"kafka", "clickhouse", "topics", "worker", "sink"} <= set(compose()["services"])


def test_every_omnijourney_variable_is_a_setting_and_validates() -> None:
    for name in ("topics", "worker", "sink"):
        env = {k: str(v) for k, v in compose()["services"][name]["environment"].items()}
        for key in env:
            assert key.startswith(ENV_PREFIX), key
            assert key.removeprefix(ENV_PREFIX).lower() in Settings.model_fields, key
        load_settings(env)  # raises ConfigError on any bad value


def test_wiring_matches_the_settings() -> None:
    services = compose()["services"]
    env = {k: str(v) for k, v in services["worker"]["environment"].items()}
    settings = load_settings(env)
    broker_host, broker_port = settings.kafka_brokers.split(",")[0].split(":")
    assert broker_host in services
    assert (
        f"PLAINTEXT://{broker_host}:{broker_port}"
        in services[broker_host]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    )
    store = urlsplit(settings.store_url)
    assert store.hostname in services
    assert store.port in published(services[str(store.hostname)])
    ch_env = services[str(store.hostname)]["environment"]
    assert store.path.strip("/") == ch_env["CLICKHOUSE_DB"]
    assert store.username == ch_env["CLICKHOUSE_USER"]
    assert settings.store_password is not None
    assert settings.store_password.get_secret_value() == ch_env["CLICKHOUSE_PASSWORD"]
    assert settings.web_port in published(services["worker"])
    assert settings.sink_port in published(services["sink"])
    assert settings.web_host == "0.0.0.0"


def test_workers_start_the_omnijourney_cli_commands() -> None:
    services = compose()["services"]
    assert services["worker"]["command"][0] == "worker"
    assert services["sink"]["command"] == ["sink"]
    assert services["topics"]["command"] == ["topics"]
