"""The HTML report without a store: charts to scale, text escaped, failures shown, never a crash.

A fake runner answers each saved analysis by name with rows written here, so these tests pin the
page's behaviour; the numbers against a real store are checked in tests/integration.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from schemas.errors import OmnijourneyError, StoreError
from sinks.report import REPORT_ANALYSES, build_report
from sinks.report.charts import BarRow, stacked_bars
from sinks.report.sankey import Flow, sankey
from sinks.saved import saved_queries
from streams.report_command import write_report
from streams.settings import load_settings

NAMES = {q.sql: name for name, q in saved_queries().items()}


def answers(**tables: tuple[list[str], list[list[Any]]]) -> Any:
    """A runner: the named analyses answer with the given (columns, rows), the others with no rows."""

    def run(sql: str) -> dict[str, Any]:
        name = NAMES[sql]
        columns, rows = tables.get(name, (["n"], []))
        return {"columns": columns, "types": [], "rows": rows}

    return run


def heights(svg: str, cls: str) -> list[float]:
    return [float(h) for h in re.findall(rf'<rect\b[^>]*height="([\d.]+)"[^>]*class="{cls}"', svg)]


def test_sankey_bands_and_nodes_are_to_scale_on_both_sides() -> None:
    flows = [Flow("web", "store", 30), Flow("web", "chat", 10), Flow("chat", "store", 20)]
    svg = sankey(flows, height=400)
    nodes = heights(svg, "node")
    # left: web 40, chat 20; right: store 50, chat 10 — each drawn largest first.
    left, right = nodes[:2], nodes[2:]
    assert left[0] / left[1] == pytest.approx(2, rel=0.02)
    assert right[0] / right[1] == pytest.approx(5, rel=0.05)
    assert sum(left) == pytest.approx(sum(right), rel=0.01)
    assert svg.count('class="flow"') == 3


def test_stacked_bar_segments_are_proportional_and_zero_values_drawn_as_nothing() -> None:
    svg = stacked_bars(
        [BarRow("a", {"x": 3, "y": 1}), BarRow("b", {"x": 2, "y": 0})], ["x", "y"], ["#111", "#222"]
    )
    widths = [float(w) for w in re.findall(r'<rect\b[^>]*width="([\d.]+)"[^>]*class="segment"', svg)]
    assert len(widths) == 3
    assert widths[0] / widths[1] == pytest.approx(3, rel=0.02)
    assert widths[0] / widths[2] == pytest.approx(1.5, rel=0.02)


def test_text_from_the_store_is_escaped_everywhere() -> None:
    evil = '<script>alert("x")</script>'
    run = answers(
        channel_transitions=(
            ["from_channel", "to_channel", "transitions", "median_gap_min"],
            [[evil, "web", 3, 1.5]],
        ),
        broken_handoffs=(["kind", "store", "alerts", "customers"], [["other", evil, 2, 1]]),
    )
    page = build_report(run).html
    assert "<script" not in page
    assert "&lt;script&gt;" in page


def test_a_failing_analysis_is_shown_and_the_others_still_render() -> None:
    ok = answers(
        channel_transitions=(
            ["from_channel", "to_channel", "transitions", "median_gap_min"],
            [["web", "chat", 4, 2.0]],
        )
    )

    def run(sql: str) -> dict[str, Any]:
        if NAMES[sql] == "journey_funnel":
            raise StoreError("query failed: Code: 60. Unknown table v_journeys", code=60)
        return dict(ok(sql))

    report = build_report(run)
    assert report.failures == {"journey_funnel": "query failed: Code: 60. Unknown table v_journeys"}
    assert "The analysis journey_funnel failed" in report.html
    assert 'aria-label="Channel transitions' in report.html
    assert report.journeys == 0


def test_no_data_reads_no_journeys_yet_and_draws_no_charts() -> None:
    report = build_report(answers())
    assert report.journeys == 0
    assert report.failures == {}
    assert "No journeys yet" in report.html
    assert "<svg" not in report.html


def test_the_command_refuses_to_write_when_no_analysis_can_run(tmp_path: Path) -> None:
    settings = load_settings({"OMNIJOURNEY_STORE_URL": "clickhouse://127.0.0.1:9/analytics"})
    out = tmp_path / "report.html"
    with pytest.raises(OmnijourneyError, match="no analysis could run"):
        write_report(settings, out)
    assert not out.exists()


def test_an_unreachable_store_is_asked_once_not_once_per_analysis() -> None:
    calls: list[str] = []

    def run(sql: str) -> dict[str, Any]:
        calls.append(sql)
        raise StoreError("cannot open store clickhouse://db:8123/x: refused", retryable=True)

    report = build_report(run)
    assert len(calls) == 1
    assert set(report.failures) == set(REPORT_ANALYSES)
    assert set(report.failures.values()) == {"cannot open store clickhouse://db:8123/x: refused"}
