"""The continuity lookup as a plain async function: auth, identifier checks, PII hashing, the card.

Kept apart from Faust so every answer the API can give is tested without a web server; the Faust
view in :mod:`streams.journeys.web` only copies the request's parts in and the result out.

Order of the checks, and why:

1. No token configured: 503. The API holds personal data, so a missing setting disables it
   instead of leaving it open.
2. Missing or wrong ``Authorization: Bearer <token>``: 401, before anything about the request is
   judged, so an unauthenticated caller learns nothing (not even which identifier types exist).
   The compare is constant-time over SHA-256 digests, so neither the content nor the length of
   the token leaks through timing.
3. Unknown identifier type: 400, with the allowed types.
4. ``email``/``phone`` are raw values a clerk typed: they go through the deployment's PII hasher
   (the SDK's normalisation and HMAC), so the lookup sees exactly the ``hashed_email`` /
   ``hashed_phone`` token the producers put on the wire. Given hashes are lowercased and checked.
   An invalid value is a 400 whose message never repeats the value (it is personal data).
5. The lookup: ``None`` is a 404; an exception (the owning worker is rebalancing or unreachable)
   is a 503 to retry, logged without the value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from producers.pii import PiiHasher, normalise_hash
from schemas.errors import InvalidEventError
from schemas.models.touchpoint import IdentifierType

logger = logging.getLogger(__name__)

#: ``hash_identifier(type, raw) -> (wire type, value)`` for the raw types ``email`` and ``phone``.
IdentifierHasher = Callable[[str, str], tuple[str, str]]

RAW_PII_TYPES: Final = ("email", "phone")
HASHED_TYPES: Final = (IdentifierType.HASHED_EMAIL.value, IdentifierType.HASHED_PHONE.value)
#: What ``{identifier_type}`` may be: every wire type, plus the raw ``email`` and ``phone``.
IDENTIFIER_TYPES: Final = (*RAW_PII_TYPES, *(t.value for t in IdentifierType))
MAX_VALUE_CHARS: Final = 512  # the wire's limit for an identifier value (schemas.models.touchpoint)

Body = dict[str, Any]


class ContinuityLookup(Protocol):
    """Finds the continuity card of whoever holds an identifier (wire type and value)."""

    async def card_for(self, identifier_type: str, value: str) -> dict[str, Any] | None:
        """The card (see :mod:`streams.journeys.card`), or None when nobody holds the identifier."""
        ...


def pii_identifier_hasher(hasher: PiiHasher) -> IdentifierHasher:
    """The :data:`IdentifierHasher` of a deployment's :class:`~producers.pii.PiiHasher`.

    Raises :class:`~schemas.errors.InvalidEventError` (never quoting the value) for a value that
    is not an e-mail address or phone number, and for any other type.
    """

    def hash_identifier(identifier_type: str, raw: str) -> tuple[str, str]:
        if identifier_type == "email":
            return IdentifierType.HASHED_EMAIL.value, hasher.email(raw)
        if identifier_type == "phone":
            return IdentifierType.HASHED_PHONE.value, hasher.phone(raw)
        raise InvalidEventError("only email and phone identifiers are hashed")

    return hash_identifier


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether ``authorization`` is ``Bearer <token>`` (scheme case-insensitive), in constant time."""
    if not authorization:
        return False
    scheme, _, given = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Digests first: compare_digest is constant-time only for equal lengths.
    want = hashlib.sha256(token.encode()).digest()
    got = hashlib.sha256(given.strip().encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(want, got)


def error(code: str, message: str, **extra: Any) -> Body:
    """The JSON body of every non-200 answer: a stable ``error`` code and a sentence for people."""
    return {"error": code, "message": message, **extra}


async def handle_continuity(
    identifier_type: str,
    value: str,
    authorization: str | None,
    *,
    lookup: ContinuityLookup,
    token: str | None,
    hash_identifier: IdentifierHasher,
) -> tuple[int, Body]:
    """Answer ``GET /continuity/{identifier_type}/{value}``: ``(HTTP status, JSON body)``.

    ``value`` is the decoded path segment; ``authorization`` the request's header, if any.
    """
    if not token:
        return 503, error(
            "api_disabled",
            "The continuity API is disabled: no API token is configured (set OMNIJOURNEY_API_TOKEN).",
        )
    if not bearer_matches(authorization, token):
        return 401, error("unauthorized", "Send the header 'Authorization: Bearer <API token>'.")
    if identifier_type not in IDENTIFIER_TYPES:
        return 400, error(
            "unknown_identifier_type",
            "Unknown identifier type; use one of the listed types.",
            allowed=list(IDENTIFIER_TYPES),
        )
    if not value or len(value) > MAX_VALUE_CHARS:
        return 400, error("invalid_identifier", f"The value must have 1 to {MAX_VALUE_CHARS} characters.")
    try:
        wire_type, wire_value = _wire_identifier(identifier_type, value, hash_identifier)
    except (InvalidEventError, ValueError) as exc:
        message = exc.message if isinstance(exc, InvalidEventError) else "not a valid identifier"
        return 400, error("invalid_identifier", f"Not a valid {identifier_type}: {message}.")
    try:
        found = await lookup.card_for(wire_type, wire_value)
    except Exception:
        logger.exception("continuity lookup failed for a %s identifier", wire_type)
        return 503, error(
            "lookup_unavailable", "The worker holding this customer did not answer; try again shortly."
        )
    if found is None:
        return 404, error(
            "not_found", "No customer is known under this identifier.", identifier_type=wire_type
        )
    return 200, jsonable(found)


def _wire_identifier(identifier_type: str, value: str, hash_identifier: IdentifierHasher) -> tuple[str, str]:
    """The identifier as the pipeline stores it: raw PII hashed, given hashes normalised."""
    if identifier_type in RAW_PII_TYPES:
        return hash_identifier(identifier_type, value)
    if identifier_type in HASHED_TYPES:
        return identifier_type, normalise_hash(value)
    return identifier_type, value


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO-8601 UTC strings (ms) and tuples/sets as lists.

    The card is JSON already; the journey the stage attaches may be a raw ``Journey`` record with
    datetimes. Converting here keeps the body identical whichever JSON encoder the server uses.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a continuity card: times are aware UTC")
        return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return value
