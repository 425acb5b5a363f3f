"""Identity guards: junk values, blocklists, normalised keys, hop order, policy validation."""

from __future__ import annotations

import pytest

from producers.pii import PiiHasher
from schemas.errors import InvalidEventError
from streams.identity.guards import (
    DEFAULT_POLICY,
    IdentityPolicy,
    TypePolicy,
    hashed_blocklist,
    junk_reason,
    key_of,
    screen,
    usable_or_raise,
)

HASHER = PiiHasher(b"identity-guard-test-key-0123456789", "39")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("null", "placeholder"),
        ("NULL", "placeholder"),
        ("undefined", "placeholder"),
        ("Anonymous", "placeholder"),
        ("00000000-0000-0000-0000-000000000000", "all_zeros"),
        ("0", "all_zeros"),
        ("00:00:00:00", "all_zeros"),
        ("ck\x00evil", "control_characters"),
        ("x" * 300, "too_long"),
    ],
)
def test_junk_values_are_refused_with_a_reason(value: str, reason: str) -> None:
    assert junk_reason(value) == reason


@pytest.mark.parametrize("value", ["ck.5a1f0e3c9b2d4e60", "C1000123", "LOY-00003001", "0a", "10"])
def test_real_values_pass(value: str) -> None:
    assert junk_reason(value) is None


def test_screen_orders_strongest_first_and_deduplicates_spellings() -> None:
    ad = "6F9619FF-8B86-D011-B42D-00C04FC964FF"
    screened = screen(
        [("cookie", " ck1 "), ("ad_id", ad), ("customer_id", "C7"), ("ad_id", ad.lower()), ("cookie", "ck1")]
    )
    assert screened.keys == ("customer_id:C7", "cookie:ck1", f"ad_id:{ad.lower()}")
    assert screened.blocked == ()


def test_screen_reports_what_it_refuses() -> None:
    screened = screen([("cookie", "null"), ("device", "0000"), ("customer_id", "C7")])
    assert screened.keys == ("customer_id:C7",)
    assert dict(screened.blocked) == {"cookie:null": "placeholder", "device:0000": "all_zeros"}


def test_nothing_usable_is_an_invalid_event_naming_the_field() -> None:
    with pytest.raises(InvalidEventError) as info:
        usable_or_raise([("cookie", "undefined"), ("device", " ")])
    assert info.value.field == "identifiers"


def test_hashed_test_addresses_are_blocked_however_typed() -> None:
    policy = IdentityPolicy(blocked_keys=hashed_blocklist(HASHER))
    typed = HASHER.email("  Test@Example.COM ")
    real = HASHER.email("giulia.rossi@example.it")
    screened = screen([("hashed_email", typed), ("hashed_email", real)], policy)
    assert screened.keys == (key_of("hashed_email", real),)
    assert screened.blocked == ((key_of("hashed_email", typed), "blocklist"),)


def test_beyond_the_maximum_the_weakest_identifiers_are_refused() -> None:
    policy = IdentityPolicy(max_identifiers=2)
    screened = screen([("cookie", "a"), ("cookie", "b"), ("customer_id", "C1"), ("ad_id", "z")], policy)
    assert screened.keys == ("customer_id:C1", "cookie:a")
    assert dict(screened.blocked) == {"cookie:b": "too_many", "ad_id:z": "too_many"}


def test_unknown_types_behave_like_other() -> None:
    assert DEFAULT_POLICY.of("fax_number") == DEFAULT_POLICY.of("other")
    assert screen([("fax_number", "1"), ("device", "d")]).keys == ("device:d", "fax_number:1")


def test_policy_without_a_fallback_type_or_with_a_zero_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="other"):
        IdentityPolicy(types={"cookie": TypePolicy(0, 5, shareable=True)})
    with pytest.raises(ValueError, match="at least one"):
        IdentityPolicy(types={"other": TypePolicy(0, 0, shareable=True)})
