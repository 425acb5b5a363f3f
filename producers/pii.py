"""Normalisation and keyed hashing of personal identifiers (email, phone).

Identity stitching only works if every channel turns the same person's email or phone into the
same token, so normalisation is as important as the hash: ``" Anna.Rossi@Example.COM "`` typed in a
store and ``anna.rossi@example.com`` from the web shop must meet. The token is an HMAC-SHA256 with
a deployment secret rather than a bare SHA-256, so a leaked topic cannot be reversed by hashing a
list of known addresses.

Error messages never repeat the offending value: they end up in logs and dead letters, and the
value is exactly the personal data this module exists to keep out of them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from schemas.errors import InvalidEventError

HASH_HEX_LEN = 64  # hex digits of SHA-256
E164_MAX_DIGITS = 15  # ITU-T E.164: country code + national number
PHONE_MIN_DIGITS = 7  # shorter than any real subscriber number with its country code

# Countries whose national numbers keep their leading 0 after the country code (+39 02 ... for a
# Milan landline). Everywhere else a leading 0 is a trunk prefix that E.164 drops (+44 20 ...).
_KEEPS_LEADING_ZERO = frozenset({"39", "378", "225"})

# Lone surrogates are refused too: UTF-8 cannot carry them, so they could be neither hashed nor sent.
_EMAIL = re.compile(
    r"[^\s\x00-\x1f\x7f\ud800-\udfff@<>()\[\],;:\"\\]{1,64}"
    r"@(?:[^\s\x00-\x1f\x7f\ud800-\udfff@<>()\[\],;:\"\\.]+\.)+[^\s\x00-\x1f\x7f\ud800-\udfff@<>()\[\],;:\"\\.]{2,}",
)
_PHONE_SEPARATORS = str.maketrans("", "", " \t-.()/")
_PHONE_SEPARATOR_BYTES = b" \t-.()/"
_HEX = frozenset("0123456789abcdef")
# HMAC (RFC 2104) over SHA-256: the key, padded to the 64-byte block, XORed with these pads.
_BLOCK = 64
_INNER_PAD = bytes(b ^ 0x36 for b in range(256))
_OUTER_PAD = bytes(b ^ 0x5C for b in range(256))


def normalise_email(raw: str) -> str:
    """NFKC, trimmed, lowercased email; raises :class:`InvalidEventError` if it is not plausibly one.

    Plausible means one ``@``, a non-empty local part and a dotted domain, no whitespace or
    address-list punctuation. Sub-addressing and dots are kept: whether ``a.b+x@`` and ``ab@``
    are the same mailbox depends on the provider, and guessing wrong would merge two people.
    """
    value = unicodedata.normalize("NFKC", raw).strip().lower()
    if len(value) > 254 or _EMAIL.fullmatch(value) is None:
        raise InvalidEventError("not a plausible email address (expected local@domain.tld, no spaces)")
    return value


def normalise_phone(raw: str, default_country_code: str) -> str:
    """The number in E.164 form (``+`` and digits); raises :class:`InvalidEventError` otherwise.

    Spaces, dashes, dots, slashes and parentheses are dropped; ``+`` or the ``00`` international
    prefix mean the country code is present; anything else is a national number and gets
    ``default_country_code`` (after dropping a trunk ``0`` where that country dials one).
    """
    value = strip_phone(raw)
    if value.startswith("+"):
        digits = value[1:]
    elif value.startswith("00"):
        digits = value[2:]
    else:
        national = value
        if national.startswith("0") and default_country_code not in _KEEPS_LEADING_ZERO:
            national = national[1:]
        digits = default_country_code + national
    if digits and not (digits.isascii() and digits.isdigit()):
        raise InvalidEventError("phone number has characters other than digits and separators")
    if digits.startswith("0"):
        raise InvalidEventError("phone number has no valid country code")
    if not PHONE_MIN_DIGITS <= len(digits) <= E164_MAX_DIGITS:
        raise InvalidEventError(
            f"phone number has {len(digits)} digits; E.164 allows {PHONE_MIN_DIGITS}-{E164_MAX_DIGITS}"
        )
    return "+" + digits


def strip_phone(raw: str) -> str:
    """NFKC, trimmed, without separators: a phone number's text before its digits are read."""
    if raw.isascii():  # NFKC leaves ASCII as it is, and bytes delete ~3x faster than str translates
        return raw.strip().encode().translate(None, _PHONE_SEPARATOR_BYTES).decode()
    return unicodedata.normalize("NFKC", raw).strip().translate(_PHONE_SEPARATORS)


def normalise_hash(value: str) -> str:
    """A hash computed elsewhere, lowercased; raises unless it is 64 hex digits.

    This is also the last line of defence against raw PII sent under a ``hashed_*`` type.
    """
    lowered = value.lower()
    if len(lowered) != HASH_HEX_LEN or not _HEX.issuperset(lowered):
        raise InvalidEventError(f"a hashed identifier must be {HASH_HEX_LEN} hex digits")
    return lowered


class PiiHasher:
    """Normalises and HMAC-hashes emails and phones with one deployment key.

    HMAC is computed from two SHA-256 states primed once with the key's inner and outer pads
    (RFC 2104), each copied per value: half the cost of copying an ``hmac.HMAC`` object, which
    matters on a producer's first sight of every customer. Recent results are kept in a bounded
    cache because the same customers recur event after event; the cache lives only in this
    process, which holds the raw values anyway.
    """

    def __init__(self, key: bytes, default_country_code: str, cache_size: int = 65_536) -> None:
        if not key:
            raise ValueError("the PII HMAC key must not be empty")
        block = (hashlib.sha256(key).digest() if len(key) > _BLOCK else key).ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(block.translate(_INNER_PAD))
        self._outer = hashlib.sha256(block.translate(_OUTER_PAD))
        self.default_country_code = default_country_code
        self._cache_size = cache_size
        self._emails: dict[str, str] = {}
        self._phones: dict[str, str] = {}
        self._tokens: dict[str, str] = {}

    def hmac_hex(self, normalised: str) -> str:
        """Lowercase hex HMAC-SHA256 of an already normalised value.

        Cached by normalised value too: the raw caches miss on every new spelling of one
        address or number (``Anna@X.it``, ``anna@x.it ``), which then costs a dictionary lookup
        instead of two SHA-256 passes.
        """
        digest = self._tokens.get(normalised)
        if digest is None:
            inner = self._inner.copy()
            inner.update(normalised.encode())
            outer = self._outer.copy()
            outer.update(inner.digest())
            digest = outer.hexdigest()
            if len(self._tokens) >= self._cache_size:
                self._tokens.clear()
            self._tokens[normalised] = digest
        return digest

    def email(self, raw: str) -> str:
        """Hash of the normalised email; :class:`InvalidEventError` if it is not one."""
        digest = self._emails.get(raw)
        if digest is None:
            digest = self.hmac_hex(normalise_email(raw))
            if len(self._emails) >= self._cache_size:
                self._emails.clear()
            self._emails[raw] = digest
        return digest

    def phone(self, raw: str) -> str:
        """Hash of the E.164 phone number; :class:`InvalidEventError` if it is not one."""
        digest = self._phones.get(raw)
        if digest is None:
            digest = self.hmac_hex(normalise_phone(raw, self.default_country_code))
            if len(self._phones) >= self._cache_size:
                self._phones.clear()
            self._phones[raw] = digest
        return digest
