"""Digital journeys: web, app, ads, social and e-mail behaviour of the population.

Each function expands one journey of one person from ``j.start``. A behaviour the person cannot
have (an app session without the app, a newsletter without an e-mail) falls back to browsing, so
the kind mix stays close to the profile without special cases in the planner.
"""

from __future__ import annotations

from typing import Any

from producers.simulator.events import DAY, HOUR, MINUTE, SECOND, hex_id
from producers.simulator.journey import Journey, ident
from producers.simulator.web import WebSession, random_consent, random_product
from producers.simulator.world import (
    ADS_CAMPAIGNS,
    CART_CAMPAIGN,
    NEWSLETTER,
    SHOP_URL,
    SOCIAL_CAMPAIGNS,
    SOCIAL_PAGE_URL,
    Campaign,
)

ESP_SOURCE = "esp-newsletter"
ADS_SOURCE = "ad-server"
SOCIAL_SOURCE = "social-meta"
APP_SOURCE = "mobile-app"


def browse(j: Journey) -> None:
    """Anonymous browsing, maybe a login, maybe a cart that is abandoned and chased by e-mail."""
    j.kind = "browse"
    rng = j.rng
    s = WebSession(j, j.start)
    s.page(f"{SHOP_URL}/")
    s.browse(rng.randrange(1, 6))
    if rng.random() < 0.35:
        s.login()
        if rng.random() < 0.08:
            s.consent()
    if not j.person.converts or rng.random() >= 0.3:
        return
    if s.checkout(may_buy=0.15):
        return
    abandoned_at = s.t + rng.randrange(30 * MINUTE, 60 * MINUTE)
    j.emit(
        abandoned_at,
        "web",
        "cart_abandoned",
        s.ids(),
        "web-shop",
        session_id=s.session_id,
        context={"url": f"{SHOP_URL}/carrello", "purchasable": True},
    )
    if s.customer_id is None or not j.person.email_optin or rng.random() >= 0.7:
        return
    # The cart-reminder e-mail: an e-mail event knows nothing but the (hashed) address.
    sent = abandoned_at + rng.randrange(2 * HOUR, 20 * HOUR)
    _email_then_web(j, CART_CAMPAIGN, sent, may_buy=0.5)


def web_purchase(j: Journey) -> None:
    """A visit that ends in an order; sometimes followed by a return days later."""
    rng = j.rng
    s = WebSession(j, j.start)
    s.page(f"{SHOP_URL}/")
    s.browse(rng.randrange(2, 7))
    if not s.checkout(may_buy=0.9) or rng.random() >= 0.08:
        return
    order_id = j.events[-1][2]["context"]["order_id"]
    t = j.days_later(s.t, rng.randrange(2, 10), 7, 22)
    ids = s.ids() if s.customer_id or not j.person.emails else [ident("cookie", s.cookie), j.email()]
    j.emit(
        t,
        "web",
        "return_requested",
        ids,
        "web-shop",
        context={"order_id": order_id, "url": f"{SHOP_URL}/resi"},
        attributes={"reason": rng.choice(("misura", "colore", "difetto"))},
    )
    store, loyalty = j.person.store, j.person.loyalty_id
    done = j.days_later(t, rng.randrange(1, 5), 9, 19)
    if loyalty is not None:
        # Returned at the till: a POS record, late when the store uploads in batches.
        j.emit(
            done,
            "pos",
            "return_completed",
            [ident("loyalty_id", loyalty)],
            store.pos_source,
            context={"store_id": store.store_id, "order_id": order_id, "currency": "EUR"},
            arrival=j.pos_arrival(store, done),
        )
    else:
        j.emit(done, "web", "return_completed", ids, "web-shop", context={"order_id": order_id})


