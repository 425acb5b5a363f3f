"""Which kind of journey a customer starts, by profile.

Weights are relative within a profile. Window shoppers get no buying journeys at all (and never
convert inside the ones they have), store shoppers lean on the store and reservations, app-first
customers on the app, service-heavy customers on customer service.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate
from random import Random
from typing import Final

from producers.simulator.assisted import reservation, service_case, store_visit
from producers.simulator.digital import ad_journey, app_session, browse, email_campaign, social, web_purchase
from producers.simulator.journey import Journey

KINDS: Final[dict[str, Callable[[Journey], None]]] = {
    "browse": browse,
    "web_purchase": web_purchase,
    "app_session": app_session,
    "ad_journey": ad_journey,
    "social": social,
    "email_campaign": email_campaign,
    "service_case": service_case,
    "reservation": reservation,
    "store_visit": store_visit,
}

PROFILE_KIND_WEIGHTS: Final[dict[str, dict[str, float]]] = {
    "window_shopper": {"browse": 4, "ad_journey": 2, "social": 3, "email_campaign": 2, "app_session": 1},
    "online_buyer": {
        "browse": 3,
        "web_purchase": 3,
        "app_session": 2,
        "ad_journey": 2,
        "social": 1,
        "email_campaign": 2,
        "service_case": 0.7,
        "reservation": 0.5,
        "store_visit": 0.5,
    },
    "store_shopper": {
        "browse": 1.5,
        "web_purchase": 0.5,
        "ad_journey": 1,
        "social": 0.5,
        "email_campaign": 1.5,
        "service_case": 0.5,
        "reservation": 1.5,
        "store_visit": 3,
    },
    "app_first": {
        "app_session": 5,
        "browse": 1,
        "web_purchase": 1,
        "ad_journey": 1,
        "social": 2,
        "email_campaign": 1,
        "service_case": 0.5,
        "reservation": 0.5,
        "store_visit": 1,
    },
    "service_heavy": {
        "service_case": 3,
        "browse": 2,
        "web_purchase": 1.5,
        "email_campaign": 1,
        "store_visit": 1,
        "reservation": 0.5,
    },
}

_TABLES: Final = {
    profile: (tuple(weights), tuple(accumulate(weights.values())))
    for profile, weights in PROFILE_KIND_WEIGHTS.items()
}


def choose_kind(profile: str, rng: Random) -> str:
    names, cum = _TABLES[profile]
    return names[min(bisect_right(cum, rng.random() * cum[-1]), len(names) - 1)]
