"""The canonical green-velvet-sofa story and its three broken variants, as fixed scenarios.

From the domain article (003): Giulia searches for a green velvet sofa, is retargeted on social for
days, clicks an ad to the web shop, finds only blue, asks in the live chat; the agent finds a green
one in a store in her city and reserves it; she picks it up days later. What can go wrong, each with
its own customer:

- ``sofa_unpurchasable_landing`` (Marta): the retargeting ad leads to a social page where nothing
  can be bought (``context.purchasable = false``).
- ``sofa_stock_blind`` (Luca): the chat agent cannot see store stock (``stock_check`` result
  ``unknown``), reserves nothing; Luca goes to the store anyway and the sofa is not there.
- ``sofa_reservation_lost`` (Sara): the chat agent reserves, the reservation never reaches the store;
  Sara's visit finds nothing to pick up and the reservation expires.

Scenarios use fixed identities, fixed ids and their own fixed random stream, so they are identical
whatever the seed (only shifted with the simulation start), and tests can look them up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Final

from producers.simulator.desk import Chat, pos_purchase, store_event
from producers.simulator.events import DAY, HOUR, MINUTE, hex_id
from producers.simulator.journey import Expander, Journey, ident
from producers.simulator.population import Person
from producers.simulator.web import WebSession
from producers.simulator.world import (
    CAMPAIGN_BY_ID,
    PRODUCT_BY_SKU,
    SHOP_URL,
    SOCIAL_PAGE_URL,
    STORE_BY_ID,
    Campaign,
)

SEARCH_AD: Final = CAMPAIGN_BY_ID["CMP-ADS-SEARCH-SOFA"]
RETARGET: Final = Campaign("CMP-SOC-SOFA-RETARGET", "social", f"{SHOP_URL}/c/divani/velluto", True)
RETARGET_TO_PAGE: Final = Campaign(
    "CMP-SOC-SOFA-PAGE", "social", f"{SOCIAL_PAGE_URL}/posts/divani-velluto", False
)
GREEN: Final = PRODUCT_BY_SKU["SOFA-VELVET-GREEN"]
BLUE: Final = PRODUCT_BY_SKU["SOFA-VELVET-BLUE"]
QUERY: Final = "divano in velluto verde"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One fixed story: who, when (offset from the simulation start) and what happens."""

    name: str
    description: str
    person: Callable[[], Person]
    offset_ms: int
    build: Callable[[Journey], None]


def _person(key: str, scenario: str, name: str, store_id: str, n: int, cookie: str) -> Person:
    first, last = name.lower().split()
    return Person(
        person_id=f"P-SOFA-{key}",
        household_id=f"H-SOFA-{key}",
        name=name,
        profile="scenario",
        store=STORE_BY_ID[store_id],
        activity=0.0,
        customer_id=None,
        emails=(f"{first}.{last}@example.it",),
        phone=f"+3933312345{66 + n}",
        loyalty_id=f"LOY-0000300{n}",
        cookies=(cookie,),
        email_optin=True,
        scenario=scenario,
    )


def giulia() -> Person:
    return _person("GIULIA", "sofa", "Giulia Rossi", "ST-MI-01", 1, "ck.5a1f0e3c9b2d4e60")


def marta() -> Person:
    return _person(
        "MARTA", "sofa_unpurchasable_landing", "Marta Bianchi", "ST-TO-01", 2, "ck.6b2e1f4d0c3e5f71"
    )


def luca() -> Person:
    return _person("LUCA", "sofa_stock_blind", "Luca Ferrari", "ST-BO-01", 3, "ck.7c3f2a5e1d4f6a82")


def sara() -> Person:
    return _person("SARA", "sofa_reservation_lost", "Sara Conti", "ST-RM-01", 4, "ck.8d4a3b6f2e5a7b93")


def _cookie(j: Journey) -> list[dict[str, str]]:
    return [ident("cookie", j.person.cookies[0])]


