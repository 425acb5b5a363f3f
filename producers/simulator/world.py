"""The fixed world the customers live in: stores, products and campaigns of one furniture retailer.

It does not depend on the seed on purpose: the canonical sofa scenarios refer to concrete stores,
products and campaigns, and analysts comparing two runs should see the same store ids and prices.
Only the customers and what they do vary with the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SHOP_URL: Final = "https://shop.arreda.example"
SOCIAL_PAGE_URL: Final = "https://www.facebook.com/arreda.example"


@dataclass(frozen=True, slots=True)
class Store:
    """A physical store; ``pos_batch`` stores upload their tills in delayed batches (late events)."""

    store_id: str
    city: str
    kiosk_device: str
    pos_batch: bool
    batch_offset_ms: int

    @property
    def pos_source(self) -> str:
        return f"pos-{self.store_id.lower()}"

    @property
    def store_source(self) -> str:
        return f"store-{self.store_id.lower()}"


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    price_cents: int


@dataclass(frozen=True, slots=True)
class Campaign:
    """A marketing campaign. ``purchasable`` is False when its landing page has no way to buy."""

    campaign_id: str
    channel: str  # ads, social or email
    landing_url: str
    purchasable: bool


def _stores() -> tuple[Store, ...]:
    cities = [
        ("MI", "Milano"),
        ("RM", "Roma"),
        ("TO", "Torino"),
        ("NA", "Napoli"),
        ("BO", "Bologna"),
        ("FI", "Firenze"),
        ("GE", "Genova"),
        ("PA", "Palermo"),
        ("BA", "Bari"),
        ("VR", "Verona"),
        ("PD", "Padova"),
        ("BS", "Brescia"),
    ]
    stores = []
    for i, (code, city) in enumerate(cities):
        store_id = f"ST-{code}-01"
        # Every other store's tills upload in batches an hour late, as older POS systems do.
        stores.append(Store(store_id, city, f"kiosk-{store_id.lower()}-1", i % 2 == 0, (i * 4_937) % 60_000))
    return tuple(stores)


def _products() -> tuple[Product, ...]:
    items = [
        ("SOFA-VELVET-GREEN", "Divano in velluto verde", 89_900),
        ("SOFA-VELVET-BLUE", "Divano in velluto blu", 89_900),
        ("SOFA-LINEN-GREY", "Divano in lino grigio", 74_900),
        ("SOFA-BED-BEIGE", "Divano letto beige", 64_900),
        ("ARMCHAIR-OAK", "Poltrona in rovere", 32_900),
        ("CHAIR-VIENNA", "Sedia Vienna", 8_900),
        ("TABLE-OAK-180", "Tavolo in rovere 180 cm", 69_900),
        ("TABLE-GLASS-90", "Tavolino in vetro", 14_900),
        ("LAMP-ARC", "Lampada ad arco", 12_900),
        ("LAMP-DESK", "Lampada da scrivania", 3_900),
        ("RUG-WOOL-200", "Tappeto in lana 200x300", 24_900),
        ("CUSHION-VELVET", "Cuscino in velluto", 1_990),
        ("BED-QUEEN", "Letto matrimoniale", 59_900),
        ("MATTRESS-MEMORY", "Materasso memory", 49_900),
        ("WARDROBE-3D", "Armadio tre ante", 79_900),
        ("BOOKCASE-WHITE", "Libreria bianca", 15_900),
        ("DESK-WALNUT", "Scrivania in noce", 29_900),
        ("CURTAIN-LINEN", "Tenda in lino", 4_990),
        ("MIRROR-ROUND", "Specchio tondo", 7_990),
        ("SHELF-WALL", "Mensola a muro", 2_490),
    ]
    return tuple(Product(sku, name, price) for sku, name, price in items)


def _campaigns() -> tuple[Campaign, ...]:
    return (
        Campaign("CMP-ADS-SEARCH-SOFA", "ads", f"{SHOP_URL}/c/divani", True),
        Campaign("CMP-ADS-DISPLAY-AUTUNNO", "ads", f"{SHOP_URL}/promo/autunno", True),
        Campaign("CMP-ADS-DISPLAY-LETTI", "ads", f"{SHOP_URL}/c/letti", True),
        # A brand-awareness campaign whose click lands on the social page: nothing can be bought.
        Campaign("CMP-ADS-BRAND-VIDEO", "ads", f"{SOCIAL_PAGE_URL}/videos", False),
        Campaign("CMP-SOC-RETARGET", "social", f"{SHOP_URL}/c/soggiorno", True),
        Campaign("CMP-SOC-INSPIRATION", "social", f"{SOCIAL_PAGE_URL}/posts/ispirazioni", False),
        Campaign("CMP-EMAIL-NEWSLETTER", "email", f"{SHOP_URL}/newsletter/ottobre", True),
        Campaign("CMP-EMAIL-CART", "email", f"{SHOP_URL}/carrello", True),
    )


STORES: Final = _stores()
PRODUCTS: Final = _products()
CAMPAIGNS: Final = _campaigns()
STORE_BY_ID: Final = {s.store_id: s for s in STORES}
PRODUCT_BY_SKU: Final = {p.sku: p for p in PRODUCTS}
CAMPAIGN_BY_ID: Final = {c.campaign_id: c for c in CAMPAIGNS}
ADS_CAMPAIGNS: Final = tuple(c for c in CAMPAIGNS if c.channel == "ads")
SOCIAL_CAMPAIGNS: Final = tuple(c for c in CAMPAIGNS if c.channel == "social")
CART_CAMPAIGN: Final = CAMPAIGN_BY_ID["CMP-EMAIL-CART"]
NEWSLETTER: Final = CAMPAIGN_BY_ID["CMP-EMAIL-NEWSLETTER"]
AGENTS: Final = tuple(f"AG-{i:03d}" for i in range(1, 25))
