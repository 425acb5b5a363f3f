"""Broken hand-off alerts scored against simulator ground truth on a simulated month.

How alerts are matched to ``GroundTruth.handoffs``: each hand-off kind maps to one alert kind and a
defining id (``streams.journeys.alerts.HANDOFF_ALERT_KINDS``: reservation_id for reservations,
case_id for repeat contacts, campaign_id for landings, store_id for a stock-blind chat, which has no
id of its own). Both sides become multisets of (alert kind, person_id, defining id); the matches are
their intersection, so two landings of one campaign by one person need two alerts. Alerts are
counted once per ``alert_id`` (upserts of one break are one alert, as the sink keeps them).
precision = matches / alerts, recall = matches / hand-offs.

The stage is driven the way the Faust wiring will drive it: touches in arrival order (late POS
batches, slow social webhooks and all), each person's :func:`next_deadline` in a timer heap,
:func:`expire` called for a person when the watermark (latest event time seen minus a grace) passes
it (which also prunes their state as the month goes on), and for everyone once at the end.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter
from typing import Any

from streams.journeys.alerts import HANDOFF_ALERT_KINDS
from streams.journeys.continuity import expire, fold, new_state, next_deadline
from streams.journeys.continuity_state import ContinuityState
from tests.unit.journey_sim import simulated_touches

NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
GRACE = dt.timedelta(minutes=15)
DEFINING_FIELD = {r.alert_kind.value: r.defining_field for r in HANDOFF_ALERT_KINDS.values()}


def run_month(
    seed: int,
) -> tuple[dict[str, dict[str, Any]], Counter[tuple[str, str, str | None]], dict[str, Any]]:
    touches, truth = simulated_touches(customers=1_000, days=30, seed=seed)
    states: dict[str, ContinuityState] = {}
    alerts: dict[str, dict[str, Any]] = {}
    deadlines: list[tuple[dt.datetime, str]] = []  # a timer index, as the wiring keeps one
    scheduled: dict[str, dt.datetime | None] = {}
    watermark = dt.datetime.min.replace(tzinfo=dt.UTC)
    for t in touches:
        state = states.get(t.person_id)
        if state is None:
            state = states[t.person_id] = new_state(t.person_id)
        for alert in fold(state, t, NOW):
            alerts[alert["alert_id"]] = alert
        _schedule(deadlines, scheduled, t.person_id, next_deadline(state))
        watermark = max(watermark, t.event_time - GRACE)
        while deadlines and deadlines[0][0] <= watermark:
            due, person = heapq.heappop(deadlines)
            if scheduled[person] != due:
                continue  # superseded by a later fold
            for alert in expire(states[person], watermark, NOW):
                alerts[alert["alert_id"]] = alert
            following = next_deadline(states[person])
            assert following is None or following > watermark, "expire must move the deadline on"
            _schedule(deadlines, scheduled, person, following)
    end = max(t.event_time for t in touches) + dt.timedelta(days=8)
    for state in states.values():
        for alert in expire(state, end, NOW):
            alerts[alert["alert_id"]] = alert
    want: Counter[tuple[str, str, str | None]] = Counter()
    evidence: dict[str, Any] = {}
    for h in truth.handoffs:
        rule = HANDOFF_ALERT_KINDS[h.kind]
        key = (rule.alert_kind.value, h.person_id, getattr(h, rule.defining_field))
        want[key] += 1
        evidence.setdefault(str(key), []).append(set(h.event_ids))
    return alerts, want, evidence


def _schedule(
    heap: list[tuple[dt.datetime, str]],
    scheduled: dict[str, dt.datetime | None],
    person: str,
    due: dt.datetime | None,
) -> None:
    if scheduled.get(person) != due:
        scheduled[person] = due
        if due is not None:
            heapq.heappush(heap, (due, person))


def test_broken_handoffs_found_with_precision_and_recall_of_at_least_98_percent() -> None:
    alerts, want, truth_evidence = run_month(seed=2026)
    got: Counter[tuple[str, str, str | None]] = Counter(
        (a["kind"], a["person_id"], a[DEFINING_FIELD[a["kind"]]]) for a in alerts.values()
    )
    matched = sum((got & want).values())
    precision, recall = matched / sum(got.values()), matched / sum(want.values())
    figures = f"alerts={sum(got.values())} hand-offs={sum(want.values())} matched={matched}"
    assert sum(want.values()) > 300, f"too few hand-offs to score: {figures}"
    assert {k[0] for k in want} == set(DEFINING_FIELD), "every kind is in the month"
    assert precision >= 0.98, f"precision {precision:.4f}: {figures}; false: {list((got - want).items())[:5]}"
    assert recall >= 0.98, f"recall {recall:.4f}: {figures}; missed: {list((want - got).items())[:5]}"
    for kind in DEFINING_FIELD:
        kind_got = sum(n for k, n in got.items() if k[0] == kind)
        kind_matched = sum(n for k, n in (got & want).items() if k[0] == kind)
        kind_want = sum(n for k, n in want.items() if k[0] == kind)
        assert kind_matched >= 0.98 * max(kind_got, kind_want), (
            f"{kind}: {kind_got=} {kind_want=} {kind_matched=}"
        )
    # The evidence names the events ground truth names: each matched alert shares events with its hand-off.
    shares = sum(
        1
        for a in alerts.values()
        if any(
            truth & set(a["evidence_event_ids"])
            for truth in truth_evidence.get(
                str((a["kind"], a["person_id"], a[DEFINING_FIELD[a["kind"]]])), []
            )
        )
    )
    assert shares >= 0.98 * matched, (
        f"only {shares} of {matched} matched alerts share evidence with the truth"
    )