def _search_then_retarget(
    j: Journey, retarget: Campaign, click_day: int, click_hour: float
) -> tuple[int, str]:
    """Search ad and a first look at the shop, then days of retargeting; returns (click time, click id)."""
    city = j.person.store.city
    t = j.start
    j.emit(
        t,
        "ads",
        "ad_impression",
        _cookie(j),
        "ad-server",
        context={"campaign_id": SEARCH_AD.campaign_id},
        attributes={"placement": "search", "query": QUERY, "geo": city},
    )
    t += 25_000
    j.emit(
        t,
        "ads",
        "ad_click",
        _cookie(j),
        "ad-server",
        context={"campaign_id": SEARCH_AD.campaign_id, "url": SEARCH_AD.landing_url},
    )
    s = WebSession(j, t + 3_000, cookie=j.person.cookies[0], campaign_id=SEARCH_AD.campaign_id)
    s.page(f"{SEARCH_AD.landing_url}?utm_campaign=cmp-ads-search-sofa")
    s.product(BLUE)
    midnight = j.start - j.start % DAY
    for day in range(1, click_day + 1):
        seen = midnight + day * DAY + 19 * HOUR + j.rng.randrange(2 * HOUR)
        if day == click_day:
            seen = midnight + day * DAY + int(click_hour * HOUR) - 40 * MINUTE
        j.emit(
            seen,
            "social",
            "ad_impression",
            _cookie(j),
            "social-meta",
            context={"campaign_id": retarget.campaign_id},
            attributes={"platform": "facebook"},
        )
    click_at = midnight + click_day * DAY + int(click_hour * HOUR)
    click = j.emit(
        click_at,
        "social",
        "ad_click",
        _cookie(j),
        "social-meta",
        context={"campaign_id": retarget.campaign_id, "url": retarget.landing_url},
        attributes={"platform": "facebook"},
    )
    return click_at, click


def _only_blue(j: Journey, t: int) -> WebSession:
    """Landing on the shop from the retargeting ad: the velvet sofa is there, but only in blue."""
    s = WebSession(j, t + 2_000, cookie=j.person.cookies[0], campaign_id=RETARGET.campaign_id)
    s.page(f"{RETARGET.landing_url}?utm_campaign=cmp-soc-sofa-retarget")
    s.search(QUERY)
    s.product(BLUE, {"colors_in_stock": "blu"})
    return s


def _ask_chat(j: Journey, t: int) -> Chat:
    chat = Chat(j, t, [ident("cookie", j.person.cookies[0]), j.email()], agent="AG-017")
    chat.start()
    chat.say("customer", "Buongiorno, il divano in velluto esiste anche verde? Online vedo solo il blu.")
    return chat


def sofa(j: Journey) -> None:
    """The story as it should go: search, retargeting, shop, chat, reservation, pickup."""
    store = j.person.store
    click_at, _ = _search_then_retarget(j, RETARGET, click_day=4, click_hour=18.2)
    s = _only_blue(j, click_at)
    chat = _ask_chat(j, s.t)
    chat.say("agent", f"Online è esaurito, controllo i negozi di {store.city}.")
    chat.stock_check(GREEN, store, "available")
    chat.say("agent", f"Ne è rimasto uno verde a {store.city}: glielo prenoto?")
    chat.say("customer", "Sì, grazie! Lo ritiro nei prossimi giorni.")
    reservation = "RES-SOFA-GIULIA"
    contact = [ident("cookie", j.person.cookies[0]), j.email(), ident("phone", "+39 333 123 4567")]
    chat.reserve(GREEN, store, reservation, contact)
    chat.end(f"Prenotato divano velluto verde a {store.city} ({reservation}), ritiro entro 7 giorni.")
    midnight = j.start - j.start % DAY
    visit = midnight + 7 * DAY + 17 * HOUR + 20 * MINUTE
    card = [ident("loyalty_id", j.person.loyalty_id or "")]
    session = hex_id(j.rng, "sv-")
    store_event(j, visit, store, "store_visit", card, session_id=session)
    store_event(
        j,
        visit + 6 * MINUTE,
        store,
        "reservation_picked_up",
        [*card, ident("phone", "333 123 4567")],
        session_id=session,
        context={"reservation_id": reservation, "product_ids": [GREEN.sku]},
    )
    pos_purchase(
        j, visit + 14 * MINUTE, store, card, [GREEN], order_id="ORD-SOFA-GIULIA", reservation_id=reservation
    )
    j.outcome = "pickup"


def unpurchasable_landing(j: Journey) -> None:
    """Variant (a): the retargeting ad leads to a social page where nothing can be bought."""
    click_at, click = _search_then_retarget(j, RETARGET_TO_PAGE, click_day=3, click_hour=19.5)
    landing = j.emit(
        click_at + 2_000,
        "social",
        "page_view",
        _cookie(j),
        "social-meta",
        context={
            "url": RETARGET_TO_PAGE.landing_url,
            "purchasable": False,
            "campaign_id": RETARGET_TO_PAGE.campaign_id,
        },
    )
    j.handoff("unpurchasable_landing", [click, landing], campaign_id=RETARGET_TO_PAGE.campaign_id)


