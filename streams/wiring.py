"""From the one settings object to the plain config objects of producers and sinks.

The only place that knows both sides: producers and sinks never see ``Settings``.
"""

from __future__ import annotations

from producers.config import ProducerConfig
from schemas.catalog import SchemaCatalog
from schemas.codec import Codec
from schemas.confluent import ConfluentFraming, RegistryClient
from sinks.runner import SinkConfig
from sinks.service import ServiceConfig
from sinks.store import StoreConfig
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
