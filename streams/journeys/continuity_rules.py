"""The broken hand-off rules: each looks at one touch (or the clock) and the person's continuity state.

What each rule reads, and why that is the evidence (see :mod:`streams.journeys.alerts` for ids):

- *Reservation not picked up*: an open reservation whose hold (``ContinuityConfig.reservation_hold``
  after ``reservation_created``) has passed in event time (:func:`expire_reservations`), or a
  ``reservation_expired`` event for a reservation still open. Either path gives the same alert.
- *Reservation missing at store*: a ``stock_check`` on the store channel, at the store of an open
  reservation, for one of its products: the clerk is looking for what should be waiting on the
  reservation shelf. A store visit alone is not evidence (customers visit for other reasons).
- *Chat cannot see stock*: a ``stock_check`` in a chat (or call) that no reservation followed in
  that conversation, then a ``stock_check`` for the same product in that store. The touchpoint's
  ``attributes.result`` (``unknown``) does not reach the journey stage, so "the agent could not
  confirm stock" is read as "checked stock and reserved nothing".
- *Repeat contact on another channel*: a case's contacts (conversations, store visits) in event
  time; a contact that starts on another channel than the previous one started on, within
  ``repeat_window`` of it, while the case is not resolved. A chat continued as a call in the same
  conversation is one contact, not a repeat.
- *Campaign landing not purchasable*: a touch with ``purchasable = false`` attributed to a
  campaign; the click that led there (same campaign, within ``click_window`` before) is added to
  the evidence, also when it arrives after the landing (social webhooks are slow).
"""

from __future__ import annotations

import datetime as dt
from itertools import pairwise
from typing import Any

from schemas.models.alert import AlertKind
from streams.journeys.alerts import alert_id, build_alert, from_ms, re_evidenced, to_stored, upsert
from streams.journeys.continuity_config import ContinuityConfig, ms
from streams.journeys.continuity_state import ContinuityState, Reservation, StockQuestion, Thread
from streams.journeys.continuity_threads import add_leg, link
from streams.journeys.touch import Touch

Alerts = list[dict[str, Any]]
STAFFED_REMOTE = frozenset({"chat", "call_center"})
CLICKS = frozenset({"ad_click", "email_click"})


def publish(state: ContinuityState, record: dict[str, Any] | None, out: Alerts) -> None:
    """Remember an alert (or its upsert) in the state and queue it for the ``alerts`` topic."""
    if record is not None:
        state.alerts[record["alert_id"]] = to_stored(record)
        out.append(record)


def _overlap(a: list[str] | tuple[str, ...], b: list[str] | tuple[str, ...]) -> bool:
    return not a or not b or any(p in b for p in a)


# -- reservations --------------------------------------------------------------------------------------


def reservation_touch(
    state: ContinuityState, t: Touch, at: int, now: dt.datetime, cfg: ContinuityConfig
) -> Alerts:
    """Created, picked up (or bought at the till), cancelled, expired: the reservation's life."""
    assert t.reservation_id is not None
    out: Alerts = []
    r = state.reservations.get(t.reservation_id)
    if r is None:
        r = state.reservations[t.reservation_id] = Reservation(t.reservation_id)
    if t.store_id and r.store_id is None:
        r.store_id = t.store_id
    if not r.product_ids:
        r.product_ids = list(t.product_ids)
    kind = t.event_type
    if kind == "reservation_created":
        r.channel, r.created_ms, r.created_event = t.channel, at, t.event_id
        r.store_id = t.store_id or r.store_id
        r.product_ids = list(t.product_ids) or r.product_ids
        r.expires_ms = at + ms(cfg.reservation_hold)
        _answer_questions(state, t, r)
    elif kind in ("reservation_picked_up", "purchase"):
        if r.status in ("open", "expired"):
            r.status, r.closed_ms = "picked_up", at
    elif kind == "reservation_cancelled":
        if r.status == "open":
            r.status, r.closed_ms = "cancelled", at
    elif kind == "reservation_expired":
        r.expired_event = t.event_id
        if r.expires_ms is None:
            r.expires_ms = at
        if r.status == "open":
            r.status, r.closed_ms = "expired", at
        if r.missing:  # the lost reservation's alert gains its expiry as evidence (an upsert)
            stored = state.alerts.get(alert_id(AlertKind.RESERVATION_MISSING_AT_STORE, r.reservation_id))
            if stored is not None:
                publish(state, re_evidenced(stored, [*stored["evidence_event_ids"], t.event_id], now), out)
        elif r.status == "expired":
            record = _not_picked_up(state, r, now)
            stored = state.alerts.get(record["alert_id"])
            if stored is None:
                publish(state, record, out)
            else:  # raised by the watermark already: add this record as evidence
                evidence = [*stored["evidence_event_ids"], *record["evidence_event_ids"]]
                publish(state, re_evidenced(stored, evidence, now), out)
    return out


