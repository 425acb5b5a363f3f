"""Continuity per person: fold touchpoints into the state, expire it in event time, merge on identity merges.

The three entry points the journey stage's Faust agents call, all pure (no clock, no I/O):

- :func:`fold` for every resolved touchpoint of the person, in arrival order. Returns the alerts the
  touch raised (or upserted: same ``alert_id``, more evidence) to publish on ``alerts``.
- :func:`expire` when event time moves on (the partition's watermark): reservations whose hold
  ended without pickup raise their alert, and stale state is pruned. :func:`next_deadline` says
  when the person next needs it, so the wiring can keep a timer index instead of scanning the table.
- :func:`merge` when ``identity.changes`` merges the loser person into the survivor.

``now`` is processing time (aware UTC), used only as the alerts' ``detected_at``; every decision is
taken in event time, so a replay of the same events in the same order gives the same state and the
same alerts (same ids, same content apart from ``detected_at``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from schemas.models.alert import AlertKind
from streams.journeys.alerts import alert_id, from_ms, retraction, to_ms
from streams.journeys.continuity_config import ContinuityConfig
from streams.journeys.continuity_expiry import expire_state, next_due
from streams.journeys.continuity_rules import (
    CLICKS,
    Alerts,
    chat_stock_check,
    check_case,
    click,
    is_remote_stock_check,
    is_store_stock_check,
    landing,
    reservation_touch,
    store_stock_check,
)
from streams.journeys.continuity_state import Cart, ContinuityState, Reservation, ReturnIntent, Thread
from streams.journeys.continuity_threads import absorb, link, note_touch, thread_keys
from streams.journeys.touch import Touch

MAX_STORE_CHECKS = 10  # recent store stock checks kept for replay on an identity merge

DEFAULT_CONFIG = ContinuityConfig()
CART_CHANNELS = frozenset({"web", "app"})
_COMPACT_FIELDS = (
    "store_id",
    "agent_id",
    "campaign_id",
    "url",
    "conversation_id",
    "case_id",
    "reservation_id",
)


def new_state(person_id: str) -> ContinuityState:
    return ContinuityState(person_id=person_id)


def fold(
    state: ContinuityState, touch: Touch, now: dt.datetime, config: ContinuityConfig = DEFAULT_CONFIG
) -> list[dict[str, Any]]:
    """Fold one touch into the person's state; returns the alert records it raised or upserted.

    The alerts carry ``state.person_id``, not ``touch.person_id``: a touch still keyed by a
    merged-away person and forwarded to the survivor belongs to the survivor.
    """
    t, at, out = touch, to_ms(touch.event_time), []
    state.seen_ms = max(state.seen_ms, at)
    _remember(state, t, at, config)
    keys = thread_keys(t)
    if keys:
        thread = link(state, keys, at)
        note_touch(thread, t, at)
        if t.case_id and t.event_type == "case_resolved":
            if t.case_id not in thread.resolved_cases:
                thread.resolved_cases.append(t.case_id)
        else:
            # Any touch of the thread may start, end or reorder a contact of its cases: their alerts
            # are recomputed (upserted only if changed), so arrival order does not show in them.
            for case_id in thread.ids("case"):
                out += check_case(state, thread, case_id, now, config)
    if t.reservation_id:
        out += reservation_touch(state, t, at, now, config)
    if is_remote_stock_check(t):
        chat_stock_check(state, t, at)
    elif is_store_stock_check(t):
        out += store_stock_check(state, t, at, now, config)
        state.store_checks = [*state.store_checks, (at, t.event_id, t.store_id or "", list(t.product_ids))][
            -MAX_STORE_CHECKS:
        ]
    if t.campaign_id:
        if t.purchasable is False:
            out += landing(state, t, at, now, config)
        elif t.event_type in CLICKS:
            out += click(state, t, at, now, config)
    _intents(state, t, at)
    return out


def _remember(state: ContinuityState, t: Touch, at: int, config: ContinuityConfig) -> None:
    """Identifiers, last touch per channel, consent, store visits: what the card shows as 'known'."""
    idents = state.identifiers
    for ident in t.identifiers:
        if idents.get(ident, -1) < at:
            idents[ident] = at
    if len(idents) > config.max_identifiers:
        for ident, _ in sorted(idents.items(), key=lambda kv: kv[1])[: len(idents) - config.max_identifiers]:
            del idents[ident]
    last = state.last_touch.get(t.channel)
    if last is None or (last["at"], last["event_id"]) < (at, t.event_id):
        state.last_touch[t.channel] = _compact(t, at)
    for purpose, granted in t.consent:
        held = state.consent.get(purpose)
        if held is None or held[1] <= at:
            state.consent[purpose] = (granted, at)
    if t.event_type == "store_visit" and t.store_id:
        visit = state.visits.get(t.store_id)
        if visit is None or visit[0] < at:
            state.visits[t.store_id] = (at, t.event_id, t.session_id)


def _compact(t: Touch, at: int) -> dict[str, Any]:
    out: dict[str, Any] = {"event_id": t.event_id, "event_type": t.event_type, "at": at}
    for name in _COMPACT_FIELDS:
        value = getattr(t, name)
        if value is not None:
            out[name] = value
    if t.product_ids:
        out["product_ids"] = list(t.product_ids)
    return out


def _intents(state: ContinuityState, t: Touch, at: int) -> None:
    """Carts and returns: open intents without a hand-off rule, shown on the card."""
    kind = t.event_type
    if t.channel in CART_CHANNELS and kind in ("cart_add", "cart_abandoned"):
        cart = state.cart
        if cart is None or (kind == "cart_add" and cart.status == "abandoned" and cart.updated_ms < at):
            cart = state.cart = Cart(channel=t.channel, updated_ms=at, last_event=t.event_id)
        if kind == "cart_add":
            cart.product_ids = sorted({*cart.product_ids, *t.product_ids})
            cart.amount_cents += t.amount_cents or 0
            cart.currency = t.currency or cart.currency
        elif cart.updated_ms <= at:
            cart.status = "abandoned"
        if cart.updated_ms <= at:
            cart.updated_ms, cart.last_event, cart.channel = at, t.event_id, t.channel
    elif kind == "purchase" and t.channel in CART_CHANNELS:
        if state.cart is not None and state.cart.updated_ms <= at:
            state.cart = None
    elif kind == "return_requested" and t.order_id:
        state.returns.setdefault(t.order_id, ReturnIntent(t.order_id, t.channel, at, t.event_id, t.store_id))
    elif kind == "return_completed" and t.order_id:
        state.returns.pop(t.order_id, None)


# -- event time moves on -----------------------------------------------------------------------------


def expire(
    state: ContinuityState,
    watermark: dt.datetime,
    now: dt.datetime,
    config: ContinuityConfig = DEFAULT_CONFIG,
) -> list[dict[str, Any]]:
    """Raise the expiry alerts due at ``watermark`` (event time) and prune what is past its retention.

    Call it when the partition's watermark reaches :func:`next_deadline`; calling it more often
    is harmless (idempotent for a given watermark), calling it less often only delays alerts.
    """
    return expire_state(state, to_ms(watermark), now, config)


def next_deadline(state: ContinuityState, config: ContinuityConfig = DEFAULT_CONFIG) -> dt.datetime | None:
    """The earliest watermark at which :func:`expire` would raise an alert or prune anything.

    After ``expire(state, wm, ...)`` this is always later than ``wm`` (or None for an empty state),
    so a timer index keyed by it never fires twice for the same watermark.
    """
    due = next_due(state, config)
    return None if due is None else from_ms(due)


# -- identity merges -----------------------------------------------------------------------------------


def merge(
    survivor: ContinuityState,
    loser: ContinuityState,
    now: dt.datetime,
    config: ContinuityConfig = DEFAULT_CONFIG,
) -> list[dict[str, Any]]:
    """Merge the loser's state into the survivor's, by event time; returns alerts the union reveals.

    Each part keeps the newer of the two by event time (last touches, consent, visits, the cart),
    or the union (identifiers, threads joined where they share an id, reservations, alerts). A case
    the two persons each raised on a different channel is a repeat contact only visible now, so
    cases are checked again; hand-offs that need the touch itself (a store stock check) are not.
    Alerts keep their ids; the loser's are relabelled to the survivor.
    """
    s, lo = survivor, loser
    s.seen_ms = max(s.seen_ms, lo.seen_ms)
    for ident, at in lo.identifiers.items():
        if s.identifiers.get(ident, -1) < at:
            s.identifiers[ident] = at
    for channel, touch in lo.last_touch.items():
        mine = s.last_touch.get(channel)
        if mine is None or (mine["at"], mine["event_id"]) < (touch["at"], touch["event_id"]):
            s.last_touch[channel] = dict(touch)
    for purpose, (granted, at) in lo.consent.items():
        if purpose not in s.consent or s.consent[purpose][1] < at:
            s.consent[purpose] = (granted, at)
    for store, visit in lo.visits.items():
        if store not in s.visits or s.visits[store][0] < visit[0]:
            s.visits[store] = visit
    for campaign, clicks in lo.clicks.items():
        s.clicks[campaign] = sorted(set(s.clicks.get(campaign, [])) | set(clicks))[-5:]
    if lo.cart is not None and (s.cart is None or s.cart.updated_ms < lo.cart.updated_ms):
        s.cart = lo.cart
    for order, ret in lo.returns.items():
        s.returns.setdefault(order, ret)
    known = {q.event_id for q in s.questions}
    s.questions += [q for q in lo.questions if q.event_id not in known]
    for rid, r in lo.reservations.items():
        s.reservations[rid] = r if rid not in s.reservations else _merge_reservation(s.reservations[rid], r)
    for alert in lo.alerts.values():
        s.alerts.setdefault(alert["alert_id"], {**alert, "person_id": s.person_id})
    out: Alerts = []
    for thread in sorted(lo.threads.values(), key=lambda t: (t.first_ms, t.thread_id)):
        _merge_thread(s, thread)
    for thread in list(s.threads.values()):
        for case_id in thread.ids("case"):
            out += check_case(s, thread, case_id, now, config)
    # A store visit resolved to one person, the chat reservation (or question) to the other: only
    # the merged state shows the hand-off. Replaying the checks is idempotent for those that
    # already matched (their reservation is marked missing, their question answered).
    checks = sorted({(c[0], c[1]): c for c in [*s.store_checks, *lo.store_checks]}.values())
    s.store_checks = checks[-MAX_STORE_CHECKS:]
    for at, event_id, store_id, products in checks:
        replay = Touch(
            event_id=event_id,
            event_time=from_ms(at),
            channel="store",
            event_type="stock_check",
            person_id=s.person_id,
            store_id=store_id,
            product_ids=tuple(products),
        )
        out += store_stock_check(s, replay, at, now, config)
    # A reservation found missing only now was reported as merely not picked up by the half that
    # saw its expiry: the truer alert replaces it, on the card and (by a retraction) in the table.
    missing = {r.reservation_id: r for r in s.reservations.values() if r.missing}
    for stored_id, alert in list(s.alerts.items()):
        reservation = missing.get(alert.get("reservation_id") or "")
        if alert["kind"] == "reservation_not_picked_up" and reservation is not None:
            del s.alerts[stored_id]
            truer = alert_id(AlertKind.RESERVATION_MISSING_AT_STORE, reservation.reservation_id)
            out.append(retraction({**alert, "person_id": s.person_id}, truer, now))
    return out


def _merge_reservation(a: Reservation, b: Reservation) -> Reservation:
    """One reservation seen under two persons: creation from whichever saw it, the furthest status."""
    first, second = (a, b) if a.created_ms is not None else (b, a)
    rank = {"open": 0, "expired": 1, "cancelled": 2, "picked_up": 3}
    last = max((a, b), key=lambda r: rank.get(r.status, 0))
    return Reservation(
        reservation_id=a.reservation_id,
        store_id=first.store_id or second.store_id,
        product_ids=first.product_ids or second.product_ids,
        channel=first.channel or second.channel,
        created_ms=first.created_ms,
        created_event=first.created_event,
        expires_ms=first.expires_ms if first.expires_ms is not None else second.expires_ms,
        status=last.status,
        closed_ms=last.closed_ms,
        missing=a.missing or b.missing,
        expired_event=a.expired_event or b.expired_event,
    )


def _merge_thread(s: ContinuityState, thread: Thread) -> None:
    """Add a loser's thread; where it shares an id with survivor threads, the oldest absorbs the rest."""
    shared = [k for k in thread.keys if k in s.links]
    if not shared:
        s.threads[thread.thread_id] = thread
        s.links.update(dict.fromkeys(thread.keys, thread.thread_id))
        return
    joined = link(s, shared, thread.first_ms)
    if thread.thread_id != joined.thread_id and (thread.first_ms, thread.thread_id) < (
        joined.first_ms,
        joined.thread_id,
    ):
        s.threads[thread.thread_id] = thread
        s.links.update(dict.fromkeys(thread.keys, thread.thread_id))
        absorb(s, thread, joined)
    else:
        absorb(s, joined, thread)
