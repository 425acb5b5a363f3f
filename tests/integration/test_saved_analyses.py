"""The journey analyses in ``sinks/queries/`` against a hand-built chDB store (no broker needed).

Each test works out what the analysis must say from the records in ``analysis_rows`` with plain
Python (latest version per journey, merged journeys left out, everyone counted under their final
survivor) and compares it with what the saved query returns through ``sinks.query.query``, the path
``omnijourney sql --saved`` takes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sinks.query import query
from sinks.saved import saved_queries, saved_query
from sinks.store import StoreConfig
from tests.integration.analysis_rows import (
    TOUCHES,
    A,
    J,
    final_survivor,
    latest_alerts,
    latest_journeys,
    load_store,
)

pytestmark = pytest.mark.integration

FUNNEL = ["awareness", "consideration", "intent", "conversion"]
CONVERSIONS = ("purchase", "pickup")
BUCKETS = [(0.0, "<1h"), (1.0, "1-6h"), (6.0, "6-24h"), (24.0, "1-3d"), (72.0, "3d+")]
NEW_ANALYSES = (
    "journey_funnel",
    "time_to_conversion",
    "time_to_conversion_distribution",
    "conversion_by_path",
    "channel_switch_share",
    "repeat_contact_rate",
    "broken_handoffs",
)
Records = list[dict[str, Any]]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> StoreConfig:
    return load_store(tmp_path_factory.mktemp("analyses") / "store")


def run(store: StoreConfig, name: str) -> Records:
    result = query(store, saved_query(name).sql)
    return [dict(zip(result["columns"], row, strict=True)) for row in result["rows"]]


def pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (the 'inclusive' definition, as in spreadsheets)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def converted(j: J) -> bool:
    return j.status in CONVERSIONS and j.hours is not None


def approx_rows(rows: Records) -> list[dict[str, Any]]:
    return [
        {k: pytest.approx(v, abs=0.006) if isinstance(v, float) else v for k, v in r.items()} for r in rows
    ]


def test_every_analysis_starts_with_a_one_line_description() -> None:
    queries = saved_queries()
    for name in NEW_ANALYSES:
        assert queries[name].description, name
        assert queries[name].sql.splitlines()[0].startswith("-- "), name


def test_journey_funnel_counts_each_stage_reached_or_passed(store: StoreConfig) -> None:
    journeys = latest_journeys()
    by_stage = Counter(j.stage for j in journeys)
    expected = []
    for step, stage in enumerate([*FUNNEL, "service", "other"], start=1):
        in_funnel = stage in FUNNEL
        reached = sum(by_stage[s] for s in FUNNEL[step - 1 :]) if in_funnel else by_stage[stage]
        previous = sum(by_stage[s] for s in FUNNEL[step - 2 :]) if in_funnel and step > 1 else 0
        expected.append(
            {
                "step": step,
                "stage": stage,
                "journeys": by_stage[stage],
                "reached": reached,
                "pct_of_journeys": pct(reached, len(journeys)),
                "pct_of_previous": pct(reached, previous) if previous else None,
            }
        )
    assert run(store, "journey_funnel") == approx_rows(expected)
    assert by_stage["service"], "the data covers the stages beside the funnel"
    assert by_stage["other"]


def test_time_to_conversion_by_first_touch_channel(store: StoreConfig) -> None:
    groups: dict[str, list[J]] = defaultdict(list)
    for j in latest_journeys():
        groups[j.path[0]].append(j)
    expected: Records = []
    for channel, items in groups.items():
        hours = [j.hours for j in items if converted(j) and j.hours is not None]
        expected.append(
            {
                "first_touch_channel": channel,
                "journeys": len(items),
                "conversions": len(hours),
                "conversion_pct": pct(len(hours), len(items)),
                "median_h": round(quantile(hours, 0.5), 2) if hours else None,
                "p90_h": round(quantile(hours, 0.9), 2) if hours else None,
            }
        )
    expected.sort(key=lambda r: (-r["conversions"], -r["journeys"], r["first_touch_channel"]))
    assert run(store, "time_to_conversion") == approx_rows(expected)
    assert any(j.status == "resolution" and j.hours for j in latest_journeys()), "an outcome that is no sale"


def test_time_to_conversion_distribution_buckets_with_lower_bounds_inclusive(store: StoreConfig) -> None:
    counts: Counter[tuple[str, int]] = Counter()
    for j in latest_journeys():
        if converted(j) and j.hours is not None:
            bucket_no = max(n for n, (low, _) in enumerate(BUCKETS, start=1) if j.hours >= low)
            counts[(j.path[0], bucket_no)] += 1
    expected = [
        {"first_touch_channel": c, "bucket_no": n, "bucket": BUCKETS[n - 1][1], "conversions": k}
        for (c, n), k in sorted(counts.items())
    ]
    assert run(store, "time_to_conversion_distribution") == expected


def test_conversion_by_path(store: StoreConfig) -> None:
    groups: dict[tuple[str, ...], list[J]] = defaultdict(list)
    for j in latest_journeys():
        groups[j.path].append(j)
    expected: Records = [
        {
            "path": " > ".join(path),
            "channels": len(path),
            "journeys": len(items),
            "still_open": sum(j.status == "open" for j in items),
            "conversions": sum(j.status in CONVERSIONS for j in items),
            "conversion_pct": pct(sum(j.status in CONVERSIONS for j in items), len(items)),
        }
        for path, items in groups.items()
    ]
    expected.sort(key=lambda r: (-r["journeys"], -r["conversions"], r["path"]))
    assert run(store, "conversion_by_path") == approx_rows(expected[:20])


def test_channel_switch_share_overall_and_by_outcome(store: StoreConfig) -> None:
    journeys = latest_journeys()

    def share(outcome: str, items: list[J]) -> dict[str, Any]:
        switching = sum(len(j.path) > 1 for j in items)
        return {
            "outcome": outcome,
            "journeys": len(items),
            "switching": switching,
            "switch_pct": pct(switching, len(items)),
            "avg_switches": round(sum(len(j.path) - 1 for j in items) / len(items), 2),
        }

    by_status: dict[str, list[J]] = defaultdict(list)
    for j in journeys:
        by_status[j.status].append(j)
    rows = sorted(
        (share(s, items) for s, items in by_status.items()), key=lambda r: (-r["journeys"], r["outcome"])
    )
    assert run(store, "channel_switch_share") == approx_rows([share("all", journeys), *rows])


def expected_repeat_contacts(survivor: Callable[[str], str]) -> list[dict[str, Any]]:
    channels: dict[tuple[str, str], set[str]] = defaultdict(set)
    for t in TOUCHES:
        if t.case:
            channels[(survivor(t.person), t.case)].add(t.channel)
    alerted = {
        (survivor(a.person), a.case or "")
        for a in latest_alerts()
        if a.kind == "repeat_contact_other_channel"
    }
    pairs = set(channels) | alerted
    cases = {p for p in pairs if p[1]}
    multi = {p for p in pairs if len(channels.get(p, ())) > 1}
    rows = []
    for scope, total, repeat, several in (
        ("cases", len(cases), len(alerted & cases), len(multi)),
        ("customers", len({p[0] for p in pairs}), len({p[0] for p in alerted}), len({p[0] for p in multi})),
    ):
        rows.append(
            {
                "scope": scope,
                "contacted": total,
                "repeat_contact": repeat,
                "repeat_pct": pct(repeat, total),
                "multi_channel": several,
                "multi_channel_pct": pct(several, total),
            }
        )
    return rows


def test_repeat_contact_rate_counts_cases_and_customers_under_the_survivor(store: StoreConfig) -> None:
    expected = expected_repeat_contacts(final_survivor)
    assert run(store, "repeat_contact_rate") == approx_rows(expected)
    assert expected != expected_repeat_contacts(lambda p: p), "merges change the answer in this data"


def expected_handoffs(survivor: Callable[[str], str]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[A]] = defaultdict(list)
    for a in latest_alerts():
        groups[(a.kind, a.store or "(no store)")].append(a)
    rows = [
        {
            "kind": kind,
            "store": store,
            "alerts": len(items),
            "customers": len({survivor(a.person) for a in items}),
            "channels": ", ".join(sorted({a.channel for a in items})),
        }
        for (kind, store), items in groups.items()
    ]
    return sorted(rows, key=lambda r: (-r["alerts"], r["kind"], r["store"]))


def test_broken_handoffs_by_kind_and_store(store: StoreConfig) -> None:
    got = run(store, "broken_handoffs")
    assert [{k: r[k] for k in ("kind", "store", "alerts", "customers", "channels")} for r in got] == (
        expected_handoffs(final_survivor)
    )
    assert expected_handoffs(final_survivor) != expected_handoffs(lambda p: p), "a merge joins two customers"
    assert all(r["first_seen"] <= r["last_seen"] for r in got)


def test_on_an_empty_store_the_analyses_answer_without_nan(tmp_path: Path) -> None:
    """No journeys yet: counts are zero and shares NULL, never NaN (which JSON cannot carry)."""
    empty = load_store(tmp_path / "store", data={})
    funnel = run(empty, "journey_funnel")
    assert [r["stage"] for r in funnel] == [*FUNNEL, "service", "other"]
    assert all(r["journeys"] == r["reached"] == 0 and r["pct_of_journeys"] is None for r in funnel)
    assert run(empty, "channel_switch_share") == [
        {"outcome": "all", "journeys": 0, "switching": 0, "switch_pct": None, "avg_switches": None}
    ]
    assert [r["contacted"] for r in run(empty, "repeat_contact_rate")] == [0, 0]
    for name in (
        "time_to_conversion",
        "time_to_conversion_distribution",
        "conversion_by_path",
        "broken_handoffs",
    ):
        assert run(empty, name) == [], name
