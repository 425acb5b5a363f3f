"""The ``omnijourney`` command: Faust's own CLI (``worker`` and friends) plus the project's commands.

``main`` builds the settings once; a bad setting ends the program with one line on stderr.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.cli import argument, option

from schemas.errors import OmnijourneyError
from streams.settings import Settings, load_settings

Command = Callable[..., Awaitable[None]]


def reports_errors(command: Command) -> Command:
    """A project error ends the command with one line on stderr and exit code 1, not a traceback."""

    @functools.wraps(command)
    async def run(*args: Any, **kwargs: Any) -> None:
        try:
            await command(*args, **kwargs)
        except OmnijourneyError as exc:
            print(f"omnijourney: {exc}", file=sys.stderr, flush=True)
            os._exit(1)  # Faust's worker would log the error with a traceback and exit 0 on SystemExit

    return run


def register_commands(app: faust.App, settings: Settings) -> None:
    """Project commands, each a thin shell over a plain function in its package."""

    @app.command(option("--quiet", is_flag=True, help="Print nothing when all exist."))
    @reports_errors
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
    @reports_errors
    async def sink(self: Any) -> None:
        """Run the ClickHouse sink until SIGTERM: consume, write batches, commit after each write."""
        from sinks.service import serve
        from streams.logging_setup import configure_logging
        from streams.wiring import make_codec, sink_service_config

        configure_logging(settings.log_format)
        serve(sink_service_config(settings), make_codec(settings))

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
    @reports_errors
    async def sql(self: Any, fmt: str, saved: str | None, list_saved: bool, sql_text: str | None) -> None:
        """Run a read-only SQL query (or a saved analysis) against the configured store; print the result."""
        from sinks.query import render
        from sinks.saved import saved_queries, saved_query
        from streams.wiring import store_query

        if list_saved:
            for item in saved_queries().values():
                print(f"{item.name:24} {item.description}")
            return
        if bool(saved) == bool(sql_text):
            raise OmnijourneyError("give either a query or --saved NAME")
        text = saved_query(saved).sql if saved else str(sql_text)
        print(render(store_query(settings, text), fmt))

    @app.command(
        option("--customers", type=int, default=1000, show_default=True, help="Simulated customers."),
        option("--days", type=int, default=1, show_default=True, help="Days of activity."),
        option(
            "--rate",
            type=float,
            default=None,
            help="Events per second at most (default: as fast as possible).",
        ),
        option("--seed", type=int, default=42, show_default=True, help="Same seed, same events."),
        option("--truth", type=str, default=None, help="Write the ground truth (JSON) to this file."),
        option("--no-progress", is_flag=True, help="No progress bar."),
    )
    @reports_errors
    async def produce(
        self: Any,
        customers: int,
        days: int,
        rate: float | None,
        seed: int,
        truth: str | None,
        no_progress: bool,
    ) -> None:
        """Simulate every channel for N customers over D days and publish through the producer SDK."""
        from pathlib import Path

        from streams.produce import produce_simulation

        produce_simulation(
            settings,
            customers=customers,
            days=days,
            seed=seed,
            rate=rate,
            truth_path=Path(truth) if truth else None,
            progress=not no_progress,
        )

    @app.command(
        option("--customers", type=int, default=2000, show_default=True, help="Simulated customers."),
        option("--days", type=int, default=7, show_default=True, help="Days of activity."),
        option("--seed", type=int, default=42, show_default=True, help="Same seed, same events."),
    )
    @reports_errors
    async def demo(self: Any, customers: int, days: int, seed: int) -> None:
        """Start worker and sink, produce simulated channels, wait until stored, print the analysis."""
        from streams.demo import run_demo

        run_demo(settings, customers=customers, days=days, seed=seed)

    @app.command(argument("kind"), argument("value"))
    @reports_errors
    async def whois(self: Any, kind: str, value: str) -> None:
        """Who an identifier belongs to: person, its identifiers, merge history (raw email/phone ok)."""
        from streams.whois_command import print_whois

        print_whois(settings, kind, value)

    @app.command(
        argument("kind"),
        argument("value"),
        option("--dry-run", is_flag=True, help="Print what would be removed; change nothing."),
        option("--json", "as_json", is_flag=True, help="Print the receipt as JSON."),
        option("--wait", type=float, default=180.0, show_default=True, help="Seconds to wait for the sink."),
    )
    @reports_errors
    async def forget(self: Any, kind: str, value: str, dry_run: bool, as_json: bool, wait: float) -> None:
        """GDPR erasure of a person (by any identifier; raw email/phone ok) everywhere; prints a receipt."""
        from streams.privacy.command import forget as run_forget
        from streams.privacy.receipt import render

        receipt = run_forget(settings, kind, value, dry_run=dry_run, wait_s=wait)
        print(receipt.to_json() if as_json else render(receipt))

    from streams.report_command import register_report_command

    register_report_command(app, settings)


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
