"""``omnijourney report --out report.html``: the HTML report from the saved analyses.

A module of its own so the report command can be registered next to the others without growing
``streams/cli.py``; it only wires settings to :func:`sinks.report.build_report`, which runs the
analyses through :func:`sinks.query.query` — the path ``omnijourney sql --saved`` takes, so it
reaches the embedded store through the running sink while the pipeline owns it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import faust
from faust.cli import option

from schemas.errors import OmnijourneyError
from streams.settings import Settings


def write_report(settings: Settings, out: Path) -> tuple[int, dict[str, str]]:
    """Build the report and write it to ``out`` whole (temporary file, then rename).

    Returns the number of journeys covered and the failed analyses. When every analysis failed
    there is nothing worth a page (the store is down or empty of tables): that raises instead,
    and ``out`` is left as it was.
    """
    from sinks.report import REPORT_ANALYSES, build_report
    from streams.wiring import store_query

    report = build_report(lambda sql: store_query(settings, sql))
    if len(report.failures) == len(REPORT_ANALYSES):
        name, message = next(iter(report.failures.items()))
        raise OmnijourneyError(f"no analysis could run (first, {name}: {message})")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    partial.write_text(report.html, encoding="utf-8")
    partial.replace(out)
    return report.journeys, report.failures


def register_report_command(app: faust.App, settings: Settings) -> None:
    """Add ``report`` to the ``omnijourney`` command."""
    from streams.cli import reports_errors  # here, not at the top: cli.py calls this function

    @app.command(
        option(
            "--out",
            "out",
            default="report.html",
            show_default=True,
            help="Where to write the HTML report.",
        ),
    )
    @reports_errors
    async def report(self: Any, out: str) -> None:
        """Write a self-contained HTML report (charts and tables) from the saved analyses."""
        path = Path(out)
        journeys, failures = write_report(settings, path)
        print(f"wrote {path} ({journeys:,} journeys)")
        if failures:
            names = ", ".join(f"{name} ({message})" for name, message in failures.items())
            raise OmnijourneyError(f"the report is incomplete; failed: {names}")
