"""PII normalisation and keyed hashing: the same person's email or phone always meets itself."""

from __future__ import annotations

import hashlib
import hmac
import string
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from producers.pii import PiiHasher, normalise_email, normalise_hash, normalise_phone, strip_phone
from schemas.errors import InvalidEventError

KEY = b"unit-test-key-0123456789abcdef"

_local = st.text(alphabet=string.ascii_lowercase + string.digits + "._+-", min_size=1, max_size=24)
_label = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)
_tld = st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=6)
emails = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
    _local,
    st.lists(_label, min_size=1, max_size=3),
    _tld,
)
whitespace = st.text(alphabet=" \t\n\u00a0", max_size=4)
italian_mobiles = st.from_regex(r"3[0-9]{9}", fullmatch=True)


def reference_hmac(key: bytes, normalised: str) -> str:
    """The contract, computed independently: hex HMAC-SHA256 of the normalised value."""
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


def recase(text: str, flips: list[bool]) -> str:
    return "".join(
        c.upper() if flip else c for c, flip in zip(text, flips + [False] * len(text), strict=False)
    )


@given(emails, st.lists(st.booleans(), max_size=60), whitespace, whitespace)
def test_case_and_surrounding_whitespace_do_not_change_the_email_hash(
    email: str, flips: list[bool], before: str, after: str
) -> None:
    hasher = PiiHasher(KEY, "39")
    typed = before + recase(email, flips) + after
    assert hasher.email(typed) == hasher.email(email) == reference_hmac(KEY, email)


@given(emails, emails)
def test_different_emails_hash_differently(first: str, second: str) -> None:
    assume(first != second)
    hasher = PiiHasher(KEY, "39")
    assert hasher.email(first) != hasher.email(second)


@given(italian_mobiles)
def test_phone_formats_normalise_to_one_e164_number(national: str) -> None:
    expected = "+39" + national
    formats = [
        f"+39 {national[:3]} {national[3:6]} {national[6:]}",
        f"0039-{national[:3]}-{national[3:]}",
        f"({national[:3]}) {national[3:6]}.{national[6:]}",
        national,
        f" +39/{national} ",
    ]
    assert {normalise_phone(text, "39") for text in formats} == {expected}
    hasher = PiiHasher(KEY, "39")
    assert {hasher.phone(text) for text in formats} == {reference_hmac(KEY, expected)}


def test_the_documented_examples_meet() -> None:
    numbers = ["+39 333 123 4567", "0039-333-1234567", "(333) 123.4567"]
    assert {normalise_phone(n, "39") for n in numbers} == {"+393331234567"}


@given(st.one_of(emails, italian_mobiles))
def test_hashes_are_64_lowercase_hex(value: str) -> None:
    hasher = PiiHasher(KEY, "39")
    digest = hasher.email(value) if "@" in value else hasher.phone(value)
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")


@given(emails, st.binary(min_size=16, max_size=64), st.binary(min_size=16, max_size=64))
def test_the_key_matters(email: str, key_a: bytes, key_b: bytes) -> None:
    assume(key_a != key_b)
    assert PiiHasher(key_a, "39").email(email) != PiiHasher(key_b, "39").email(email)


def test_repeated_values_hash_the_same_after_the_cache_is_cleared() -> None:
    hasher = PiiHasher(KEY, "39", cache_size=2)
    first = [hasher.email(f"user{i}@example.com") for i in range(5)]
    again = [hasher.email(f"user{i}@example.com") for i in range(5)]
    assert first == again == [reference_hmac(KEY, f"user{i}@example.com") for i in range(5)]


def test_email_is_nfkc_normalised() -> None:
    # Fullwidth letters (as typed on some mobile keyboards) are the same address.
    fullwidth = "\uff21\uff2e\uff2e\uff21@Example.\uff23\uff2f\uff2d"  # "ANNA@Example.COM" in fullwidth
    assert normalise_email(fullwidth) == "anna@example.com"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "anna",
        "anna@",
        "@example.com",
        "anna@example",
        "anna@@example.com",
        "anna rossi@example.com",
        "anna@example..com",
        "anna@.example.com",
        "anna@example.c",
        "<anna@example.com>",
        "anna@exa mple.com",
        "a,b@example.com",
        "anna\x00@example.com",
        "x" * 65 + "@example.com",
    ],
)
def test_implausible_emails_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        normalise_email(text)
    if text:
        assert text not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "+",
        "112",
        "1234",
        "+39 333 abc 4567",
        "333-123-4567 ext 12",
        "+39 3331234567890123",
        "+0039333123",
        "++393331234567",
        "#31#3331234567",
    ],
)
def test_implausible_phones_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        normalise_phone(text, "39")
    if len(text) > 3:
        assert text not in str(caught.value)


def test_italian_landlines_keep_their_leading_zero() -> None:
    assert (
        normalise_phone("02 1234 5678", "39") == normalise_phone("+39 02 1234 5678", "39") == "+390212345678"
    )


def test_elsewhere_the_trunk_zero_is_dropped() -> None:
    assert (
        normalise_phone("020 7946 0958", "44") == normalise_phone("+44 20 7946 0958", "39") == "+442079460958"
    )


def test_hashes_given_by_a_channel_are_lowercased_and_checked() -> None:
    digest = "AB" * 32
    assert normalise_hash(digest) == "ab" * 32
    for bad in ["ab" * 31, "ab" * 33, "zz" * 32, "anna@example.com"]:
        with pytest.raises(InvalidEventError):
            normalise_hash(bad)


@given(st.binary(min_size=1, max_size=200), st.text(max_size=80))
def test_the_hmac_is_rfc_2104_hmac_sha256_for_any_key(key: bytes, value: str) -> None:
    # Keys longer than SHA-256's 64-byte block are hashed first; shorter ones padded.
    assert PiiHasher(key, "39").hmac_hex(value) == reference_hmac(key, value)


@pytest.mark.parametrize("raw", ["a\ud800b@example.com", "ab@exa\udfffmple.com"])
def test_an_email_utf8_cannot_carry_is_refused_as_invalid(raw: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        PiiHasher(KEY, "39").email(raw)
    assert raw not in str(caught.value)


@given(st.text(alphabet=st.characters(max_codepoint=127)) | st.text())
def test_phone_text_is_stripped_alike_on_the_ascii_shortcut(raw: str) -> None:
    assert strip_phone(raw) == unicodedata.normalize("NFKC", raw).strip().translate(
        str.maketrans("", "", " \t-.()/")
    )


def test_hashes_stay_right_when_the_token_cache_starts_over() -> None:
    hasher = PiiHasher(KEY, "39", cache_size=2)
    values = [f"+39333000000{i}" for i in range(5)]
    for _ in range(2):
        assert [hasher.hmac_hex(v) for v in values] == [reference_hmac(KEY, v) for v in values]