def expire_reservations(state: ContinuityState, watermark: int, now: dt.datetime) -> Alerts:
    """Open reservations whose hold ended at or before the event-time watermark."""
    out: Alerts = []
    for r in state.reservations.values():
        if r.status == "open" and r.expires_ms is not None and r.expires_ms <= watermark:
            r.status, r.closed_ms = "expired", r.expires_ms
            if not r.missing:
                publish(state, _not_picked_up(state, r, now), out)
    return out


def _not_picked_up(state: ContinuityState, r: Reservation, now: dt.datetime) -> dict[str, Any]:
    expires = r.expires_ms if r.expires_ms is not None else (r.closed_ms or 0)
    where = f" at store {r.store_id}" if r.store_id else ""
    made = f" (made on {r.channel})" if r.channel else ""
    return build_alert(
        AlertKind.RESERVATION_NOT_PICKED_UP,
        state.person_id,
        defining_ids=(r.reservation_id,),
        detected_at=now,
        event_ms=expires,
        channel="store",
        previous_channel=r.channel,
        store_id=r.store_id,
        reservation_id=r.reservation_id,
        conversation_id=_conversation_of(state, f"res:{r.reservation_id}"),
        message=f"Reservation {r.reservation_id}{where}{made} expired on "
        f"{from_ms(expires):%Y-%m-%d %H:%M} UTC without being picked up.",
        evidence=[r.created_event, r.expired_event],
    )


def _conversation_of(state: ContinuityState, key: str) -> str | None:
    thread = state.thread_of(key)
    if thread is None:
        return None
    conversations = thread.ids("conv")
    return conversations[0] if conversations else None


# -- stock checks: in chat, then in the store ---------------------------------------------------------


def chat_stock_check(state: ContinuityState, t: Touch, at: int) -> None:
    """Remember a remote stock check; a reservation in the same conversation answers it."""
    thread = state.thread_of(f"conv:{t.conversation_id}") if t.conversation_id else None
    answered = thread is not None and bool(thread.ids("res"))
    state.questions.append(
        StockQuestion(t.conversation_id, t.store_id, list(t.product_ids), t.event_id, at, answered)
    )


def _answer_questions(state: ContinuityState, t: Touch, r: Reservation) -> None:
    for q in state.questions:
        same_chat = q.conversation_id is not None and q.conversation_id == t.conversation_id
        same_item = (
            q.store_id == r.store_id
            and _overlap(q.product_ids, r.product_ids)
            and q.at_ms <= (r.created_ms or 0)
        )
        if same_chat or same_item:
            q.answered = True


def _open_at(r: Reservation, at: int) -> bool:
    """Open when the clerk checked: still open, or expired/cancelled only later (a check replayed
    after an identity merge). One picked up later was never missing."""
    if r.status == "open":
        return True
    return r.status in ("expired", "cancelled") and r.closed_ms is not None and r.closed_ms > at


