"""The one settings object, read from ``OMNIJOURNEY_*`` environment variables at start.

Built once by the CLI and passed down; modules below take plain values or small config objects,
never the environment. Bad values fail at start with one line per problem, not a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from schemas.errors import ConfigError
from schemas.topics import KafkaOptions, TopicNames

ENV_PREFIX = "OMNIJOURNEY_"
DEV_PII_KEY = "omnijourney-development-key-change-me"


def _check_host_port(item: str) -> str:
    host, sep, port = item.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{item!r} is not host:port")
    return f"{host}:{port}"


class Settings(BaseSettings):
    """Everything an operator can set. Field ``x`` is read from ``OMNIJOURNEY_X``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    # Kafka
    kafka_brokers: str = Field("127.0.0.1:19092", description="comma-separated host:port list")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    topic_prefix: str = Field("", description="prepended to every topic name; isolates test runs")
    topic_partitions: int = Field(8, ge=1, le=1024)
    topic_replication: int = Field(1, ge=1, le=16)
    schema_registry_url: str | None = Field(None, description="Confluent framing when set")

    # Stream workers
    identity_stage: Literal["strongest", "stitch"] = Field(
        "stitch", description="stitch: union-find across identifiers; strongest: person of the strongest one"
    )
    identity_limits: str = Field(
        "",
        pattern=r"^([a-z_]+=[1-9][0-9]*(,[a-z_]+=[1-9][0-9]*)*)?$",
        description="per-person limits by identifier type over the defaults, e.g. cookie=20,device=3",
    )
    identity_junk_values: str = Field("", description="extra placeholder values that never link (comma list)")
    identity_test_emails: str = Field(
        "", description="extra test e-mail addresses that never link (comma list)"
    )
    identity_test_phones: str = Field("", description="extra test phone numbers that never link (comma list)")
    max_event_bytes: int = Field(
        1_048_576,
        ge=1024,
        le=16 * 1_048_576,
        description="larger touchpoints are dead-lettered at intake; keep it under about 2/3 of the "
        "broker's message.max.bytes (2 MiB here): the identity stage's messages carry events in base64",
    )
    producer_linger_ms: int = Field(
        5,
        ge=0,
        le=1000,
        description="how long the worker's producer waits to fill a batch: one request per message "
        "(0) costs the stages more CPU in socket writes than the few milliseconds of latency",
    )
    consumer_fetch_max_wait_ms: int = Field(
        20,
        ge=1,
        le=1500,
        description="how long the broker may hold a worker's fetch while none of its partitions has "
        "new data: Faust's 1,500 ms stalls busy topics behind quiet ones (see streams.faust_fetch_wait)",
    )
    consumer_fetch_min_bytes: int = Field(
        32_768,
        ge=1,
        le=52_428_800,
        description="how much a worker's fetch asks for before the broker answers (or the fetch wait "
        "is over): 1 makes a busy worker fetch a few records at a time, at a CPU cost per record",
    )
    gc_full_collect_s: float = Field(
        600.0,
        ge=0,
        description="how often a worker runs a full garbage collection; in between, long-lived state "
        "is frozen so collections skip it (0: CPython's own schedule; see streams.gc_pacing)",
    )
    stages: str = Field(
        "identity,journeys",
        pattern=r"^(identity|journeys)(,(identity|journeys))?$",
        description="stages this worker runs (comma list): scale or benchmark them apart",
    )
    app_id: str = Field("omnijourney", pattern=r"^[A-Za-z0-9._-]+$")
    web_host: str = "127.0.0.1"
    web_port: int = Field(6066, ge=1, le=65535)
    data_dir: Path = Path(".run")
    log_format: Literal["json", "text"] = Field(
        "text", description="worker and sink logs: text lines, or JSON lines for a log shipper"
    )
    table_store: Literal["rocksdb://", "memory://"] = Field(
        "rocksdb://",
        description="Faust table store: rocksdb:// keeps state on disk under data_dir (a restarted worker "
        "reads only the changelog tail); memory:// rebuilds it from the changelog at every start",
    )
    api_token: SecretStr = SecretStr("omnijourney-dev-token")

    # Producers
    pii_hash_key: SecretStr = SecretStr(DEV_PII_KEY)
    phone_country_code: str = Field("39", pattern=r"^[1-9][0-9]{0,2}$")

    # ClickHouse
    store_url: str = Field(
        "chdb://.run/store", description="chdb://PATH or clickhouse://user:pass@host:port/db"
    )
    store_password: SecretStr | None = None
    sink_group: str = Field("omnijourney-sink", pattern=r"^[A-Za-z0-9._-]+$")
    sink_batch_rows: int = Field(50_000, ge=1)
    sink_batch_ms: int = Field(1000, ge=1)
    sink_port: int = Field(6067, ge=1, le=65535)

    @field_validator("kafka_brokers")
    @classmethod
    def _brokers(cls, value: str) -> str:
        items = [i for i in value.split(",") if i.strip()]
        if not items:
            raise ValueError("no broker given")
        return ",".join(_check_host_port(i.removeprefix("kafka://")) for i in items)

    @field_validator("schema_registry_url")
    @classmethod
    def _registry(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _kafka_security(self) -> Settings:
        """A SASL protocol without its mechanism and user would fail at the first connection,
        in every process, with a broker-side message; say it once, at start, by name."""
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_mechanism and self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"{ENV_PREFIX}KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                f"{ENV_PREFIX}KAFKA_SASL_MECHANISM, {ENV_PREFIX}KAFKA_SASL_USERNAME and "
                f"{ENV_PREFIX}KAFKA_SASL_PASSWORD"
            )
        return self

    @model_validator(mode="after")
    def _store(self) -> Settings:
        """Accept a password inside clickhouse:// URLs but keep it only as a secret."""
        parts = urlsplit(self.store_url)
        if parts.scheme == "chdb":
            path = (parts.netloc + parts.path).strip()
            if not path:
                raise ValueError(
                    f"{ENV_PREFIX}STORE_URL={self.store_url!r}: chdb:// needs a directory, e.g. chdb://.run/store"
                )
            return self
        if parts.scheme not in ("clickhouse", "clickhouses", "http", "https"):
            raise ValueError(
                f"{ENV_PREFIX}STORE_URL={self.store_url!r}: "
                "scheme must be chdb, clickhouse, clickhouses, http or https"
            )
        if not parts.hostname:
            raise ValueError(f"{ENV_PREFIX}STORE_URL={self.store_url!r}: no host")
        try:
            _ = parts.port
        except ValueError as exc:
            raise ValueError(f"{ENV_PREFIX}STORE_URL={self.store_url!r}: {exc}") from None
        if parts.password is not None:
            if self.store_password is None:
                self.store_password = SecretStr(parts.password)
            netloc = parts.netloc.rsplit("@", 1)[1]
            user = parts.username or ""
            self.store_url = urlunsplit(parts._replace(netloc=f"{user}@{netloc}" if user else netloc))
        return self

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)

    @property
    def store_is_embedded(self) -> bool:
        return self.store_url.startswith("chdb:")

    def kafka_client_config(self) -> KafkaOptions:
        """librdkafka options shared by every confluent-kafka client we create."""
        config: KafkaOptions = {
            "bootstrap.servers": self.kafka_brokers,
            "security.protocol": self.kafka_security_protocol,
        }
        if self.kafka_sasl_mechanism:
            config["sasl.mechanism"] = self.kafka_sasl_mechanism
        if self.kafka_sasl_username:
            config["sasl.username"] = self.kafka_sasl_username
        if self.kafka_sasl_password:
            config["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_ssl_cafile:
            config["ssl.ca.location"] = str(self.kafka_ssl_cafile)
        return config


class _GivenSettings(Settings):
    """Settings from the mapping passed to :func:`load_settings` alone: no variable of the
    caller's shell leaks in (a test's "defaults" stay the defaults wherever it runs)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build the settings from the environment, turning validation errors into one ConfigError.

    ``environ`` replaces ``os.environ`` for tests that must not depend on the caller's shell.
    """
    source = os.environ if environ is None else environ
    values = {
        name: source[ENV_PREFIX + name.upper()]
        for name in Settings.model_fields
        if ENV_PREFIX + name.upper() in source
    }
    try:
        return _GivenSettings.model_validate(values) if environ is not None else Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{ENV_PREFIX}{field.upper()}: {message}" if field else message)
        raise ConfigError("; ".join(problems)) from None
