"""A web-shop session: anonymous browsing under a cookie, optional login, cart and checkout.

Shared by every behaviour that lands on the shop (direct visits, ad and e-mail clicks, the sofa
story), so the identifiers a web event carries are decided in one place: the cookie always, plus
the customer id once logged in, plus a raw e-mail on the login and checkout events.
"""

from __future__ import annotations

from typing import Any

from producers.simulator.events import below, hex_id
from producers.simulator.journey import Journey, ident
from producers.simulator.world import PRODUCTS, SHOP_URL, Product

WEB_SOURCE = "web-shop"
SEARCH_TERMS = (
    "divano",
    "divano letto",
    "tavolo allungabile",
    "lampada",
    "tappeto",
    "armadio",
    "materasso",
    "sedie cucina",
    "libreria",
    "poltrona",
    "specchio",
    "scrivania",
)


def random_product(j: Journey) -> Product:
    return PRODUCTS[below(j.rng, len(PRODUCTS))]


def random_consent(j: Journey) -> dict[str, bool | None]:
    rng = j.rng
    return {
        "analytics": rng.random() < 0.8,
        "marketing": rng.random() < 0.5,
        "personalization": rng.random() < 0.6,
    }


class WebSession:
    """One visit to the web shop; ``t`` is the time of the next event."""

    __slots__ = ("campaign_id", "cookie", "customer_id", "j", "session_id", "t")

    def __init__(self, j: Journey, t: int, cookie: str | None = None, campaign_id: str | None = None) -> None:
        self.j = j
        self.t = t
        self.cookie = j.cookie() if cookie is None else cookie
        self.session_id = hex_id(j.rng, "ws-")
        self.customer_id: str | None = None
        self.campaign_id = campaign_id

    def ids(self) -> list[dict[str, str]]:
        out = [ident("cookie", self.cookie)]
        if self.customer_id is not None:
            out.append(ident("customer_id", self.customer_id))
        return out

    def _emit(
        self,
        event_type: str,
        context: dict[str, Any],
        attributes: dict[str, str] | None = None,
        identifiers: list[dict[str, str]] | None = None,
        consent: dict[str, bool | None] | None = None,
    ) -> str:
        if self.campaign_id is not None:
            context["campaign_id"] = self.campaign_id
        event_id = self.j.emit(
            self.t,
            "web",
            event_type,
            self.ids() if identifiers is None else identifiers,
            WEB_SOURCE,
            session_id=self.session_id,
            context=context,
            attributes=attributes,
            consent=consent,
        )
        self.t += self.j.gap(4, 75)
        return event_id

    def page(self, url: str, purchasable: bool = True) -> str:
        return self._emit("page_view", {"url": url, "purchasable": purchasable})

    def search(self, query: str | None = None) -> str:
        term = SEARCH_TERMS[below(self.j.rng, len(SEARCH_TERMS))] if query is None else query
        return self._emit("search", {"url": f"{SHOP_URL}/cerca?q={term.replace(' ', '+')}"}, {"query": term})

    def product(self, product: Product | None = None, attributes: dict[str, str] | None = None) -> str:
        p = random_product(self.j) if product is None else product
        ctx = {"url": f"{SHOP_URL}/p/{p.sku.lower()}", "purchasable": True, "product_ids": [p.sku]}
        return self._emit("product_view", ctx, attributes)

    def browse(self, pages: int) -> None:
        """A few category pages, searches and product pages."""
        rng = self.j.rng
        for _ in range(pages):
            roll = rng.random()
            if roll < 0.25:
                self.search()
            elif roll < 0.8:
                self.product()
            else:
                self.page(f"{SHOP_URL}/c/{random_product(self.j).sku.split('-')[0].lower()}")

    def login(self) -> str | None:
        """Log in: the one web event that carries cookie, customer id and e-mail together."""
        person = self.j.person
        if person.customer_id is None or not person.emails:
            return None
        self.customer_id = person.customer_id
        ids = [*self.ids(), self.j.email()]
        return self._emit("login", {"url": f"{SHOP_URL}/account/login"}, identifiers=ids)

    def consent(self) -> str:
        ids = (
            self.ids()
            if self.customer_id is not None or not self.j.person.emails
            else [*self.ids(), self.j.email()]
        )
        return self._emit(
            "consent_updated", {"url": f"{SHOP_URL}/privacy"}, identifiers=ids, consent=random_consent(self.j)
        )

    def cart_add(self, product: Product) -> str:
        ctx = {
            "url": f"{SHOP_URL}/carrello",
            "purchasable": True,
            "product_ids": [product.sku],
            "amount_cents": product.price_cents,
            "currency": "EUR",
        }
        return self._emit("cart_add", ctx)

    def purchase(self, products: list[Product]) -> str:
        """Checkout; guests give an e-mail for the receipt, logged-in customers' is attached too."""
        ids = self.ids()
        if self.j.person.emails:
            ids.append(self.j.email())
        ctx = {
            "url": f"{SHOP_URL}/checkout/conferma",
            "purchasable": True,
            "product_ids": [p.sku for p in products],
            "order_id": self.j.x.next_id("ORD"),
            "amount_cents": sum(p.price_cents for p in products),
            "currency": "EUR",
        }
        return self._emit(
            "purchase", ctx, {"payment": "card" if self.j.rng.random() < 0.7 else "paypal"}, ids
        )

    def checkout(self, may_buy: float) -> bool:
        """Add to cart and, with probability ``may_buy``, buy; logs in first when the person can."""
        j = self.j
        products = [random_product(j) for _ in range(1 + (j.rng.random() < 0.3))]
        for p in products:
            self.cart_add(p)
        if not j.person.converts or j.rng.random() >= may_buy:
            return False
        if self.customer_id is None and j.person.customer_id is not None:
            self.login()
        self.purchase(products)
        j.outcome = "purchase"
        return True