def store_stock_check(
    state: ContinuityState, t: Touch, at: int, now: dt.datetime, cfg: ContinuityConfig
) -> Alerts:
    """A clerk checks stock for the customer: a reservation that should be there, or a stock-blind chat."""
    out: Alerts = []
    visit = state.visits.get(t.store_id or "")
    if visit is not None and not (0 <= at - visit[0] <= ms(cfg.visit_window)):
        visit = None
    reservations = [
        r
        for r in state.reservations.values()
        if _open_at(r, at)
        and not r.missing
        and r.store_id == t.store_id
        and (r.created_ms is None or r.created_ms <= at)
        and _overlap(r.product_ids, t.product_ids)
    ]
    if reservations:
        r = max(reservations, key=lambda x: (x.created_ms or 0, x.reservation_id))
        r.missing = True
        thread = link(state, [f"res:{r.reservation_id}"], r.created_ms or at)
        _note_visit(thread, t, at, visit)
        made = f" on {r.channel}" if r.channel else ""
        record = build_alert(
            AlertKind.RESERVATION_MISSING_AT_STORE,
            state.person_id,
            defining_ids=(r.reservation_id,),
            detected_at=now,
            event_ms=at,
            channel=t.channel,
            previous_channel=r.channel,
            store_id=t.store_id,
            reservation_id=r.reservation_id,
            conversation_id=_conversation_of(state, f"res:{r.reservation_id}"),
            message=f"The customer is at store {t.store_id} for reservation {r.reservation_id} "
            f"(made{made}), but the store cannot find it.",
            evidence=[r.created_event, None if visit is None else visit[1], t.event_id],
        )
        publish(state, record, out)
        return out
    questions = [
        q
        for q in state.questions
        if not q.answered
        and q.store_id == t.store_id
        and q.at_ms < at <= q.at_ms + ms(cfg.stock_window)
        and _overlap(q.product_ids, t.product_ids)
    ]
    if questions:
        q = max(questions, key=lambda x: (x.at_ms, x.event_id))
        q.answered = True
        previous = None
        if q.conversation_id is not None:
            thread = link(state, [f"conv:{q.conversation_id}"], q.at_ms)
            _note_visit(thread, t, at, visit)
            previous = next((leg.channel for leg in thread.legs if leg.contact == q.conversation_id), None)
        record = build_alert(
            AlertKind.CHAT_CANNOT_SEE_STOCK,
            state.person_id,
            defining_ids=(q.conversation_id or q.event_id, q.store_id),
            detected_at=now,
            event_ms=at,
            channel=t.channel,
            previous_channel=previous or "chat",
            store_id=t.store_id,
            conversation_id=q.conversation_id,
            message=f"The customer asked in chat about {', '.join(q.product_ids) or 'a product'} at store "
            f"{t.store_id}; the agent could not see store stock, reserved nothing, and the customer "
            "came to the store for it.",
            evidence=[q.event_id, None if visit is None else visit[1], t.event_id],
        )
        publish(state, record, out)
    return out


def _note_visit(thread: Thread, t: Touch, at: int, visit: tuple[int, str, str | None] | None) -> None:
    """The store visit continues the chat's conversation: show it in the thread's channel history."""
    contact = t.session_id or (visit[2] if visit is not None else None) or ""
    if visit is not None:
        add_leg(thread, t.channel, contact, visit[0], visit[1])
    add_leg(thread, t.channel, contact, at, t.event_id)


# -- repeat contacts about a case ----------------------------------------------------------------------


