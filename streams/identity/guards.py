"""Which identifiers may link persons, how strongly, and how many of each a person may have.

Everything here is configuration plus pure functions of one event, so it is order-independent by
construction. The guards that need history (over-linking, per-person limits) are defined in terms
of these settings but applied in :mod:`streams.identity.hops` and :mod:`streams.identity.graph`.

Identifier keys are ``"type:value"`` strings: the state is partitioned by them, so the same
identifier must give the same key on every channel. Values are stripped, and lower-cased for types
whose values are case-insensitive (ad ids are UUIDs that iOS writes upper-case and Android
lower-case; hashes are hex).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple, Protocol

from schemas.errors import InvalidEventError

MAX_VALUE_LEN = 256  # longer "identifiers" are payloads pasted into the wrong field
MAX_IDENTIFIERS = 16  # an event naming more is a bulk export or a bug; the weakest are ignored
# A touchpoint is a few kilobytes; one of megabytes is a pasted file or a runaway attributes map.
# The stage's routing messages carry the event base64-encoded (4/3 of its size), and must stay
# below the broker's message.max.bytes, or the worker could not send them and would stop.
MAX_EVENT_BYTES = 1_048_576


@dataclass(frozen=True, slots=True)
class TypePolicy:
    """How one identifier type behaves.

    ``rank``: lower is stronger; it orders the hops of an event, picks the anchor of a link and
    names the person when two identifiers are first seen at the same instant.
    ``limit``: how many distinct identifiers of this type one person may have. A link that would
    exceed it is dropped (the weaker identifier stays with the person it already belongs to), and
    a shareable identifier seen with more than ``limit`` identifiers of this type is over-linked.
    ``shareable``: whether several people can legitimately use one value (a kiosk, a family
    tablet, a call-center number, a family e-mail or loyalty card). Only shareable identifiers are
    ever over-linked; an account id is never shared by definition, conflicts between account ids
    are settled by the per-person limits instead.
    """

    rank: int
    limit: int
    shareable: bool
    lowercase: bool = False


DEFAULT_TYPES: Mapping[str, TypePolicy] = MappingProxyType(
    {
        "customer_id": TypePolicy(0, 1, shareable=False),
        "crm_id": TypePolicy(1, 1, shareable=False),
        "loyalty_id": TypePolicy(2, 1, shareable=True),
        "hashed_email": TypePolicy(3, 3, shareable=True, lowercase=True),
        "hashed_phone": TypePolicy(4, 2, shareable=True, lowercase=True),
        "device": TypePolicy(5, 5, shareable=True),
        "cookie": TypePolicy(6, 50, shareable=True),
        "ad_id": TypePolicy(7, 5, shareable=True, lowercase=True),
        "other": TypePolicy(8, 10, shareable=True),
    }
)
FALLBACK_TYPE = "other"  # the policy of a type the configuration does not name

# Placeholders that trackers and forms send instead of a real value (compared lower-cased).
DEFAULT_JUNK: frozenset[str] = frozenset(
    {
        "null",
        "none",
        "nil",
        "undefined",
        "anonymous",
        "anon",
        "unknown",
        "nan",
        "n/a",
        "na",
        "-",
        "test",
        "guest",
        "false",
        "true",
        "[object object]",
        "{}",
        "[]",
    }
)
_ZERO_CHARS = frozenset("0-:._ ")

# Raw test addresses; hashed with the deployment key by :func:`hashed_blocklist`.
DEFAULT_TEST_EMAILS: tuple[str, ...] = (
    "test@test.com",
    "test@example.com",
    "test@test.it",
    "a@a.com",
    "noreply@example.com",
    "no-reply@example.com",
    "email@example.com",
)
DEFAULT_TEST_PHONES: tuple[str, ...] = ("+391234567890", "+390000000001", "+11234567890")


@dataclass(frozen=True)
class IdentityPolicy:
    """The identity stage's guards, as plain values built once by the composition root.

    ``blocked_keys`` are exact identifier keys refused on top of the junk rules, typically the
    hashes of test addresses (see :func:`hashed_blocklist`): the stage never sees raw e-mails.
    """

    types: Mapping[str, TypePolicy] = field(default_factory=lambda: DEFAULT_TYPES)
    junk_values: frozenset[str] = DEFAULT_JUNK
    blocked_keys: frozenset[str] = frozenset()
    max_identifiers: int = MAX_IDENTIFIERS
    max_event_bytes: int = MAX_EVENT_BYTES

    def __post_init__(self) -> None:
        if FALLBACK_TYPE not in self.types:
            raise ValueError(f"the identity policy needs a {FALLBACK_TYPE!r} type for unknown types")
        if any(p.limit < 1 for p in self.types.values()):
            raise ValueError("every identifier type must allow at least one identifier per person")
        if self.max_identifiers < 1:
            raise ValueError("max_identifiers must be at least 1")
        if self.max_event_bytes < 1:
            raise ValueError("max_event_bytes must be at least 1")

    def of(self, kind: str) -> TypePolicy:
        """The policy of an identifier type (unknown types behave like ``other``)."""
        policy = self.types.get(kind)
        return self.types[FALLBACK_TYPE] if policy is None else policy

    def rank(self, key: str) -> int:
        return self.of(type_of(key)).rank


DEFAULT_POLICY = IdentityPolicy()


class Screened(NamedTuple):
    """An event's identifiers after the junk guards: usable keys strongest first, and the refused."""

    keys: tuple[str, ...]
    blocked: tuple[tuple[str, str], ...]  # (key, reason)


