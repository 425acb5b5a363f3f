"""Who is erased: from one identifier to every identifier and person id of its person.

The identity state is the authority on a person's identifiers (``whois`` members: identifiers
that are over-linked, such as a store kiosk, belong to nobody and are never erased with one
person). Person ids come from the state (the person and the merges into it) and from the store
(persons that touchpoints carrying the identifier were resolved to, and every alias that the
sink recorded as merged into one of them), so a person the state no longer knows is still found.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from schemas.errors import OmnijourneyError
from schemas.models.suppression import Suppression, SuppressionSubject
from sinks.erasure import quote


@dataclass(frozen=True)
class ErasurePlan:
    erasure_id: str
    requested: str  # the identifier key asked for
    identifiers: tuple[str, ...]  # keys "type:value", values as on the wire
    persons: tuple[str, ...]
    survivor: str | None  # the person the identity state names now

    @property
    def subjects(self) -> int:
        return len(self.identifiers) + len(self.persons)


def person_subjects(key: str, whois: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Identifiers and person ids of ``key``'s person, from a whois answer (JSON)."""
    identifiers = {key} | {str(m["key"]) for m in whois.get("members", ())}
    persons = {str(whois["person_id"])} if whois.get("person_id") else set()
    persons |= {str(m[0]) for m in whois.get("merges", ())}
    return tuple(sorted(identifiers)), tuple(sorted(persons))


def without_live(
    persons: Iterable[str], identifiers: Iterable[str], labels: dict[str, str]
) -> tuple[str, ...]:
    """``persons`` minus those that still name some identifier not being erased.

    A merge history is not a list of dead ids: with late evidence an id can be merged away and
    named again (its oldest identifier is the same), or its identifiers split between persons. A
    person id that labels someone else's identifier in the cluster root (``labels``) is that
    person's, and suppressing it would silently drop their events, so it is never erased.
    """
    erased = set(identifiers)
    live = {p for k, p in labels.items() if k not in erased}
    return tuple(sorted(set(persons) - live))


def store_persons_sql(identifiers: Iterable[str]) -> str:
    """Person ids that touchpoints carrying any of ``identifiers`` were resolved to."""
    pairs = ", ".join(f"({quote(t)}, {quote(v)})" for t, _, v in (k.partition(":") for k in identifiers))
    return (
        "SELECT DISTINCT person_id FROM touchpoints FINAL WHERE arrayExists((t, v) -> "
        f"(toString(t), lower(trimBoth(v))) IN [{pairs}], identifier_types, identifier_values)"
    )


def aliases_sql(persons: Iterable[str]) -> str:
    """Every person id merged (directly or through a chain) into one of ``persons``, or they into."""
    names = ", ".join(quote(p) for p in persons)
    return (
        "SELECT person_id, survivor_person_id FROM v_person_aliases "
        f"WHERE survivor_person_id IN [{names}] OR person_id IN [{names}]"
    )


def make_plan(
    key: str, whois: dict[str, Any], store_persons: Iterable[str] = (), erasure_id: str | None = None
) -> ErasurePlan:
    """The plan for ``key``; refuses a shared identifier (a kiosk, a family tablet): suppressing
    it would drop everyone's events that carry it, so a person is erased by one of their own."""
    if whois.get("status") == "over_linked":
        raise OmnijourneyError(
            f"{key} is shared by several people (over-linked), so it names nobody to erase; "
            "give one of the person's own identifiers"
        )
    identifiers, persons = person_subjects(key, whois)
    everyone = sorted(set(persons) | set(store_persons))
    return ErasurePlan(
        erasure_id or str(uuid.uuid4()),
        key,
        identifiers,
        tuple(everyone),
        str(whois["person_id"]) if whois.get("person_id") else None,
    )


def suppressions(plan: ErasurePlan, requested_at: Any) -> list[Suppression]:
    """The suppression records of a plan: one per identifier and one per person id."""
    common = {"erasure_id": plan.erasure_id, "subjects": plan.subjects, "requested_at": requested_at}
    records = [
        Suppression(subject=SuppressionSubject.IDENTIFIER, identifier_type=t, value=v, **common)
        for t, _, v in (k.partition(":") for k in plan.identifiers)
    ]
    records += [Suppression(subject=SuppressionSubject.PERSON, value=p, **common) for p in plan.persons]
    return records
