"""Assisted journeys of the population: service cases, reservations for pickup, store visits.

These are the journeys whose hand-offs can break, so each records in ground truth what an alert
should find: a case the customer has to raise again on another channel, a reservation nobody
picked up, a chat agent who could not see store stock.
"""

from __future__ import annotations

from producers.simulator.desk import (
    CALL_SOURCE,
    CHAT_SOURCE,
    RESERVATION_HOLD_DAYS,
    STORE_HOURS,
    Chat,
    call,
    copy_ids,
    pos_purchase,
    store_event,
    store_ids,
)
from producers.simulator.digital import browse
from producers.simulator.events import DAY, HOUR, hex_id
from producers.simulator.journey import Journey, ident
from producers.simulator.web import WebSession, random_product

CASE_TOPICS = (
    ("consegna", "Consegna in ritardo"),
    ("danno", "Prodotto arrivato danneggiato"),
    ("garanzia", "Informazioni sulla garanzia"),
    ("ordine", "Modifica dell'ordine"),
    ("montaggio", "Richiesta di montaggio"),
)


def _chat_ids(j: Journey, with_phone: bool = False) -> list[dict[str, str]]:
    """A web chat knows its cookie and what the customer typed in the pre-chat form."""
    ids = [ident("cookie", j.cookie())]
    if j.person.emails:
        ids.append(j.email())
    if with_phone and j.person.phone is not None:
        ids.append(j.phone())
    return ids


def service_case(j: Journey) -> None:
    """A customer-service case, raised on one channel and maybe again on others until resolved."""
    person, rng = j.person, j.rng
    if not person.converts or (not person.emails and person.phone is None):
        browse(j)
        return
    case = j.x.next_id("CASE")
    topic = CASE_TOPICS[rng.randrange(len(CASE_TOPICS))]
    channels = [
        c
        for c, ok in (
            ("chat", bool(person.emails)),
            ("call_center", person.phone is not None),
            ("store", person.loyalty_id is not None),
        )
        if ok
    ]
    # Repeat contacts come on another channel than the previous one, so one channel means one contact.
    contacts = 1 if len(channels) == 1 else 1 + (rng.random() < 0.35) + (rng.random() < 0.15)
    t, first_events, started, last, conversation = j.start, [], "", "", None
    for n in range(contacts):
        options = [c for c in channels if c not in (started, last)] or [c for c in channels if c != started]
        started = options[rng.randrange(len(options))]
        contact = {"chat": _chat_contact, "call_center": _call_contact, "store": _store_contact}[started]
        t, first, last, conversation = contact(j, t, case, topic, n == 0)
        first_events.append(first)
        if n + 1 < contacts:
            t += rng.randrange(4 * HOUR, 3 * DAY)
    if contacts > 1:
        # The customer had to come back, on another channel, about the same case.
        j.handoff("repeat_contact", first_events, case_id=case)
    if rng.random() < 0.75:
        if last == "call_center":
            ids, source = [j.phone()], CALL_SOURCE
        elif last == "store":
            ids, source = store_ids(j), person.store.store_source
        else:
            ids, source = _chat_ids(j), CHAT_SOURCE
        j.emit(
            t,
            last,
            "case_resolved",
            ids,
            source,
            case_id=case,
            conversation_id=conversation,
            context={"summary": topic[1]},
        )
        j.outcome = "resolution"


Contact = tuple[
    int, str, str, str | None
]  # (time after it, its first event id, channel it ended on, conversation)


def _chat_contact(j: Journey, t: int, case: str, topic: tuple[str, str], opens: bool) -> Contact:
    """A chat about the case; 30% of the time it continues as a phone call in the same conversation."""
    chat = Chat(j, t, _chat_ids(j), case_id=case)
    first = chat.start()
    if opens:
        chat.open_case(topic[0])
    for i in range(j.rng.randrange(2, 6)):
        chat.say("customer" if i % 2 == 0 else "agent", topic[1] if i == 0 else "...")
    chat.end(f"{topic[1]} (caso {case})")
    if j.person.phone is None or j.rng.random() >= 0.3:
        return chat.t, first, "chat", chat.conversation_id
    t, _ = call(
        j,
        chat.t + j.gap(30, 300),
        case_id=case,
        conversation_id=chat.conversation_id,
        summary=f"Seguito della chat: {topic[1]}",
        agent=chat.agent,
    )
    return t, first, "call_center", chat.conversation_id


def _call_contact(j: Journey, t: int, case: str, topic: tuple[str, str], opens: bool) -> Contact:
    conversation = j.x.next_id("CONV")
    t, events = call(j, t, case_id=case, conversation_id=conversation, summary=topic[1])
    if opens:
        j.emit(
            t,
            "call_center",
            "case_opened",
            [j.phone()],
            CALL_SOURCE,
            case_id=case,
            conversation_id=conversation,
            attributes={"topic": topic[0]},
        )
        t += j.gap(5, 20)
    return t, events[0], "call_center", conversation