def stock_blind(j: Journey) -> None:
    """Variant (b): the chat agent cannot see store stock; the customer goes to the store anyway."""
    store = j.person.store
    click_at, _ = _search_then_retarget(j, RETARGET, click_day=3, click_hour=18.0)
    s = _only_blue(j, click_at)
    chat = _ask_chat(j, s.t)
    check = chat.stock_check(GREEN, store, "unknown")
    chat.say("agent", "Mi dispiace, dalla chat non vedo le giacenze dei negozi. Provi a passare in filiale.")
    chat.end("Cliente chiede divano velluto verde: disponibilità nei negozi non verificabile dalla chat.")
    midnight = j.start - j.start % DAY
    visit_at = midnight + 5 * DAY + 11 * HOUR
    ids = [ident("loyalty_id", j.person.loyalty_id or ""), ident("phone", "+39 333-123-4569")]
    session = hex_id(j.rng, "sv-")
    visit = store_event(j, visit_at, store, "store_visit", ids, session_id=session)
    miss = store_event(
        j,
        visit_at + 8 * MINUTE,
        store,
        "stock_check",
        ids[:1],
        session_id=session,
        context={"product_ids": [GREEN.sku]},
        attributes={"result": "unavailable"},
    )
    j.handoff("stock_blind_chat", [check, visit, miss], store_id=store.store_id)


def reservation_lost(j: Journey) -> None:
    """Variant (c): the reservation made in chat never reaches the store; it expires unpicked."""
    store = j.person.store
    click_at, _ = _search_then_retarget(j, RETARGET, click_day=3, click_hour=12.7)
    s = _only_blue(j, click_at)
    chat = _ask_chat(j, s.t)
    chat.stock_check(GREEN, store, "available")
    reservation = "RES-SOFA-SARA"
    contact = [ident("cookie", j.person.cookies[0]), j.email(), ident("phone", "0039 333 1234570")]
    created_at = chat.t
    created = chat.reserve(GREEN, store, reservation, contact)
    chat.end(f"Prenotato divano velluto verde a {store.city} ({reservation}).")
    midnight = j.start - j.start % DAY
    visit_at = midnight + 6 * DAY + 16 * HOUR
    ids = [ident("loyalty_id", j.person.loyalty_id or ""), ident("phone", "333 123 4570")]
    session = hex_id(j.rng, "sv-")
    visit = store_event(j, visit_at, store, "store_visit", ids, session_id=session)
    store_event(
        j,
        visit_at + 10 * MINUTE,
        store,
        "stock_check",
        ids[:1],
        session_id=session,
        context={"product_ids": [GREEN.sku]},
        attributes={"result": "unavailable", "note": "prenotazione non trovata"},
    )
    expired = store_event(
        j,
        created_at + 7 * DAY,
        store,
        "reservation_expired",
        [ident("phone", "+393331234570")],
        context={"reservation_id": reservation, "product_ids": [GREEN.sku]},
    )
    j.handoff(
        "reservation_lost", [created, visit, expired], store_id=store.store_id, reservation_id=reservation
    )


SCENARIOS: Final = (
    Scenario(
        "sofa",
        "green velvet sofa: search, retargeting, chat reservation, pickup",
        giulia,
        19 * HOUR + 40 * MINUTE,
        sofa,
    ),
    Scenario(
        "sofa_unpurchasable_landing",
        "retargeting ad lands where nothing can be bought",
        marta,
        20 * HOUR + 5 * MINUTE,
        unpurchasable_landing,
    ),
    Scenario(
        "sofa_stock_blind", "chat agent cannot see store stock", luca, 17 * HOUR + 10 * MINUTE, stock_blind
    ),
    Scenario(
        "sofa_reservation_lost",
        "reservation lost between chat and store",
        sara,
        18 * HOUR + 30 * MINUTE,
        reservation_lost,
    ),
)
SCENARIO_BY_NAME: Final = {s.name: s for s in SCENARIOS}


def scenario_expander(scenario: Scenario) -> Expander:
    """A random stream and id space of the scenario's own: the same events whatever the seed."""
    return Expander(Random(f"omnijourney-scenario:{scenario.name}"), id_tag=f"{scenario.name.upper()}-")
