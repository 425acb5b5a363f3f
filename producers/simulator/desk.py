"""Staffed channels: live chat, the call center and the store floor (with its tills).

These are where hand-offs happen: a chat that continues as a call under the same conversation and
case id, a reservation made by a chat agent and picked up at a store, a store visit that finds no
reservation. The helpers take the identifiers each channel really knows: the chat its cookie and
whatever the customer types in the pre-chat form, the call center the caller's number (and the CRM
id once the agent has verified the caller), the store a scanned loyalty card or a phone number.
"""

from __future__ import annotations

from typing import Any

from producers.simulator.events import DAY, to_datetime
from producers.simulator.journey import Journey, ident
from producers.simulator.world import AGENTS, SHOP_URL, Product, Store

CHAT_SOURCE = "chat-desk"
CALL_SOURCE = "call-center-pbx"
CHAT_HOURS = (8, 21)
CALL_HOURS = (8, 20)
STORE_HOURS = (9, 19)
RESERVATION_HOLD_DAYS = 7


def copy_ids(ids: list[dict[str, str]]) -> list[dict[str, str]]:
    """Fresh identifier dicts per event, so no two payloads share a mutable object."""
    return [dict(i) for i in ids]


def store_ids(j: Journey) -> list[dict[str, str]]:
    """What a store can identify a customer by: the loyalty card, else the phone number given."""
    person = j.person
    if person.loyalty_id is not None:
        return [ident("loyalty_id", person.loyalty_id)]
    if person.phone is not None:
        return [j.phone()]
    return [j.email()]


class Chat:
    """One live-chat conversation; ``t`` is the time of the next event."""

    __slots__ = ("agent", "case_id", "conversation_id", "ids", "j", "t")

    def __init__(
        self,
        j: Journey,
        t: int,
        ids: list[dict[str, str]],
        *,
        case_id: str | None = None,
        conversation_id: str | None = None,
        agent: str | None = None,
    ) -> None:
        self.j = j
        self.t = j.opening_hours(t, *CHAT_HOURS)
        self.ids = ids
        self.case_id = case_id
        self.conversation_id = j.x.next_id("CONV") if conversation_id is None else conversation_id
        self.agent = AGENTS[j.rng.randrange(len(AGENTS))] if agent is None else agent

    def _emit(
        self,
        event_type: str,
        context: dict[str, Any] | None = None,
        attributes: dict[str, str] | None = None,
        ids: list[dict[str, str]] | None = None,
    ) -> str:
        ctx = {"agent_id": self.agent} if context is None else {"agent_id": self.agent, **context}
        event_id = self.j.emit(
            self.t,
            "chat",
            event_type,
            copy_ids(self.ids if ids is None else ids),
            CHAT_SOURCE,
            conversation_id=self.conversation_id,
            case_id=self.case_id,
            context=ctx,
            attributes=attributes,
        )
        self.t += self.j.gap(15, 120)
        return event_id

    def start(self) -> str:
        return self._emit("chat_started", {"url": f"{SHOP_URL}/assistenza/chat"})

    def open_case(self, topic: str) -> str:
        return self._emit("case_opened", attributes={"topic": topic})

    def say(self, author: str, text: str) -> str:
        return self._emit("chat_message", attributes={"author": author, "text": text})

    def stock_check(self, product: Product, store: Store, result: str) -> str:
        """``result``: available, unavailable or unknown (the agent cannot see store stock)."""
        return self._emit(
            "stock_check", {"store_id": store.store_id, "product_ids": [product.sku]}, {"result": result}
        )

    def reserve(self, product: Product, store: Store, reservation_id: str, ids: list[dict[str, str]]) -> str:
        hold_until = to_datetime(self.t + RESERVATION_HOLD_DAYS * DAY).date()
        ctx = {
            "store_id": store.store_id,
            "product_ids": [product.sku],
            "reservation_id": reservation_id,
            "amount_cents": product.price_cents,
            "currency": "EUR",
        }
        return self._emit("reservation_created", ctx, {"hold_until": hold_until.isoformat()}, ids)

    def end(self, summary: str) -> str:
        return self._emit("chat_ended", {"summary": summary})


def call(
    j: Journey,
    t: int,
    *,
    case_id: str | None,
    conversation_id: str | None,
    summary: str,
    agent: str | None = None,
) -> tuple[int, list[str]]:
    """A phone call: the caller's number, plus the CRM id once the agent has verified the caller."""
    person, rng = j.person, j.rng
    t = j.opening_hours(t, *CALL_HOURS)
    agent_id = AGENTS[rng.randrange(len(AGENTS))] if agent is None else agent
    ids = [j.phone()]
    if person.crm_id is not None:
        ids.append(ident("crm_id", person.crm_id))
    started = j.emit(
        t,
        "call_center",
        "call_started",
        ids,
        CALL_SOURCE,
        conversation_id=conversation_id,
        case_id=case_id,
        context={"agent_id": agent_id},
    )
    t += j.gap(90, 900)
    ended = j.emit(
        t,
        "call_center",
        "call_ended",
        copy_ids(ids),
        CALL_SOURCE,
        conversation_id=conversation_id,
        case_id=case_id,
        context={"agent_id": agent_id, "summary": summary},
        attributes={"duration_s": str(rng.randrange(90, 900))},
    )
    return t + j.gap(10, 60), [started, ended]


def store_event(
    j: Journey,
    t: int,
    store: Store,
    event_type: str,
    ids: list[dict[str, str]],
    *,
    session_id: str | None = None,
    case_id: str | None = None,
    context: dict[str, Any] | None = None,
    attributes: dict[str, str] | None = None,
) -> str:
    ctx = {"store_id": store.store_id, **(context or {})}
    return j.emit(
        t,
        "store",
        event_type,
        copy_ids(ids),
        store.store_source,
        session_id=session_id,
        case_id=case_id,
        context=ctx,
        attributes=attributes,
    )


def pos_purchase(
    j: Journey,
    t: int,
    store: Store,
    ids: list[dict[str, str]],
    products: list[Product],
    order_id: str | None = None,
    reservation_id: str | None = None,
) -> str:
    """A till receipt; arrives ~an hour late when the store's tills upload in batches."""
    ctx: dict[str, Any] = {
        "store_id": store.store_id,
        "product_ids": [p.sku for p in products],
        "order_id": j.x.next_id("ORD") if order_id is None else order_id,
        "amount_cents": sum(p.price_cents for p in products),
        "currency": "EUR",
    }
    if reservation_id is not None:
        ctx["reservation_id"] = reservation_id
    till = f"till-{1 + j.rng.randrange(3)}"
    return j.emit(
        t,
        "pos",
        "purchase",
        copy_ids(ids),
        store.pos_source,
        context=ctx,
        attributes={"till": till},
        arrival=j.pos_arrival(store, t),
    )
