"""Event time moves on: reservations expire, and what nobody needs any more leaves the state.

Every part of the state has one *due time* computed by one function here, used both to prune it
(:func:`expire_state`) and to say when the person next needs :func:`expire_state`
(:func:`next_due`). Sharing the computation is what guarantees that after ``expire_state(state,
wm)`` every remaining due time is after ``wm``, so a timer index driven by :func:`next_due` never
spins on a person.
"""

from __future__ import annotations

import datetime as dt

from streams.journeys.continuity_config import ContinuityConfig, ms
from streams.journeys.continuity_rules import Alerts, expire_reservations
from streams.journeys.continuity_state import ContinuityState, Reservation, Thread


def thread_is_open(state: ContinuityState, thread: Thread, now_ms: int, config: ContinuityConfig) -> bool:
    """Open while a case in it is unresolved or a reservation in it is open; else while recent."""
    items = _items(state, thread)
    if items == _OPEN:
        return True
    if items == _CLOSED:
        return False
    return now_ms - thread.last_ms <= ms(config.conversation_idle)


_NONE, _CLOSED, _OPEN = 0, 1, 2


def _items(state: ContinuityState, thread: Thread) -> int:
    """Whether the thread holds an open case or reservation, only closed ones, or neither (one pass)."""
    found = _NONE
    for key in thread.keys:
        if key.startswith("case:"):
            if key[5:] not in thread.resolved_cases:
                return _OPEN
            found = _CLOSED
        elif key.startswith("res:"):
            r = state.reservations.get(key[4:])
            if r is not None:
                if r.status == "open":
                    return _OPEN
                found = _CLOSED
    return found


def _thread_due(state: ContinuityState, thread: Thread, config: ContinuityConfig) -> int:
    items = _items(state, thread)
    if items == _OPEN:
        return thread.last_ms + ms(config.open_ttl)  # a case left open this long: the customer moved on
    if items == _CLOSED:
        return thread.last_ms + ms(config.retention)
    return thread.last_ms + max(ms(config.retention), ms(config.conversation_idle))


def _reservation_due(r: Reservation, config: ContinuityConfig) -> int:
    if r.status == "open":
        return (r.created_ms or r.closed_ms or 0) + ms(config.open_ttl)
    return (r.closed_ms or 0) + ms(config.retention)


def expire_state(state: ContinuityState, wm: int, now: dt.datetime, config: ContinuityConfig) -> Alerts:
    """Expiry alerts due at watermark ``wm`` (epoch ms), then every part whose due time has come."""
    out = expire_reservations(state, wm, now)
    state.reservations = {k: r for k, r in state.reservations.items() if _reservation_due(r, config) > wm}
    state.threads = {k: t for k, t in state.threads.items() if _thread_due(state, t, config) > wm}
    state.relink()
    open_ttl, retention = ms(config.open_ttl), ms(config.retention)
    if state.cart is not None and state.cart.updated_ms + open_ttl <= wm:
        state.cart = None
    state.returns = {k: r for k, r in state.returns.items() if r.requested_ms + open_ttl > wm}
    stock = ms(config.stock_window)
    state.questions = [q for q in state.questions if q.at_ms + stock > wm]
    state.visits = {s: v for s, v in state.visits.items() if v[0] + retention > wm}
    state.clicks = {
        c: kept for c, xs in state.clicks.items() if (kept := [x for x in xs if x[0] + retention > wm])
    }
    kept_alerts = sorted(
        (a for a in state.alerts.values() if a["event_time"] + ms(config.alert_retention) > wm),
        key=lambda a: (a["event_time"], a["alert_id"]),
    )[-config.max_alerts :]
    state.alerts = {a["alert_id"]: a for a in kept_alerts}
    return out


def next_due(state: ContinuityState, config: ContinuityConfig) -> int | None:
    """The earliest watermark (epoch ms) at which :func:`expire_state` would change anything.

    Plain loops with a running minimum: this runs after every fold, so it must cost less than one.
    """
    never = 1 << 62
    best = never
    for r in state.reservations.values():
        if r.status == "open" and r.expires_ms is not None and r.expires_ms < best:
            best = r.expires_ms
        due = _reservation_due(r, config)
        if due < best:
            best = due
    for t in state.threads.values():
        due = _thread_due(state, t, config)
        if due < best:
            best = due
    open_ttl, retention = ms(config.open_ttl), ms(config.retention)
    if state.cart is not None and state.cart.updated_ms + open_ttl < best:
        best = state.cart.updated_ms + open_ttl
    for ret in state.returns.values():
        if ret.requested_ms + open_ttl < best:
            best = ret.requested_ms + open_ttl
    stock = ms(config.stock_window)
    for q in state.questions:
        if q.at_ms + stock < best:
            best = q.at_ms + stock
    for visit in state.visits.values():
        if visit[0] + retention < best:
            best = visit[0] + retention
    for clicks in state.clicks.values():
        if clicks and clicks[0][0] + retention < best:  # sorted by time: the first is the oldest
            best = clicks[0][0] + retention
    kept = ms(config.alert_retention)
    for a in state.alerts.values():
        if a["event_time"] + kept < best:
            best = a["event_time"] + kept
    return None if best == never else best