def type_of(key: str) -> str:
    return key.partition(":")[0]


def value_of(key: str) -> str:
    return key.partition(":")[2]


def key_of(kind: str, value: str, policy: IdentityPolicy = DEFAULT_POLICY) -> str:
    """The state key of an identifier: ``"type:value"``, stripped, lower-cased if the type says so."""
    value = value.strip()
    if policy.of(kind).lowercase:
        value = value.lower()
    return f"{kind}:{value}"


def junk_reason(value: str, policy: IdentityPolicy = DEFAULT_POLICY) -> str | None:
    """Why a (stripped) value cannot identify anyone, or None if it may.

    Control characters are refused too: no real id has them, and the graph uses one as a separator.
    """
    if not value:
        return "empty"
    if len(value) > MAX_VALUE_LEN:
        return "too_long"
    if value.lower() in policy.junk_values:
        return "placeholder"
    if _ZERO_CHARS.issuperset(value):
        return "all_zeros"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "control_characters"
    return None


def screen(identifiers: Iterable[tuple[str, str]], policy: IdentityPolicy = DEFAULT_POLICY) -> Screened:
    """Normalise, deduplicate and guard an event's (type, value) pairs.

    Usable keys come strongest first (rank, then key), the order in which an event visits the
    partitions owning them. Beyond ``max_identifiers`` the weakest are refused as ``too_many``.
    """
    usable: set[str] = set()
    blocked: dict[str, str] = {}
    for kind, raw in identifiers:
        key = key_of(kind, raw, policy)
        reason = junk_reason(value_of(key), policy)
        if reason is None and key in policy.blocked_keys:
            reason = "blocklist"
        if reason is None:
            usable.add(key)
        else:
            blocked.setdefault(key, reason)
    ordered = sorted(usable, key=lambda k: (policy.rank(k), k))
    for key in ordered[policy.max_identifiers :]:
        blocked[key] = "too_many"
    return Screened(tuple(ordered[: policy.max_identifiers]), tuple(sorted(blocked.items())))


def usable_or_raise(
    identifiers: Iterable[tuple[str, str]], policy: IdentityPolicy = DEFAULT_POLICY
) -> Screened:
    """:func:`screen`, raising :class:`InvalidEventError` (to dead-letter) when nothing is usable."""
    screened = screen(identifiers, policy)
    if not screened.keys:
        reason = "no usable identifier (all empty, placeholders or blocked)"
        raise InvalidEventError(reason, field="identifiers")
    return screened


class PiiHashing(Protocol):
    """What :class:`producers.pii.PiiHasher` offers: normalise and HMAC one raw value."""

    def email(self, raw: str) -> str: ...

    def phone(self, raw: str) -> str: ...


def hashed_blocklist(
    hasher: PiiHashing,
    emails: Iterable[str] = DEFAULT_TEST_EMAILS,
    phones: Iterable[str] = DEFAULT_TEST_PHONES,
    policy: IdentityPolicy = DEFAULT_POLICY,
) -> frozenset[str]:
    """Keys of test addresses and numbers as they appear on the wire, for ``blocked_keys``.

    The identity stage only sees HMAC hashes, so the blocklist must be hashed with the same
    deployment key as the producers used.
    """
    keys = {key_of("hashed_email", hasher.email(e), policy) for e in emails}
    keys |= {key_of("hashed_phone", hasher.phone(p), policy) for p in phones}
    return frozenset(keys)
