"""The continuity card: what the next person serving the customer should see, as one JSON document.

It is the body of ``GET /continuity/{identifier_type}/{value}`` and what the agent-desk page renders.
Built from the person's :class:`~streams.journeys.continuity_state.ContinuityState` plus the current
journey (owned by the journey logic and passed in by the caller as a JSON-able dict, or None). Times
are ISO-8601 UTC strings with milliseconds; lists are newest first unless said otherwise.
"Open" is judged at ``as_of``, the latest event time folded into the state (no clock is read).

Shape::

    {
      "person_id": "P-1",
      "as_of": "2026-10-05T18:31:02.120+00:00" | null,
      "identifiers": [{"type": "loyalty_id", "value": "LOY-1", "last_seen": "..."}],
      "open_conversations": [Conversation],      # unresolved case, open reservation, or recent chat
      "recent_conversations": [Conversation],    # closed, kept for ContinuityConfig.retention
      "open_intents": {
        "reservations": [{"reservation_id", "store_id", "product_ids", "channel", "created_at",
                          "expires_at", "status", "missing_at_store"}],   # status "open"
        "carts": [{"channel", "product_ids", "amount_cents", "currency", "updated_at", "status"}],
        "returns": [{"order_id", "channel", "requested_at", "store_id"}]
      },
      "last_touchpoints": {"chat": {"event_id", "event_type", "at", "store_id"?, "agent_id"?,
                          "campaign_id"?, "url"?, "conversation_id"?, "case_id"?,
                          "reservation_id"?, "product_ids"?}, ...},
      "consent": {"marketing": {"granted": false, "at": "..."}},
      "journey": {...} | null,
      "alerts": [{every field of schemas/alert.avsc, times as ISO strings}]
    }

    Conversation = {
      "conversation_id": "conv:CONV-1",          # the thread id: its first linked id
      "conversation_ids": [...], "case_ids": [...], "reservation_ids": [...],
      "status": "open" | "closed", "started_at": "...", "last_at": "...",
      "channels": [{"channel", "contact", "first_at", "last_at", "events", "case_id"}],  # oldest first
      "summary": "latest transcript summary" | null,
      "summaries": [{"at", "channel", "text"}],  # oldest first, at most 5
      "store_id", "agent_ids", "product_ids", "resolved_case_ids"
    }
"""

from __future__ import annotations

from typing import Any

from streams.journeys.alerts import from_ms
from streams.journeys.continuity import DEFAULT_CONFIG
from streams.journeys.continuity_config import ContinuityConfig
from streams.journeys.continuity_expiry import thread_is_open
from streams.journeys.continuity_state import ContinuityState, Thread


def iso(ms: int | None) -> str | None:
    return None if ms is None else from_ms(ms).isoformat(timespec="milliseconds")


def card(
    state: ContinuityState, journey: dict[str, Any] | None, config: ContinuityConfig = DEFAULT_CONFIG
) -> dict[str, Any]:
    """The continuity card of ``state.person_id`` (see the module docstring for its shape)."""
    now = state.seen_ms
    threads = sorted(state.threads.values(), key=lambda t: (t.last_ms, t.thread_id), reverse=True)
    open_threads = [t for t in threads if thread_is_open(state, t, now, config)]
    closed = [t for t in threads if t not in open_threads]
    reservations = sorted(
        (r for r in state.reservations.values() if r.status == "open"),
        key=lambda r: (r.created_ms or 0, r.reservation_id),
        reverse=True,
    )
    cart = state.cart
    return {
        "person_id": state.person_id,
        "as_of": iso(now) if now else None,
        "identifiers": [
            {"type": kind, "value": value, "last_seen": iso(at)}
            for (kind, value), at in sorted(state.identifiers.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "open_conversations": [_conversation(t, "open") for t in open_threads],
        "recent_conversations": [_conversation(t, "closed") for t in closed],
        "open_intents": {
            "reservations": [
                {
                    "reservation_id": r.reservation_id,
                    "store_id": r.store_id,
                    "product_ids": list(r.product_ids),
                    "channel": r.channel,
                    "created_at": iso(r.created_ms),
                    "expires_at": iso(r.expires_ms),
                    "status": r.status,
                    "missing_at_store": r.missing,
                }
                for r in reservations
            ],
            "carts": []
            if cart is None
            else [
                {
                    "channel": cart.channel,
                    "product_ids": list(cart.product_ids),
                    "amount_cents": cart.amount_cents,
                    "currency": cart.currency,
                    "updated_at": iso(cart.updated_ms),
                    "status": cart.status,
                }
            ],
            "returns": [
                {
                    "order_id": r.order_id,
                    "channel": r.channel,
                    "requested_at": iso(r.requested_ms),
                    "store_id": r.store_id,
                }
                for r in sorted(state.returns.values(), key=lambda r: r.requested_ms, reverse=True)
            ],
        },
        "last_touchpoints": {
            channel: {**{k: v for k, v in touch.items() if k != "at"}, "at": iso(touch["at"])}
            for channel, touch in sorted(state.last_touch.items(), key=lambda kv: -kv[1]["at"])
        },
        "consent": {
            purpose: {"granted": granted, "at": iso(at)}
            for purpose, (granted, at) in sorted(state.consent.items())
        },
        "journey": journey,
        "alerts": [
            {
                **alert,
                "detected_at": iso(alert["detected_at"]),
                "event_time": iso(alert["event_time"]),
                "evidence_event_ids": list(alert["evidence_event_ids"]),
            }
            for alert in sorted(
                state.alerts.values(), key=lambda a: (a["event_time"], a["alert_id"]), reverse=True
            )
        ],
    }


def _conversation(t: Thread, status: str) -> dict[str, Any]:
    return {
        "conversation_id": t.thread_id,
        "conversation_ids": t.ids("conv"),
        "case_ids": t.ids("case"),
        "reservation_ids": t.ids("res"),
        "status": status,
        "started_at": iso(t.first_ms),
        "last_at": iso(t.last_ms),
        "channels": [
            {
                "channel": leg.channel,
                "contact": leg.contact or None,
                "first_at": iso(leg.first_ms),
                "last_at": iso(leg.last_ms),
                "events": leg.events,
                "case_id": leg.case_id,
            }
            for leg in t.legs
        ],
        "summary": t.summaries[-1][2] if t.summaries else None,
        "summaries": [{"at": iso(at), "channel": channel, "text": text} for at, channel, text in t.summaries],
        "store_id": t.store_id,
        "agent_ids": list(t.agent_ids),
        "product_ids": list(t.product_ids),
        "resolved_case_ids": list(t.resolved_cases),
    }
