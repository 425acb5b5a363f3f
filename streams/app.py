"""The Faust app: built from the settings, stages registered on it. Deliberately thin."""

from __future__ import annotations

import faust

from schemas.codec import Codec
from streams.identity import agent as stitching_agent
from streams.identity import strongest_agent
from streams.settings import Settings
from streams.wiring import make_codec


def create_app(settings: Settings, codec: Codec | None = None) -> faust.App:
    codec = codec or make_codec(settings)
    credentials: faust.SASLCredentials | faust.SSLCredentials | None = None
    if settings.kafka_sasl_mechanism and settings.kafka_sasl_username and settings.kafka_sasl_password:
        credentials = faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism,
        )
    elif settings.kafka_security_protocol == "SSL":
        import ssl

        credentials = faust.SSLCredentials(ssl.create_default_context(cafile=settings.kafka_ssl_cafile))
    datadir = settings.data_dir / "faust" / settings.app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{b}" for b in settings.kafka_brokers.split(",")],
        broker_credentials=credentials,
        datadir=str(datadir),
        web_host=settings.web_host,
        web_port=settings.web_port,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    if settings.identity_stage == "stitch":
        stitching_agent.register(app, settings.topics, codec)
    else:
        strongest_agent.register(app, settings.topics, codec)

    @app.page("/health")
    async def health(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        """Liveness for operators and tests: answers once the worker's web server is up."""
        return web.json({"state": "ok", "app": settings.app_id})

    return app
