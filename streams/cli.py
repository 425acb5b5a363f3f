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
        from sinks.service import serve
        from streams.wiring import sink_service_config

        logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
        serve(sink_service_config(settings))

    @app.command(
        option(
            "--format",
            "fmt",
            type=faust.cli.params.CaseInsensitiveChoice(["table", "csv", "json"]),
            default="table",
            help="Output format.",
        ),
        option("--saved", "saved", default=None, help="Run a saved analysis from sinks/queries/ by name."),
        option("--list", "list_saved", is_flag=True, help="List the saved analyses."),
        faust.cli.argument("sql_text", required=False),
    )
    async def sql(self: Any, fmt: str, saved: str | None, list_saved: bool, sql_text: str | None) -> None:
        """Run a read-only SQL query (or a saved analysis) against the configured store; print the result."""
        from sinks.query import query, render
        from sinks.saved import saved_queries, saved_query
        from streams.wiring import sink_url, store_config

        if list_saved:
            for item in saved_queries().values():
                print(f"{item.name:24} {item.description}")
            return
        if bool(saved) == bool(sql_text):
            raise OmnijourneyError("give either a query or --saved NAME")
        text = saved_query(saved).sql if saved else str(sql_text)
        print(render(query(store_config(settings), text, sink_url(settings)), fmt))

    @app.command(
        option("--customers", type=int, default=2000, show_default=True, help="Simulated customers."),
        option("--days", type=int, default=7, show_default=True, help="Days of activity."),
        option("--seed", type=int, default=42, show_default=True, help="Same seed, same events."),
    )
    async def demo(self: Any, customers: int, days: int, seed: int) -> None:
        """Start worker and sink, produce simulated channels, wait until stored, print the analysis."""
        from streams.demo import run_demo

        run_demo(settings, customers=customers, days=days, seed=seed)


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
