"""The ``omnijourney`` command: Faust's own CLI (``worker`` and friends) plus the project's commands.

``main`` builds the settings once; a bad setting ends the program with one line on stderr.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import faust
from faust.cli import option

from schemas.errors import OmnijourneyError
from streams.settings import Settings, load_settings


def _store_config(settings: Settings) -> Any:
    from sinks.store import StoreConfig

    password = settings.store_password.get_secret_value() if settings.store_password else None
    return StoreConfig(settings.store_url, password)


def register_commands(app: faust.App, settings: Settings) -> None:
    """Project commands, each a thin shell over a plain function in its package."""

    @app.command(option("--quiet", is_flag=True, help="Print nothing when all exist."))
    async def topics(self: Any, quiet: bool) -> None:
        """Create the pipeline's topics (configured partitions) if they do not exist."""
        from streams.admin import ensure_topics, pipeline_topics

        created = ensure_topics(
            settings.kafka_client_config(),
            pipeline_topics(settings.topics),
            settings.topic_partitions,
            settings.topic_replication,
        )
        if created or not quiet:
            print(f"created {len(created)} topic(s): {', '.join(created) or '-'}")

    @app.command()
    async def sink(self: Any) -> None:
        """Run the ClickHouse sink until SIGTERM: consume, write batches, commit after each write."""
        from sinks.runner import SinkConfig
        from sinks.service import ServiceConfig, serve

        logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
        config = ServiceConfig(
            sink=SinkConfig(
                kafka=settings.kafka_client_config(),
                group_id=settings.sink_group,
                topics=settings.topics,
                batch_rows=settings.sink_batch_rows,
                batch_ms=settings.sink_batch_ms,
            ),
            store=_store_config(settings),
            http_host=settings.web_host,
            http_port=settings.sink_port,
        )
        serve(config)

    @app.command(
        option(
            "--format",
            "fmt",
            type=faust.cli.params.CaseInsensitiveChoice(["table", "csv", "json"]),
            default="table",
            help="Output format.",
        ),
        faust.cli.argument("sql_text", required=True),
    )
    async def sql(self: Any, fmt: str, sql_text: str) -> None:
        """Run a read-only SQL query against the configured store and print the result."""
        from sinks.query import query, render

        result = query(_store_config(settings), sql_text, f"http://{settings.web_host}:{settings.sink_port}")
        print(render(result, fmt))


def main() -> None:
    """Entry point of the ``omnijourney`` console script."""
    try:
        settings = load_settings()
    except OmnijourneyError as exc:
        print(f"omnijourney: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    from streams.app import create_app

    app = create_app(settings)
    register_commands(app, settings)
    try:
        app.main()
    except OmnijourneyError as exc:
        print(f"omnijourney: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
