"""The Faust app: built from the settings, stages registered on it. Deliberately thin."""

from __future__ import annotations

import faust

from producers.pii import PiiHasher
from schemas.codec import Codec
from streams import faust_fetch_wait, faust_fixes, faust_partitions_fix, gc_pacing
from streams.crash_policy import exit_on_agent_crash
from streams.gaps import GapFiller, TailSweeper
from streams.identity import agent as stitching_agent
from streams.identity import strongest_agent
from streams.journeys.agent import JourneyStage
from streams.journeys.lookup import RoutedContinuityLookup, register_internal_routes
from streams.journeys.web import pii_identifier_hasher, register_continuity_routes
from streams.logging_setup import faust_logging_config
from streams.metrics import register_metrics_page
from streams.privacy.guard import PrivacyGuard
from streams.privacy.stage_hooks import IdentityPrivacy, JourneyPrivacy
from streams.privacy.web import register as register_erasure
from streams.settings import Settings
from streams.wiring import broker_credentials, identity_policy, make_codec


def create_app(settings: Settings, codec: Codec | None = None) -> faust.App:
    faust_fixes.apply()
    faust_partitions_fix.apply()
    codec = codec or make_codec(settings)
    datadir = settings.data_dir / "faust" / settings.app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{b}" for b in settings.kafka_brokers.split(",")],
        broker_credentials=broker_credentials(settings),
        datadir=str(datadir),
        store=settings.table_store,
        logging_config=faust_logging_config(settings.log_format),
        web_host=settings.web_host,
        web_port=settings.web_port,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10,
        # A consumer that joins while its topics are still missing from its metadata (just created,
        # or a slow broker start) gets an empty assignment and waits for the next metadata refresh
        # to rebalance: aiokafka's default of 5 minutes reads as a stalled worker. 10 s bounds it.
        consumer_metadata_max_age_ms=10_000,
        producer_metadata_max_age_ms=10_000,
        # The identity stage's routing messages carry a touchpoint base64-encoded: one of the
        # largest size intake accepts must still be sendable, or the worker stops on it.
        producer_max_request_size=max(1_000_000, 2 * settings.max_event_bytes),
        # Each stage sends several records per touchpoint (routing hops, outputs, handoffs); without
        # a linger every one is its own produce request and socket write.
        producer_linger=settings.producer_linger_ms / 1000,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    faust_fetch_wait.configure(app, settings.consumer_fetch_max_wait_ms, settings.consumer_fetch_min_bytes)
    gaps = GapFiller(settings.kafka_client_config(), settings.app_id)
    TailSweeper(settings.kafka_client_config(), settings.app_id).register(app)  # see streams.gaps
    stages = set(settings.stages.split(","))
    token = settings.api_token.get_secret_value() or None
    hasher = PiiHasher(settings.pii_hash_key.get_secret_value().encode(), settings.phone_country_code)
    guard = PrivacyGuard(settings.kafka_client_config(), settings.topics.suppressions, codec)  # GDPR
    lookup: RoutedContinuityLookup | None = None
    if "identity" in stages and settings.identity_stage == "stitch":
        stitching_agent.register(
            app,
            settings.topics,
            codec,
            gaps,
            identity_policy(settings),
            token=token,
            hash_identifier=pii_identifier_hasher(hasher),
            privacy=lambda routing: IdentityPrivacy(guard, routing),
        )
    elif "identity" in stages:
        strongest_agent.register(app, settings.topics, codec, gaps, privacy=guard)
    if "journeys" in stages:
        journeys = JourneyStage(app, settings.topics, codec, gaps, privacy=JourneyPrivacy(guard))
        lookup = RoutedContinuityLookup(journeys, token)
        register_internal_routes(app, lookup)
        register_continuity_routes(app, lookup, token=token, hash_identifier=pii_identifier_hasher(hasher))
    register_erasure(app, settings.topics, codec, guard, token, lookup)  # POST /privacy/erase
    exit_on_agent_crash(app)  # a crashed agent ends the worker (exit 70) instead of a silent zombie
    register_metrics_page(app)
    gc_pacing.register(app, settings.gc_full_collect_s)  # full GC pauses at a chosen rate only

    @app.page("/health")
    async def health(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        """Liveness for operators and tests: answers once the worker's web server is up."""
        return web.json({"state": "ok", "app": settings.app_id})

    return app