def check_case(
    state: ContinuityState, thread: Thread, case_id: str, now: dt.datetime, cfg: ContinuityConfig
) -> Alerts:
    """Alert (or upsert) when a case's contacts show it raised again on another channel."""
    out: Alerts = []
    contacts: dict[str, list[Any]] = {}  # contact -> [first_ms, first_event, first channel, last_ms, last ch]
    for leg in thread.legs:
        if leg.case_id != case_id:
            continue
        key = leg.contact or f"{leg.channel}:{leg.first_event}"
        c = contacts.get(key)
        if c is None:
            contacts[key] = [leg.first_ms, leg.first_event, leg.channel, leg.last_ms, leg.channel]
            continue
        if (leg.first_ms, leg.first_event) < (c[0], c[1]):
            c[0], c[1], c[2] = leg.first_ms, leg.first_event, leg.channel
        if leg.last_ms >= c[3]:
            c[3], c[4] = leg.last_ms, leg.channel
    ordered = sorted(contacts.values(), key=lambda c: (c[0], c[1]))
    repeat = next(
        ((a, b) for a, b in pairwise(ordered) if b[2] != a[2] and b[0] - a[3] <= ms(cfg.repeat_window)),
        None,
    )
    if repeat is None:
        return out
    evidence = [c[1] for c in ordered]
    kind = AlertKind.REPEAT_CONTACT_OTHER_CHANNEL
    record = build_alert(
        kind,
        state.person_id,
        defining_ids=(case_id,),
        detected_at=now,
        event_ms=repeat[1][0],
        channel=repeat[1][2],
        previous_channel=repeat[0][4],
        case_id=case_id,
        conversation_id=next(iter(thread.ids("conv")), None),
        message=f"The customer contacted us again about open case {case_id}, now on "
        f"{repeat[1][2]} after {repeat[0][4]}: {len(ordered)} contacts so far.",
        evidence=evidence,
    )
    stored = state.alerts.get(record["alert_id"])
    if stored is not None or case_id not in thread.resolved_cases:
        publish(state, upsert(stored, record), out)
    return out


# -- campaign landings ---------------------------------------------------------------------------------


def landing(state: ContinuityState, t: Touch, at: int, now: dt.datetime, cfg: ContinuityConfig) -> Alerts:
    """A campaign-attributed page where nothing can be bought."""
    assert t.campaign_id is not None
    out: Alerts = []
    window = ms(cfg.click_window)
    clicks = [c for c in state.clicks.get(t.campaign_id, ()) if 0 <= at - c[0] <= window]
    click = max(clicks) if clicks else None
    record = build_alert(
        AlertKind.CAMPAIGN_LANDING_NOT_PURCHASABLE,
        state.person_id,
        defining_ids=(t.campaign_id, t.event_id),
        detected_at=now,
        event_ms=at,
        channel=t.channel,
        previous_channel=None if click is None else click[2],
        campaign_id=t.campaign_id,
        url=t.url,
        message=f"A click on campaign {t.campaign_id} landed on {t.url or 'a page'}, where nothing can be "
        "bought.",
        evidence=[None if click is None else click[1], t.event_id],
    )
    stored = state.alerts.get(record["alert_id"])
    publish(state, record if stored is None else re_evidenced(stored, record["evidence_event_ids"], now), out)
    return out


def click(state: ContinuityState, t: Touch, at: int, now: dt.datetime, cfg: ContinuityConfig) -> Alerts:
    """Remember a campaign click; a landing alert raised before the click arrived gets it as evidence."""
    assert t.campaign_id is not None
    out: Alerts = []
    mine = state.clicks.setdefault(t.campaign_id, [])
    entry = (at, t.event_id, t.channel)
    if entry not in mine:
        mine.append(entry)
        mine.sort()
        del mine[:-5]
    window = ms(cfg.click_window)
    for stored in list(state.alerts.values()):
        if (
            stored["kind"] == AlertKind.CAMPAIGN_LANDING_NOT_PURCHASABLE.value
            and stored["campaign_id"] == t.campaign_id
            and len(stored["evidence_event_ids"]) == 1
            and 0 <= stored["event_time"] - at <= window
        ):
            record = re_evidenced(stored, [t.event_id, *stored["evidence_event_ids"]], now)
            if record is not None:
                record["previous_channel"] = t.channel
            publish(state, record, out)
    return out


def is_remote_stock_check(t: Touch) -> bool:
    return t.event_type == "stock_check" and t.channel in STAFFED_REMOTE


def is_store_stock_check(t: Touch) -> bool:
    return t.event_type == "stock_check" and t.channel == "store" and t.store_id is not None
