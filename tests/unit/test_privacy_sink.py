"""The sink's suppression screening and the suppression list, without Kafka or ClickHouse.

A suppressed record is not written but its offset is still committed (it is not a dead letter,
and a sink that never committed it would show lag forever); everything else passes untouched.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from schemas.codec import Codec
from schemas.models import ResolvedTouchpoint, Suppression, SuppressionSubject
from schemas.topics import TopicNames
from sinks.batch import Batch
from sinks.erasure import ERASABLE, Subjects, conditions
from sinks.privacy import SinkPrivacy
from sinks.routing import Router
from sinks.suppressions import SuppressionList, SuppressionReader
from streams.admin import pipeline_topics, topic_config
from tests.integration.sink_helpers import FakeMessage, by_topic, encode, messages

TOPICS = TopicNames("t.")
NOW = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def suppression(subject: str, value: str, kind: str | None = None) -> Suppression:
    return Suppression(
        subject=SuppressionSubject(subject),
        identifier_type=kind,
        value=value,
        erasure_id=uuid.UUID(int=7),
        subjects=2,
        requested_at=NOW,
    )


def privacy(codec: Codec, *records: Suppression) -> SinkPrivacy:
    reader = SuppressionReader({}, TOPICS.suppressions, codec, consumer=object())
    for record in records:
        reader.suppressions.add(record)
    return SinkPrivacy({}, TOPICS, codec, reader=reader)


def test_without_suppressions_every_message_passes(codec: Codec) -> None:
    sent = messages(codec, by_topic(TOPICS, 20, seed=1))
    batch = Batch(1000, 1000)
    assert privacy(codec).screen(batch, sent) == sent
    assert batch.empty


def test_records_of_a_suppressed_person_or_identifier_are_dropped_and_still_committed(codec: Codec) -> None:
    records = by_topic(TOPICS, 30, seed=2)
    touchpoints: list[ResolvedTouchpoint] = records[TOPICS.resolved]  # type: ignore[assignment]
    victim = touchpoints[3]
    email = next(i.value for i in touchpoints[1].touchpoint.identifiers if i.type.value == "hashed_email")
    guard = privacy(
        codec,
        suppression("person", victim.person_id),
        suppression("identifier", email.upper(), "hashed_email"),
    )
    sent = messages(codec, records)
    for msg in sent:  # keyed by person, as the stages publish them
        if msg.t == TOPICS.resolved:
            msg.k = touchpoints[msg.o].person_id.encode()
    batch = Batch(1000, 1000)
    kept = guard.screen(batch, sent)

    def carries(tp: ResolvedTouchpoint) -> bool:
        return tp.person_id == victim.person_id or any(i.value == email for i in tp.touchpoint.identifiers)

    dropped = [m for m in sent if m not in kept]
    assert {m.o for m in dropped if m.t == TOPICS.resolved} == {
        n for n, tp in enumerate(touchpoints) if carries(tp)
    }
    assert {m.t for m in dropped} == {TOPICS.resolved}  # the other records name neither
    assert guard.dropped == len(dropped)
    for msg in dropped:  # committed past, though not written
        assert batch.commit_positions()[(msg.t, msg.p)] >= msg.o + 1
    fed = Batch(1000, 1000)
    Router(TOPICS, codec).feed(fed, kept)
    assert sum(len(v) for v in fed.encoded.values()) + sum(len(v) for v in fed.rows.values()) == len(kept)


def test_dead_letters_holding_an_erased_value_are_dropped_undecoded(codec: Codec) -> None:
    value = "f" * 64
    guard = privacy(codec, suppression("identifier", value, "hashed_email"))
    poison = FakeMessage(TOPICS.dead_letters, b"\x00garbage" + value.encode() + b"\xff", 5)
    other = FakeMessage(TOPICS.dead_letters, b"\x00garbage" + b"e" * 64, 6)
    assert guard.screen(Batch(10, 10), [poison, other]) == [other]


def test_the_list_matches_identifiers_case_insensitively_and_ignores_short_tokens_in_bytes() -> None:
    suppressed = SuppressionList()
    assert suppressed.add_keys(["ad_id:ABCDEF12-3456", "customer_id:42"], ["p-0123456789abcdef"])
    assert not suppressed.add_keys(["ad_id:abcdef12-3456"], [])  # the same, lower-cased
    assert suppressed.identifier("ad_id", " abcdef12-3456 ")
    assert suppressed.any_key(["cookie:x", "customer_id:42"])
    assert not suppressed.any_key(["customer_id:420"])
    assert suppressed.person("p-0123456789abcdef")
    assert not suppressed.person(None)
    pattern = suppressed.pattern()
    assert pattern is not None
    assert pattern.search(b"..AbCdEf12-3456..")
    assert pattern.search(b"..p-0123456789abcdef..")
    assert not pattern.search(b"customer 42 bought")  # too short to screen bytes with


def test_every_erasable_table_has_a_condition_on_persons_and_the_touchpoints_on_identifiers() -> None:
    where = conditions(Subjects(("p-1",), ("hashed_email:AB'CD",)))
    assert set(where) == set(ERASABLE)
    assert all("'p-1'" in w for w in where.values())
    assert "('hashed_email', 'ab\\'cd')" in where["touchpoints"]  # lower-cased and quoted
    assert "('hashed_email', 'ab\\'cd')" in where["identity_changes"]


def test_the_suppressions_topic_is_created_compacted_and_the_others_are_not() -> None:
    configs = {name: topic_config(name) for name in pipeline_topics(TOPICS)}
    assert configs.pop(TOPICS.suppressions) == {"cleanup.policy": "compact"}
    assert all(c == {} for c in configs.values())


def test_a_suppression_record_needs_a_type_exactly_for_identifiers() -> None:
    assert suppression("identifier", "x", "cookie").key == "identifier:cookie:x"
    assert suppression("person", "p-1").key == "person:p-1"
    with pytest.raises(ValueError, match="identifier_type"):
        suppression("identifier", "x")
    with pytest.raises(ValueError, match="identifier_type"):
        suppression("person", "p-1", "cookie")


def test_records_on_the_wire_decode_back_into_the_list(codec: Codec) -> None:
    record = suppression("identifier", "ck-1", "cookie")

    class Consumer:
        def __init__(self) -> None:
            self.sent = [
                FakeMessage(TOPICS.suppressions, encode(codec, record), 0),
                FakeMessage(TOPICS.suppressions, b"junk", 1),
            ]

        def consume(self, num_messages: int, timeout: float) -> list[Any]:
            out, self.sent = self.sent, []
            return out

    reader = SuppressionReader({}, TOPICS.suppressions, codec, consumer=Consumer())
    assert reader.poll() == [record]  # the unreadable one is skipped with a warning
    assert reader.suppressions.identifier("cookie", "ck-1")


def test_an_erasures_own_identity_changes_are_never_stored_even_before_its_suppressions_arrive(
    codec: Codec,
) -> None:
    marker: dict[str, Any] = {
        "change_id": str(uuid.UUID(int=9)),
        "kind": "erasure",
        "person_id": "p-erased",
        "survivor_person_id": None,
        "related_person_ids": [],
        "event_id": None,
        "identifiers": [],
        "rule": "erasure_request",
        "reason": "GDPR erasure",
        "event_time": NOW,
        "changed_at": NOW,
    }
    merge = {**marker, "kind": "merge", "rule": "shared_identifier", "survivor_person_id": "p-other"}
    name = "io.omnijourney.IdentityChange"
    sent = [
        FakeMessage(TOPICS.identity_changes, codec.encode(name, marker), 0),
        FakeMessage(TOPICS.identity_changes, codec.encode(name, merge), 1),
    ]
    batch = Batch(10, 10)
    assert privacy(codec).screen(batch, sent) == [sent[1]]  # no suppression is known yet
    assert batch.commit_positions()[(TOPICS.identity_changes, 0)] == 1  # committed, not written