def _store_contact(j: Journey, t: int, case: str, topic: tuple[str, str], opens: bool) -> Contact:
    store, session = j.person.store, hex_id(j.rng, "sv-")
    t = j.opening_hours(t, *STORE_HOURS)
    ids = store_ids(j)
    first = store_event(
        j, t, store, "store_visit", ids, case_id=case, session_id=session, attributes={"reason": topic[0]}
    )
    t += j.gap(300, 1_800)
    if opens:
        store_event(
            j, t, store, "case_opened", ids, case_id=case, session_id=session, attributes={"topic": topic[0]}
        )
        t += j.gap(5, 20)
    return t, first, "store", None


def reservation(j: Journey) -> None:
    """Reserve in store for pickup, through a chat agent or on the web; picked up or left to expire."""
    person, rng = j.person, j.rng
    if not person.converts or (not person.emails and person.phone is None):
        browse(j)
        return
    store = person.store
    product = random_product(j)
    s = WebSession(j, j.start)
    s.browse(rng.randrange(1, 4))
    s.product(product)
    reservation_id = j.x.next_id("RES")
    if rng.random() < 0.6:
        chat = Chat(j, s.t, _chat_ids(j))
        chat.start()
        chat.say("customer", f"Avete {product.name.lower()} disponibile in negozio a {store.city}?")
        if rng.random() < 0.1:
            # The agent cannot see store stock: no reservation; the customer may try the store anyway.
            check = chat.stock_check(product, store, "unknown")
            chat.say("agent", "Non vedo le giacenze dei negozi, provi a chiedere direttamente in filiale.")
            chat.end(f"Disponibilità di {product.sku} a {store.city} non verificabile")
            if rng.random() < 0.5:
                t = j.days_later(chat.t, rng.randrange(1, 4), *STORE_HOURS)
                visit = store_event(j, t, store, "store_visit", store_ids(j), session_id=hex_id(rng, "sv-"))
                miss = store_event(
                    j,
                    t + j.gap(120, 900),
                    store,
                    "stock_check",
                    store_ids(j),
                    context={"product_ids": [product.sku]},
                    attributes={"result": "unavailable"},
                )
                j.handoff("stock_blind_chat", [check, visit, miss], store_id=store.store_id)
            return
        chat.stock_check(product, store, "available")
        created_ids = _chat_ids(j, with_phone=True)
        created = chat.reserve(product, store, reservation_id, created_ids)
        chat.end(f"Prenotato {product.sku} a {store.city} ({reservation_id})")
        t = chat.t
    else:
        s.login()
        created_ids = [*s.ids(), j.email()] if person.emails else [*s.ids(), j.phone()]
        created = j.emit(
            s.t,
            "web",
            "reservation_created",
            created_ids,
            "web-shop",
            session_id=s.session_id,
            context={
                "store_id": store.store_id,
                "product_ids": [product.sku],
                "reservation_id": reservation_id,
                "purchasable": True,
            },
        )
        t = s.t
    contact = [i for i in created_ids if i["type"] in ("email", "phone")]
    if rng.random() < 0.8:
        visit_at = j.days_later(t, rng.randrange(1, 6), *STORE_HOURS)
        session = hex_id(rng, "sv-")
        ids = store_ids(j)
        store_event(j, visit_at, store, "store_visit", ids, session_id=session)
        pickup_ids = [*ids, *copy_ids(contact)] if person.loyalty_id is not None else ids
        store_event(
            j,
            visit_at + j.gap(120, 600),
            store,
            "reservation_picked_up",
            pickup_ids,
            session_id=session,
            context={"reservation_id": reservation_id, "product_ids": [product.sku]},
        )
        pos_purchase(j, visit_at + j.gap(300, 900), store, ids, [product], reservation_id=reservation_id)
        j.outcome = "pickup"
        return
    expired = store_event(
        j,
        t + RESERVATION_HOLD_DAYS * DAY,
        store,
        "reservation_expired",
        contact,
        context={"reservation_id": reservation_id, "product_ids": [product.sku]},
    )
    j.handoff(
        "reservation_not_picked_up",
        [created, expired],
        store_id=store.store_id,
        reservation_id=reservation_id,
    )


def store_visit(j: Journey) -> None:
    """A visit to the home store: a loyalty scan, perhaps the shared kiosk, perhaps a purchase."""
    person, rng = j.person, j.rng
    if person.loyalty_id is None and not (person.converts and (person.emails or person.phone)):
        browse(j)
        return
    store = person.store
    t = j.opening_hours(j.start, *STORE_HOURS)
    session = hex_id(rng, "sv-")
    ids = store_ids(j)
    if person.loyalty_id is not None:
        store_event(j, t, store, "store_visit", ids, session_id=session)
        if rng.random() < 0.3:
            for _ in range(rng.randrange(1, 4)):
                t += j.gap(30, 240)
                kiosk = j.use_shared("device", store.kiosk_device, "store_kiosk")
                p = random_product(j)
                store_event(
                    j,
                    t,
                    store,
                    "product_view",
                    [kiosk, *copy_ids(ids)],
                    session_id=session,
                    context={"product_ids": [p.sku], "url": f"kiosk://p/{p.sku.lower()}"},
                )
    if person.converts and (person.loyalty_id is None or rng.random() < 0.6):
        products = [random_product(j) for _ in range(1 + (rng.random() < 0.4))]
        pos_purchase(j, t + j.gap(300, 2_400), store, ids, products)
        j.outcome = "purchase"
