"""Planning an erasure, the journey stage's hooks and the receipt, without a broker."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from producers.pii import PiiHasher
from schemas.errors import OmnijourneyError
from schemas.models import SuppressionSubject
from streams.privacy.command import wire_identifier
from streams.privacy.guard import PrivacyGuard
from streams.privacy.plan import make_plan, person_subjects, suppressions, without_live
from streams.privacy.receipt import Receipt, render
from streams.privacy.stage_hooks import JourneyPrivacy
from streams.settings import load_settings

WHOIS = {
    "key": "customer_id:C-1",
    "person_id": "p-new",
    "status": "linked",
    "members": [{"key": "customer_id:C-1"}, {"key": "cookie:ck-9"}],
    "merges": [["p-old", "p-new", "e1", 5, "linked_by_event"]],
}


def test_the_plan_holds_every_identifier_and_person_id_of_the_person() -> None:
    identifiers, persons = person_subjects("customer_id:C-1", WHOIS)
    assert identifiers == ("cookie:ck-9", "customer_id:C-1")
    assert persons == ("p-new", "p-old")
    plan = make_plan("customer_id:C-1", WHOIS, ["p-store"], erasure_id="e-1")
    assert plan.persons == ("p-new", "p-old", "p-store")
    assert plan.survivor == "p-new"
    assert plan.subjects == 5


def test_an_unknown_identifier_is_still_erased_with_what_the_store_knows() -> None:
    plan = make_plan("cookie:ck-1", {"key": "cookie:ck-1", "status": "unknown", "person_id": None}, ["p-s"])
    assert plan.identifiers == ("cookie:ck-1",)
    assert plan.persons == ("p-s",)
    assert plan.survivor is None


def test_a_person_id_that_still_names_someone_else_is_never_erased() -> None:
    labels = {"customer_id:C-1": "p-new", "cookie:ck-9": "p-new", "customer_id:C-2": "p-old"}
    assert without_live(["p-new", "p-old"], ["customer_id:C-1", "cookie:ck-9"], labels) == ("p-new",)


def test_one_suppression_record_per_identifier_and_person() -> None:
    plan = make_plan("customer_id:C-1", WHOIS, erasure_id="00000000-0000-0000-0000-000000000001")
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    records = suppressions(plan, at)
    assert [r.key for r in records] == [
        "identifier:cookie:ck-9",
        "identifier:customer_id:C-1",
        "person:p-new",
        "person:p-old",
    ]
    assert {r.subjects for r in records} == {4}
    assert {r.subject for r in records} == {SuppressionSubject.IDENTIFIER, SuppressionSubject.PERSON}


def test_a_raw_email_or_phone_is_hashed_exactly_as_the_sdk_hashes_it() -> None:
    settings = load_settings({"OMNIJOURNEY_PII_HASH_KEY": "k" * 40})
    hasher = PiiHasher(b"k" * 40, settings.phone_country_code)
    assert wire_identifier(settings, "email", " Anna.Rossi@Example.COM ") == (
        "hashed_email",
        hasher.email("anna.rossi@example.com"),
    )
    assert wire_identifier(settings, "phone", "333 123 4567") == (
        "hashed_phone",
        hasher.phone("+393331234567"),
    )
    assert wire_identifier(settings, "cookie", "ck-1") == ("cookie", "ck-1")


class Table(dict[str, object]):
    """What the hooks use of a Faust table."""


def test_the_journey_stage_forgets_a_person_and_drops_their_later_records() -> None:
    guard = PrivacyGuard({}, "t.privacy.suppressions", codec=None)  # type: ignore[arg-type]
    hooks = JourneyPrivacy(guard)
    persons, index = Table({"p-1": {"journey": 1}, "p-2": {"journey": 2}}), Table({"cookie:ck-1": "p-1"})
    assert not hooks.drops(("p-1",), (("cookie", "ck-1"),))
    assert hooks.erase(persons, "p-1")
    assert not hooks.erase(persons, "p-1")  # a replayed erasure finds nothing
    assert persons == {"p-2": {"journey": 2}}
    assert hooks.drops(("p-1",))
    assert not hooks.drops(("p-2",))
    assert hooks.index(index, "cookie:ck-1", b"")  # the index entry's tombstone
    assert index == {}
    assert hooks.index(index, "cookie:ck-2", b"p-1")  # a late entry of the erased person: not written
    assert not hooks.index(index, "cookie:ck-3", b"p-2")


def test_the_guard_is_ready_at_once_when_it_was_given_its_list() -> None:
    guard = PrivacyGuard({}, "t.privacy.suppressions", codec=None)  # type: ignore[arg-type]
    guard.add_local(["cookie:ck-1"], [])
    assert guard.any_key(["cookie:CK-1"])
    assert guard.reader is None  # nothing read from Kafka until an agent asks


RECEIPT = Receipt(
    erasure_id="e-1",
    dry_run=True,
    requested="hashed_email:ab",
    identifiers=["cookie:ck-1", "hashed_email:ab"],
    persons=["p-1", "p-2"],
    survivor="p-1",
    state={"identity-identifiers": 2},
    rows={"touchpoints": 3, "journeys": 1},
    suppressions=4,
    suppression_topic="privacy.suppressions",
)


def test_the_receipt_lists_everything_and_says_when_nothing_changed() -> None:
    text = render(RECEIPT)
    assert "DRY RUN" in text
    assert "would remove" in text
    for item in ("cookie:ck-1", "hashed_email:ab", "p-1  survivor", "p-2", "identity-identifiers  2"):
        assert item in text
    assert "total  4" in text
    assert json.loads(RECEIPT.to_json())["rows"] == {"touchpoints": 3, "journeys": 1}
    assert "PENDING" in render(dataclasses.replace(RECEIPT, dry_run=False))  # the sink has not applied it yet


def test_a_shared_identifier_is_refused_because_it_names_nobody() -> None:
    kiosk = {"key": "device:kiosk-1", "person_id": "p-shared", "status": "over_linked", "members": []}
    with pytest.raises(OmnijourneyError, match="shared by several people"):
        make_plan("device:kiosk-1", kiosk)