def app_session(j: Journey) -> None:
    """A shop-app session on the person's phone or on the household's shared family tablet."""
    person, rng = j.person, j.rng
    if person.customer_id is None or (person.device is None and person.family_tablet is None):
        browse(j)
        return
    if person.family_tablet is not None and (person.device is None or rng.random() < 0.5):
        device = j.use_shared("device", person.family_tablet, "family_tablet")
        extra = []
    else:
        assert person.device is not None
        device = ident("device", person.device)
        extra = [ident("ad_id", person.ad_id)] if person.ad_id is not None and rng.random() < 0.5 else []
    customer_id = person.customer_id
    session_id = hex_id(rng, "as-")
    # 8% of sessions happen offline: the app queues them and sends when it is back on a network.
    offline_until = j.start + rng.randrange(5 * MINUTE, 3 * HOUR) if rng.random() < 0.08 else None
    t = j.start

    def screen(
        event_type: str, context: dict[str, Any], consent: dict[str, bool | None] | None = None
    ) -> None:
        nonlocal t
        ids = [dict(device), ident("customer_id", customer_id), *(dict(e) for e in extra)]
        arrival = None if offline_until is None else max(offline_until, t) + rng.randrange(50, 900)
        j.emit(
            t,
            "app",
            event_type,
            ids,
            APP_SOURCE,
            session_id=session_id,
            context=context,
            consent=consent,
            arrival=arrival,
        )
        t += j.gap(3, 60)

    screen("page_view", {"url": "app://home", "purchasable": True})
    for _ in range(rng.randrange(2, 8)):
        p = random_product(j)
        screen(
            "product_view", {"url": f"app://p/{p.sku.lower()}", "purchasable": True, "product_ids": [p.sku]}
        )
    if rng.random() < 0.05:
        screen("consent_updated", {"url": "app://settings/privacy"}, consent=random_consent(j))
    if rng.random() < 0.3:
        p = random_product(j)
        screen("cart_add", {"product_ids": [p.sku], "amount_cents": p.price_cents, "currency": "EUR"})
        if person.converts and rng.random() < 0.45:
            screen(
                "purchase",
                {
                    "product_ids": [p.sku],
                    "order_id": j.x.next_id("ORD"),
                    "amount_cents": p.price_cents,
                    "currency": "EUR",
                    "purchasable": True,
                },
            )
            j.outcome = "purchase"


def _land(j: Journey, campaign: Campaign, t: int, click_id: str, may_buy: float) -> None:
    """Where a campaign click lands: the shop (maybe buying) or a page where nothing can be bought."""
    if not campaign.purchasable:
        landing = j.emit(
            t + j.gap(1, 4),
            "social",
            "page_view",
            [ident("cookie", j.person.cookies[0])],
            SOCIAL_SOURCE,
            context={"url": campaign.landing_url, "purchasable": False, "campaign_id": campaign.campaign_id},
        )
        j.handoff("unpurchasable_landing", [click_id, landing], campaign_id=campaign.campaign_id)
        return
    s = WebSession(j, t + j.gap(1, 4), cookie=j.person.cookies[0], campaign_id=campaign.campaign_id)
    s.page(f"{campaign.landing_url}?utm_campaign={campaign.campaign_id.lower()}")
    s.browse(j.rng.randrange(1, 5))
    if j.rng.random() < 0.4:
        s.checkout(may_buy)


def ad_journey(j: Journey) -> None:
    """Display or search ads, seen a few times over hours or days; a click lands somewhere.

    In-app ads know the phone's advertising id; the click opens the browser, so the click record
    carries both the advertising id and the shop cookie the landing page then sees.
    """
    rng = j.rng
    campaign = ADS_CAMPAIGNS[rng.randrange(len(ADS_CAMPAIGNS))]
    cookie = ident("cookie", j.person.cookies[0])
    ad_id = j.person.ad_id
    ids = [ident("ad_id", ad_id)] if ad_id is not None and rng.random() < 0.4 else [cookie]
    t = j.start
    for _ in range(rng.randrange(1, 5)):
        j.emit(
            t,
            "ads",
            "ad_impression",
            [dict(i) for i in ids],
            ADS_SOURCE,
            context={"campaign_id": campaign.campaign_id},
            attributes={"placement": rng.choice(("search", "display"))},
        )
        t += rng.randrange(10 * MINUTE, DAY)
    if rng.random() < 0.55:
        click = j.emit(
            t,
            "ads",
            "ad_click",
            [dict(i) for i in ids] if ids[0]["type"] == "cookie" else [*ids, cookie],
            ADS_SOURCE,
            context={"campaign_id": campaign.campaign_id, "url": campaign.landing_url},
        )
        _land(j, campaign, t, click, may_buy=0.5)


