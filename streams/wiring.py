"""From the one settings object to the plain config objects of producers and sinks.

The only place that knows both sides: producers and sinks never see ``Settings``.
"""

from __future__ import annotations

import dataclasses
import ssl
from typing import Any

import faust

from producers.config import ProducerConfig
from producers.pii import PiiHasher
from schemas.catalog import SchemaCatalog
from schemas.codec import Codec
from schemas.confluent import ConfluentFraming, RegistryClient
from schemas.errors import ConfigError, OmnijourneyError
from sinks.runner import SinkConfig
from sinks.service import ServiceConfig
from sinks.store import StoreConfig
from streams.identity.guards import (
    DEFAULT_JUNK,
    DEFAULT_TEST_EMAILS,
    DEFAULT_TEST_PHONES,
    DEFAULT_TYPES,
    IdentityPolicy,
    hashed_blocklist,
)
from streams.settings import Settings


def make_codec(settings: Settings) -> Codec:
    """Single-object encoding, or Confluent framing when a schema registry is configured."""
    catalog = SchemaCatalog.load()
    if settings.schema_registry_url:
        return Codec(catalog, ConfluentFraming(RegistryClient(settings.schema_registry_url), catalog))
    return Codec(catalog)


def store_config(settings: Settings) -> StoreConfig:
    password = settings.store_password.get_secret_value() if settings.store_password else None
    return StoreConfig(settings.store_url, password)


def sink_url(settings: Settings) -> str:
    """Where the running sink answers /health and /sql."""
    return f"http://{settings.web_host}:{settings.sink_port}"


def api_token(settings: Settings) -> str | None:
    """The bearer token the workers' APIs and the sink's /sql ask for (None: none configured)."""
    return settings.api_token.get_secret_value() or None


def store_query(settings: Settings, sql: str, timeout: float = 60.0) -> dict[str, Any]:
    """Run analyst SQL on the configured store: through the running sink's /sql when it owns an
    embedded store, else directly. Raises StoreError carrying the server's code."""
    from sinks.query import query

    return query(store_config(settings), sql, sink_url(settings), timeout, api_token(settings))


def worker_url(settings: Settings) -> str:
    return f"http://{settings.web_host}:{settings.web_port}"


def sink_service_config(settings: Settings) -> ServiceConfig:
    return ServiceConfig(
        sink=SinkConfig(
            kafka=settings.kafka_client_config(),
            group_id=settings.sink_group,
            topics=settings.topics,
            batch_rows=settings.sink_batch_rows,
            batch_ms=settings.sink_batch_ms,
        ),
        store=store_config(settings),
        http_host=settings.web_host,
        http_port=settings.sink_port,
        token=api_token(settings),
    )


def producer_config(settings: Settings) -> ProducerConfig:
    return ProducerConfig(
        brokers=settings.kafka_brokers,
        client_id=f"{settings.app_id}-producer",
        pii_key=settings.pii_hash_key.get_secret_value().encode(),
        default_country_code=settings.phone_country_code,
        topic_prefix=settings.topics.touchpoints_prefix,
        extra={k: v for k, v in settings.kafka_client_config().items() if k != "bootstrap.servers"},
    )


def identity_policy(settings: Settings) -> IdentityPolicy:
    """The identity stage's guards: the defaults of :mod:`streams.identity.guards` plus settings.

    Test addresses are hashed with the deployment's key, because the stage only ever sees hashes.
    """
    types = dict(DEFAULT_TYPES)
    for item in filter(None, settings.identity_limits.split(",")):
        kind, _, limit = item.partition("=")
        if kind not in types:
            known = ", ".join(sorted(types))
            raise ConfigError(
                f"OMNIJOURNEY_IDENTITY_LIMITS: unknown identifier type {kind!r} (known: {known})"
            )
        types[kind] = dataclasses.replace(types[kind], limit=int(limit))
    junk = DEFAULT_JUNK | {v.strip().lower() for v in settings.identity_junk_values.split(",") if v.strip()}
    hasher = PiiHasher(settings.pii_hash_key.get_secret_value().encode(), settings.phone_country_code)
    emails = [
        *DEFAULT_TEST_EMAILS,
        *filter(None, (e.strip() for e in settings.identity_test_emails.split(","))),
    ]
    phones = [
        *DEFAULT_TEST_PHONES,
        *filter(None, (p.strip() for p in settings.identity_test_phones.split(","))),
    ]
    try:
        blocked = hashed_blocklist(hasher, emails, phones)
    except (ValueError, OmnijourneyError) as exc:
        raise ConfigError(f"OMNIJOURNEY_IDENTITY_TEST_EMAILS/_PHONES: {exc}") from None
    return IdentityPolicy(
        types=types, junk_values=junk, blocked_keys=blocked, max_event_bytes=settings.max_event_bytes
    )


def broker_credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """Faust's (aiokafka's) view of the security settings the confluent-kafka clients get.

    SASL over TLS needs both the mechanism and an SSL context: without the context aiokafka would
    speak SASL in plain text to a TLS listener.
    """
    tls = settings.kafka_security_protocol in ("SSL", "SASL_SSL")
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile) if tls else None
    mechanism, user, password = (
        settings.kafka_sasl_mechanism,
        settings.kafka_sasl_username,
        settings.kafka_sasl_password,
    )
    if settings.kafka_security_protocol.startswith("SASL") and mechanism and user and password:
        # (Settings refuses a SASL protocol without all three.)
        return faust.SASLCredentials(
            username=user, password=password.get_secret_value(), mechanism=mechanism, ssl_context=context
        )
    return faust.SSLCredentials(context) if context is not None else None
