"""Building the whole report: run the analyses, lay out the sections, say plainly when there is no data.

Kept apart from the CLI so anything that can run SQL (the CLI, a test, a notebook) gets the same
report; the result says which analyses failed so the caller decides whether that is an error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sinks.report import sections
from sinks.report.html import page
from sinks.report.results import Runner, run_analyses

TITLE = "omnijourney — customer journeys across channels"
NO_JOURNEYS = (
    "No journeys yet: the store holds no journeys, so the charts below are empty. They fill in once "
    "the pipeline has stored some (e.g. run `omnijourney demo`) — generate the report again then."
)


@dataclass(frozen=True)
class Report:
    """The page, how many journeys it covers, and the analyses that failed (name -> error)."""

    html: str
    journeys: int
    failures: dict[str, str]


def build_report(run: Runner, *, generated_at: dt.datetime | None = None, title: str = TITLE) -> Report:
    """The self-contained HTML report from the saved analyses, run through ``run``."""
    results = run_analyses(run)
    failures = {name: r.error for name, r in results.items() if r.error is not None}
    journeys = sections.journeys_total(results)
    when = (generated_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    notice = ""
    if failures:
        notice = (
            f"{len(failures)} of {len(results)} analyses failed ({', '.join(failures)}); see their sections."
        )
    elif journeys == 0:
        notice = NO_JOURNEYS
    body = [
        sections.transitions(results),
        sections.journey_funnel(results),
        sections.time_to_conversion(results),
        sections.broken_handoffs(results),
        sections.plain(results["conversion_by_path"], "Conversion by channel path"),
        sections.plain(results["channel_switch_share"], "Channel switching"),
        sections.plain(results["repeat_contact_rate"], "Repeat contacts"),
        sections.channel_legend(results),
    ]
    subtitle = f"Generated {when:%Y-%m-%d %H:%M} UTC from {len(results)} saved analyses."
    html = page(title, subtitle, sections.cards(results), notice, body)
    return Report(html, journeys, failures)
