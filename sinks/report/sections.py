"""The report's sections and headline numbers, each made from the saved analyses' answers.

Every section shows its chart and the analysis' own table, so a reader can check the picture
against the numbers and rerun the same query with ``omnijourney sql --saved NAME``. A section
whose analysis has no rows says so in words instead of drawing an empty chart; one whose analysis
failed shows the error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping

from sinks.report.charts import BarRow, FunnelStep, funnel, stacked_bars
from sinks.report.html import Card, empty, error, section, table
from sinks.report.results import Result
from sinks.report.sankey import Flow, sankey
from sinks.report.svg import CATEGORICAL, colour, esc, quantity, sequential

Results = Mapping[str, Result]
FUNNEL_STAGES = ("awareness", "consideration", "intent", "conversion")
MAX_STORES = 7
NO_STORE = "(no store)"
NO_STORE_COLOUR = "#cbd2d9"


def _with(result: Result, title: str, draw: Callable[[Result], str], nothing: str) -> str:
    """The section for one analysis: its chart (or why there is none) above its table."""
    if result.error is not None:
        return section(title, result.description, error(result.name, result.error), anchor=result.name)
    if not result.rows:
        return section(title, result.description, empty(nothing), anchor=result.name)
    return section(
        title, result.description, draw(result), table(result.columns, result.rows), anchor=result.name
    )


def transitions(results: Results) -> str:
    def draw(r: Result) -> str:
        flows = [
            Flow(
                str(x["from_channel"]),
                str(x["to_channel"]),
                float(x["transitions"]),
                f"median gap {quantity(x['median_gap_min'])} min"
                if x.get("median_gap_min") is not None
                else "",
            )
            for x in r.records()
        ]
        return sankey(flows, label="Channel transitions: from which channel customers move to which next")

    return _with(results["channel_transitions"], "Channel transitions", draw, "No channel transitions yet.")


def journey_funnel(results: Results) -> str:
    result = results["journey_funnel"]

    def draw(r: Result) -> str:
        rows = {str(x["stage"]): x for x in r.records()}
        if not sum(int(x["journeys"]) for x in rows.values()):
            return empty("No journeys yet.")
        steps = []
        for stage in FUNNEL_STAGES:
            row = rows.get(stage, {})
            share = row.get("pct_of_journeys")
            steps.append(
                FunnelStep(
                    stage,
                    float(row.get("reached") or 0),
                    f"{share}% of journeys" if share is not None else "",
                )
            )
        beside = [f"{s}: {quantity(float(x['journeys']))}" for s, x in rows.items() if s not in FUNNEL_STAGES]
        note = empty("Beside the funnel — " + ", ".join(beside)) if beside else ""
        return funnel(steps, label="Journey funnel: journeys reaching each stage or beyond") + note

    return _with(result, "Journey funnel", draw, "No journeys yet.")


def time_to_conversion(results: Results) -> str:
    """The distribution chart (time buckets per first-touch channel) above the median/p90 table."""
    spread, summary = results["time_to_conversion_distribution"], results["time_to_conversion"]
    if spread.error is not None:
        return section("Time to conversion", spread.description, error(spread.name, spread.error))
    if spread.rows:
        counts: dict[str, dict[str, float]] = defaultdict(dict)
        buckets: dict[int, str] = {}
        for x in spread.records():
            counts[str(x["first_touch_channel"])][str(x["bucket"])] = float(x["conversions"])
            buckets[int(x["bucket_no"])] = str(x["bucket"])
        series = [buckets[n] for n in sorted(buckets)]
        rows = [BarRow(c, v) for c, v in sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))]
        chart = stacked_bars(
            rows,
            series,
            sequential(len(series)),
            label="Time to conversion: conversions per first-touch channel by time to the outcome",
            unit="",
        )
    else:
        chart = empty("No conversions yet.")
    if summary.error is not None:
        below = error(summary.name, summary.error)
    elif not summary.rows:
        below = ""
    else:
        below = f'<p class="about">{esc(summary.description)}</p>' + table(summary.columns, summary.rows)
    return section("Time to conversion", spread.description, chart, below, anchor=spread.name)


def broken_handoffs(results: Results) -> str:
    def draw(r: Result) -> str:
        by_kind: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        by_store: dict[str, float] = defaultdict(float)
        for x in r.records():
            by_store[str(x["store"])] += float(x["alerts"])
        named = [s for s in sorted(by_store, key=lambda s: (-by_store[s], s)) if s != NO_STORE]
        shown = named[:MAX_STORES]
        for x in r.records():
            store = str(x["store"])
            key = store if store in shown or store == NO_STORE else "other stores"
            by_kind[str(x["kind"])][key] += float(x["alerts"])
        series = [*shown, *(["other stores"] if len(named) > MAX_STORES else []), NO_STORE]
        series = [s for s in series if any(s in v for v in by_kind.values())]
        colours = [
            NO_STORE_COLOUR if s == NO_STORE else CATEGORICAL[i % len(CATEGORICAL)]
            for i, s in enumerate(series)
        ]
        rows = [
            BarRow(k, v) for k, v in sorted(by_kind.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        ]
        return stacked_bars(rows, series, colours, label="Broken hand-offs by kind and store")

    return _with(results["broken_handoffs"], "Broken hand-offs", draw, "No broken hand-offs yet.")


def plain(result: Result, title: str) -> str:
    """A section that is just the analysis' table."""
    if result.error is not None:
        return section(title, result.description, error(result.name, result.error), anchor=result.name)
    return section(title, result.description, table(result.columns, result.rows), anchor=result.name)


def channel_legend(results: Results) -> str:
    """The channel mix as a table, its rows' channels in the colours every chart uses."""
    result = results["channel_mix"]
    if result.error is None and result.rows:
        swatches = " ".join(
            f'<span style="color:{colour(str(x["channel"]), i)}">■</span> {esc(x["channel"])}'
            for i, x in enumerate(result.records())
        )
        return section(
            "Channel mix",
            result.description,
            f"<p>{swatches}</p>",
            table(result.columns, result.rows),
            anchor="channel_mix",
        )
    return plain(result, "Channel mix")


def journeys_total(results: Results) -> int:
    return int(results["journey_funnel"].total("journeys"))


def cards(results: Results) -> list[Card]:
    """Headline numbers; a dash where the analysis failed or there is nothing to divide by."""

    def pick(name: str, key: str, column: str, value: str) -> str:
        result = results[name]
        for x in result.records():
            if str(x.get(key)) == value and x.get(column) is not None:
                return f"{x[column]}%"
        return "—"

    journeys = journeys_total(results)
    conversions = results["time_to_conversion"].total("conversions")
    return [
        Card("touchpoints", quantity(results["channel_mix"].total("touchpoints"))),
        Card("journeys", quantity(journeys)),
        Card("conversions", quantity(conversions)),
        Card("conversion rate", f"{round(100 * conversions / journeys, 1)}%" if journeys else "—"),
        Card("journeys switching channel", pick("channel_switch_share", "outcome", "switch_pct", "all")),
        Card(
            "customers with a repeat contact", pick("repeat_contact_rate", "scope", "repeat_pct", "customers")
        ),
        Card("broken hand-offs", quantity(results["broken_handoffs"].total("alerts"))),
    ]