def social(j: Journey) -> None:
    """Engagement with the brand's posts; sometimes a sponsored post is clicked."""
    person, rng = j.person, j.rng
    ids = [ident("ad_id", person.ad_id)] if person.ad_id is not None and rng.random() < 0.5 else []
    ids.append(ident("cookie", person.cookies[0]))
    t = j.start
    for _ in range(rng.randrange(1, 4)):
        j.emit(
            t,
            "social",
            "social_engagement",
            [dict(i) for i in ids],
            SOCIAL_SOURCE,
            context={"url": f"{SOCIAL_PAGE_URL}/posts/{rng.randrange(10_000, 99_999)}"},
            attributes={
                "platform": rng.choice(("facebook", "instagram")),
                "action": rng.choice(("like", "comment", "share", "save")),
            },
        )
        t += rng.randrange(MINUTE, 6 * HOUR)
    if rng.random() < 0.35:
        campaign = SOCIAL_CAMPAIGNS[rng.randrange(len(SOCIAL_CAMPAIGNS))]
        j.emit(
            t,
            "social",
            "ad_impression",
            [dict(i) for i in ids],
            SOCIAL_SOURCE,
            context={"campaign_id": campaign.campaign_id},
        )
        t += rng.randrange(5 * SECOND, 2 * HOUR)
        if rng.random() < 0.6:
            click = j.emit(
                t,
                "social",
                "ad_click",
                [dict(i) for i in ids],
                SOCIAL_SOURCE,
                context={"campaign_id": campaign.campaign_id, "url": campaign.landing_url},
            )
            _land(j, campaign, t, click, may_buy=0.3)


def email_campaign(j: Journey) -> None:
    """The newsletter: sent, maybe opened, maybe clicked through to the shop, rarely unsubscribed."""
    if not j.person.emails or not j.person.email_optin:
        browse(j)
        return
    _email_then_web(j, NEWSLETTER, j.start, may_buy=0.3)


def _email_then_web(j: Journey, campaign: Campaign, sent: int, may_buy: float) -> None:
    rng = j.rng
    address = j.person.emails[0]
    ctx = {"campaign_id": campaign.campaign_id}

    def email_event(t: int, event_type: str, consent: dict[str, bool | None] | None = None) -> None:
        ids = [j.email() if rng.random() < 0.3 else ident("email", address)]
        j.emit(t, "email", event_type, ids, ESP_SOURCE, context=dict(ctx), consent=consent)

    email_event(sent, "email_sent")
    if rng.random() >= 0.4:
        return
    opened = sent + rng.randrange(10 * MINUTE, 30 * HOUR)
    email_event(opened, "email_open")
    if rng.random() < 0.03:
        email_event(
            opened + j.gap(5, 40),
            "consent_updated",
            consent={"analytics": None, "marketing": False, "personalization": None},
        )
        return
    if rng.random() >= 0.35:
        return
    clicked = opened + j.gap(2, 120)
    email_event(clicked, "email_click")
    s = WebSession(j, clicked + j.gap(1, 3), campaign_id=campaign.campaign_id)
    if j.person.customer_id is not None and rng.random() < 0.6:
        s.customer_id = j.person.customer_id  # "remember me": already logged in on this browser
    s.page(f"{campaign.landing_url}?utm_campaign={campaign.campaign_id.lower()}")
    s.browse(rng.randrange(1, 4))
    if rng.random() < 0.5:
        s.checkout(may_buy)
