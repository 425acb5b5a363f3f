"""The simulated customers: who they are, which identifiers they own, how they tend to behave.

Identifier values are unique by construction (derived from the person's index through a bijection)
rather than drawn at random, so two simulated persons can never collide on an identifier by chance:
any overlap the identity stage finds is a stitching error, never a simulator artefact.
Shared devices (family tablets, store kiosks) are the deliberate exception and are listed apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random
from typing import Final

from producers.simulator.events import hex_id, uuid4
from producers.simulator.world import STORES, Store

FIRST_NAMES: Final = (
    "alessandro",
    "andrea",
    "anna",
    "beatrice",
    "chiara",
    "davide",
    "elena",
    "elisa",
    "federica",
    "francesca",
    "francesco",
    "gabriele",
    "giorgia",
    "giovanni",
    "lorenzo",
    "luca",
    "marco",
    "maria",
    "martina",
    "matteo",
    "michela",
    "nicola",
    "paola",
    "pietro",
    "roberta",
    "sara",
    "silvia",
    "simone",
    "stefano",
    "valentina",
)
LAST_NAMES: Final = (
    "bianchi",
    "bruno",
    "colombo",
    "conti",
    "costa",
    "esposito",
    "ferrari",
    "fontana",
    "gallo",
    "greco",
    "lombardi",
    "mancini",
    "marino",
    "moretti",
    "ricci",
    "rinaldi",
    "romano",
    "russo",
    "barbieri",
    "caruso",
    "deluca",
    "galli",
    "leone",
    "longo",
    "martini",
    "villa",
)
EMAIL_DOMAINS: Final = (
    "gmail.com",
    "libero.it",
    "yahoo.it",
    "hotmail.it",
    "outlook.it",
    "alice.it",
    "tiscali.it",
    "icloud.com",
    "virgilio.it",
    "fastwebnet.it",
)
WORK_DOMAINS: Final = ("studio-legale.example", "azienda.example", "pec.example", "uni.example")

# profile -> (share of customers, registered, loyalty card, app user)
PROFILES: Final = {
    "window_shopper": (0.25, 0.35, 0.25, 0.10),
    "online_buyer": (0.30, 0.90, 0.30, 0.30),
    "store_shopper": (0.20, 0.55, 0.90, 0.10),
    "app_first": (0.15, 1.00, 0.35, 1.00),
    "service_heavy": (0.10, 0.80, 0.40, 0.20),
}
_PROFILE_NAMES: Final = tuple(PROFILES)
_PROFILE_CUM: Final = tuple(sum(v[0] for v in list(PROFILES.values())[: i + 1]) for i in range(len(PROFILES)))
ACTIVITY_LEVELS: Final = (0.08, 0.2, 0.4, 0.8)  # journeys started per day
_ACTIVITY_CUM: Final = (0.35, 0.70, 0.90, 1.0)


@dataclass(slots=True)
class Person:
    """One real human. Email and phone are kept canonical here; events carry raw spellings."""

    person_id: str
    household_id: str
    name: str
    profile: str
    store: Store
    activity: float
    customer_id: str | None = None
    crm_id: str | None = None
    emails: tuple[str, ...] = ()
    phone: str | None = None
    loyalty_id: str | None = None
    cookies: tuple[str, ...] = ()
    device: str | None = None
    ad_id: str | None = None
    family_tablet: str | None = None
    email_optin: bool = False
    scenario: str | None = None

    @property
    def converts(self) -> bool:
        """Window shoppers look, click and read but never buy or pick anything up."""
        return self.profile != "window_shopper"

    def identifiers(self) -> list[tuple[str, str]]:
        """Every identifier this person owns, as (type, canonical value); shared devices excluded."""
        out: list[tuple[str, str]] = []
        for kind, value in (
            ("customer_id", self.customer_id),
            ("crm_id", self.crm_id),
            ("phone", self.phone),
            ("loyalty_id", self.loyalty_id),
            ("device", self.device),
            ("ad_id", self.ad_id),
        ):
            if value is not None:
                out.append((kind, value))
        out.extend(("email", e) for e in self.emails)
        out.extend(("cookie", c) for c in self.cookies)
        return out


def _scramble(index: int, factor: int, modulus: int, offset: int) -> int:
    """A bijection of ``range(modulus)`` (factor coprime with modulus): unique yet not sequential."""
    return (index * factor + 12_345) % modulus + offset


def _pick(cum: tuple[float, ...], roll: float) -> int:
    for i, edge in enumerate(cum):
        if roll < edge:
            return i
    return len(cum) - 1


def make_person(index: int, household: str, last: str, store: Store, rng: Random) -> Person:
    """Draw one population customer; ``index`` makes every identifier value unique."""
    profile = _PROFILE_NAMES[_pick(_PROFILE_CUM, rng.random())]
    _, p_registered, p_loyalty, p_app = PROFILES[profile]
    first = FIRST_NAMES[rng.randrange(len(FIRST_NAMES))]
    person = Person(
        person_id=f"P{index + 1:07d}",
        household_id=household,
        name=f"{first.title()} {last.title()}",
        profile=profile,
        store=store,
        activity=ACTIVITY_LEVELS[_pick(_ACTIVITY_CUM, rng.random())],
    )
    registered = rng.random() < p_registered
    if registered:
        person.customer_id = f"C{_scramble(index, 7_919, 9_000_000, 1_000_000):07d}"
        person.crm_id = f"CRM-{_scramble(index, 104_729, 90_000_000, 10_000_000):08d}"
    if registered or rng.random() < 0.5:
        domain = EMAIL_DOMAINS[rng.randrange(len(EMAIL_DOMAINS))]
        emails = [f"{first}.{last}{index + 1}@{domain}"]
        if rng.random() < 0.08:
            emails.append(f"{first[0]}.{last}.{index + 1}@{WORK_DOMAINS[rng.randrange(len(WORK_DOMAINS))]}")
        person.emails = tuple(emails)
        person.email_optin = rng.random() < 0.6
    if rng.random() < (0.95 if profile == "service_heavy" else 0.6):
        prefix = 40 + rng.randrange(60)  # 3xx mobile prefixes; the scenarios use 33x, never drawn here
        person.phone = f"+393{prefix}{_scramble(index, 7_919, 10_000_000, 0):07d}"
    if rng.random() < p_loyalty:
        person.loyalty_id = f"LOY-{_scramble(index, 104_729, 90_000_000, 10_000_000):08d}"
    person.cookies = tuple(
        hex_id(rng, "ck.") for _ in range(1 + (rng.random() < 0.35) + (rng.random() < 0.1))
    )
    if registered and rng.random() < p_app:
        person.device = f"dev-{uuid4(rng)}"
        if rng.random() < 0.8:
            ad_id = uuid4(rng)
            person.ad_id = ad_id.upper() if rng.random() < 0.5 else ad_id  # IDFA upper, GAID lower
    return person


def build_population(customers: int, rng: Random) -> list[Person]:
    """``customers`` persons grouped into households that share a surname, a city and maybe a tablet."""
    persons: list[Person] = []
    household_no = 0
    while len(persons) < customers:
        household_no += 1
        household = f"H{household_no:07d}"
        size = min(1 + _pick((0.4, 0.7, 0.9, 1.0), rng.random()), customers - len(persons))
        last = LAST_NAMES[rng.randrange(len(LAST_NAMES))]
        store = STORES[rng.randrange(len(STORES))]
        members = [make_person(len(persons) + i, household, last, store, rng) for i in range(size)]
        persons.extend(members)
        if size >= 2 and rng.random() < 0.3:
            # A family tablet: two people log into the shop app on it with their own accounts.
            tablet = hex_id(rng, "tab-")
            for member in members[:2]:
                member.family_tablet = tablet
                if member.customer_id is None:
                    index = int(member.person_id[1:]) - 1
                    member.customer_id = f"C{_scramble(index, 7_919, 9_000_000, 1_000_000):07d}"
                    member.crm_id = f"CRM-{_scramble(index, 104_729, 90_000_000, 10_000_000):08d}"
    return persons
