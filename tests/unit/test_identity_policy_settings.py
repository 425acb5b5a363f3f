"""The identity guards as operators configure them: limits, junk values and test addresses."""

from __future__ import annotations

import pytest

from producers.pii import PiiHasher
from schemas.errors import ConfigError
from streams.identity.guards import DEFAULT_POLICY, screen
from streams.settings import load_settings
from streams.wiring import identity_policy

KEY = "policy-test-key-0123456789abcdef"


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings(
        {"OMNIJOURNEY_PII_HASH_KEY": KEY, **{f"OMNIJOURNEY_{k.upper()}": v for k, v in env.items()}}
    )


def test_limits_override_only_the_types_named() -> None:
    policy = identity_policy(settings(identity_limits="cookie=20,device=3"))
    assert policy.of("cookie").limit == 20
    assert policy.of("device").limit == 3
    assert policy.of("hashed_email") == DEFAULT_POLICY.of("hashed_email")


def test_an_unknown_identifier_type_is_a_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="'fax_number'"):
        identity_policy(settings(identity_limits="fax_number=2"))


def test_malformed_limits_are_refused_at_start() -> None:
    with pytest.raises(ConfigError):
        settings(identity_limits="cookie=lots")


def test_extra_junk_values_never_link() -> None:
    policy = identity_policy(settings(identity_junk_values="Sconosciuto, xxx"))
    refused = screen([("cookie", "sconosciuto"), ("cookie", "XXX"), ("cookie", "ck.real")], policy)
    assert refused.keys == ("cookie:ck.real",)
    assert {key for key, _ in refused.blocked} == {"cookie:sconosciuto", "cookie:XXX"}  # cookies keep case


def test_test_addresses_are_blocked_as_the_wire_carries_them() -> None:
    policy = identity_policy(
        settings(identity_test_emails="qa@shop.example", identity_test_phones="+39 333 000 0000")
    )
    hasher = PiiHasher(KEY.encode(), "39")
    wire = [
        ("hashed_email", hasher.email("QA@Shop.example ")),
        ("hashed_phone", hasher.phone("333 000 0000")),
        ("hashed_email", hasher.email("test@example.com")),  # a default test address
        ("hashed_email", hasher.email("giulia@example.it")),
    ]
    screened = screen(wire, policy)
    assert screened.keys == (f"hashed_email:{hasher.email('giulia@example.it')}",)
    assert len(screened.blocked) == 3
