"""Fault tests on the input: poison records beside a clean stream, and a flood on one kiosk device.

Every kind of bad record a channel topic can carry is put on the wire raw, interleaved with a
simulated stream: random bytes, an empty record, truncated Avro, an unknown schema fingerprint,
Confluent framing without a registry, a record of another schema, valid Avro whose values break
the contract, and an event larger than the stage accepts (1 MiB by default, below the broker's
2 MiB). Each must end in dead_letters once, with the error its kind calls for, while every valid
touchpoint (a large one just under the limit among them) is stored exactly once.

The kiosk flood: thousands of touchpoints of different customers who all scan their loyalty card
at one store kiosk. The kiosk must not glue them into one person: the identity guards stop it
linking once it has been seen with more loyalty cards than a person may have, and report it.
"""

from __future__ import annotations

import collections
import datetime as dt
import random
import uuid
from typing import Any

import pytest
from confluent_kafka import Producer

from producers.simulator import SimulatedEvent, simulate
from schemas.codec import HEADER_LEN, SINGLE_OBJECT_MAGIC, Codec
from schemas.models import TOUCHPOINT_AVRO_NAME, Touchpoint
from streams.dead_letters import DEAD_LETTER_NAME, PAYLOAD_LIMIT
from streams.demo import wait_caught_up
from streams.identity.graph import shared_person_id
from streams.produce import produce_events
from tests.integration.conftest import Isolated
from tests.integration.reconcile import (
    Fleet,
    Produced,
    assert_reconciled,
    poison_signature,
    rows,
    wait_stored,
)

pytestmark = pytest.mark.integration

MAX_EVENT_BYTES = 1_048_576  # the stage's default (streams/settings.py max_event_bytes)
BROKER_MAX_MESSAGE = 2_097_152  # message.max.bytes of deploy/kafka
START = dt.datetime(2026, 10, 5, 9, 0, tzinfo=dt.UTC)


def touchpoint(channel: str, event_type: str, ids: list[tuple[str, str]], minute: int, **extra: Any) -> Any:
    """A valid touchpoint in the SDK's input form (no PII types: nothing needs hashing)."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_time": START + dt.timedelta(minutes=minute),
        "channel": channel,
        "event_type": event_type,
        "identifiers": [{"type": kind, "value": value} for kind, value in ids],
        "source": f"{channel}-fault-test",
        **extra,
    }


def avro(codec: Codec, payload: dict[str, Any], **override: Any) -> bytes:
    """``payload`` single-object encoded as Avro, with ``override`` applied after validation."""
    record = {**Touchpoint.model_validate(payload).to_avro(), **override}
    return codec.encode(TOUCHPOINT_AVRO_NAME, record)


def poison(codec: Codec, rng: random.Random) -> list[tuple[bytes, str]]:
    """Raw records no stage may accept, each with the error type its dead letter must name."""

    def valid(**extra: Any) -> Any:
        return touchpoint("web", "page_view", [("cookie", f"ck-{rng.random()}")], rng.randrange(600), **extra)

    good = avro(codec, valid(attributes={"page": "/sofa/green-velvet"}))
    out: list[tuple[bytes, str]] = []
    for size in (1, 7, 64, 500, 4096):  # random bytes that look like neither framing
        out.append((b"\x7b" + rng.randbytes(size - 1), "DecodeError"))
    out.append((b"", "DecodeError"))
    for cut in (2, HEADER_LEN, HEADER_LEN + 1, len(good) // 2, len(good) - 1):  # truncated Avro
        out.append((good[:cut], "DecodeError"))
    out.append((good + b"\x00", "DecodeError"))  # a trailing byte
    for _ in range(3):  # a single-object header with a fingerprint no schema has
        out.append((SINGLE_OBJECT_MAGIC + rng.randbytes(8) + good[HEADER_LEN:], "UnknownSchemaError"))
    out.append((b"\x00\x00\x00\x00\x07" + good[HEADER_LEN:], "DecodeError"))  # Confluent, no registry
    dead_letter = {
        "failed_at": START,
        "stage": "identity",
        "error_type": "DecodeError",
        "reason": "a dead letter put back on a touchpoint topic",
        "source_topic": "elsewhere",
        "source_partition": 0,
        "source_offset": 1,
    }
    out.append((codec.encode(DEAD_LETTER_NAME, dead_letter), "InvalidEventError"))  # another schema
    # Valid Avro, values that break the contract.
    for ids in ([], [("cookie", "null")], [("device", "0000-0000")], [("cookie", "x" * 300)]):
        identifiers = [{"type": kind, "value": value} for kind, value in ids]  # none usable
        out.append((avro(codec, valid(), identifiers=identifiers), "InvalidEventError"))
    out.append((avro(codec, valid(), event_id="not-a-uuid"), "DecodeError"))
    # Larger than the stage accepts, well within what the broker takes.
    huge = avro(codec, valid(attributes={"blob": "z" * (MAX_EVENT_BYTES + MAX_EVENT_BYTES // 2)}))
    out.append((huge, "InvalidEventError"))
    return out


def produce_raw(isolated: Isolated, records: list[tuple[str, bytes]]) -> None:
    producer = Producer(
        {**isolated.settings.kafka_client_config(), "message.max.bytes": BROKER_MAX_MESSAGE, "linger.ms": 5}
    )
    for topic, value in records:
        producer.produce(topic, value, key=b"poison")
    assert producer.flush(60) == 0


def test_poison_records_go_to_dead_letters_and_the_stream_around_them_is_stored_once(
    isolated: Isolated,
) -> None:
    codec, rng = Codec(), random.Random(17)
    events = list(simulate(customers=300, days=2, seed=74))
    produced = Produced().add_simulation(events)
    bad = poison(codec, rng)
    produced.poison.extend(value for value, _ in bad)
    # A valid touchpoint close to the limit: its routing messages (base64) exceed the Faust
    # producer's default request size of 1,000,000 bytes, so the worker must be allowed to send them.
    large = touchpoint(
        "app", "product_view", [("device", "dev-large-1")], 5, attributes={"blob": "y" * 900_000}
    )
    produced.valid.add(large["event_id"])
    topics = isolated.topics
    channels = ["web", "app", "store", "pos", "chat"]
    raw = [(topics.touchpoints(channels[i % len(channels)]), value) for i, (value, _) in enumerate(bad)]
    raw.append((topics.touchpoints("app"), avro(codec, large)))

    fleet = Fleet(isolated.base, isolated.env)
    with fleet.watched():
        fleet.worker("worker")
        fleet.sink()
        half = len(events) // 2
        produce_events(isolated.settings, events[:half], rate=None)
        produce_raw(isolated, raw)  # between the halves: the stream goes on after the poison
        produce_events(isolated.settings, events[half:], rate=None)
        wait_stored(isolated, produced)
        fleet.assert_alive()
        assert_reconciled(isolated, produced)

        letters = rows(
            isolated,
            "SELECT lower(hex(SHA256(ifNull(payload, '')))), payload_size, error_type, reason, field, "
            "length(ifNull(payload, '')) FROM v_dead_letters",
        )
        kinds = {poison_signature(value): error for value, error in bad}
        by_signature = {(r[0], r[1]): r for r in letters}
        for signature, error in kinds.items():
            assert by_signature[signature][2] == error, by_signature[signature]
        oversized = [r for r in letters if r[1] > MAX_EVENT_BYTES]
        assert len(oversized) == 1
        _, size, _, reason, field, kept = oversized[0]
        assert (field, kept) == ("size", PAYLOAD_LIMIT)  # a bounded copy, the true size beside it
        assert str(size) in reason
        assert str(MAX_EVENT_BYTES) in reason


KIOSK = "kiosk-flood-store-042"
CUSTOMERS, VISITS, ANONYMOUS = 250, 8, 120


def kiosk_flood(rng: random.Random) -> tuple[list[SimulatedEvent], list[SimulatedEvent], dict[str, int]]:
    """Customers who each log in online, join the loyalty scheme, then scan their card at one kiosk.

    Returns the customers' events in arrival order, anonymous uses of the kiosk (no card), and the
    constructed truth: event id -> customer (-1 for anonymous use, which belongs to nobody).
    """
    tag = uuid.uuid4().hex[:6]
    truth: dict[str, int] = {}
    own: list[Any] = []
    flood: list[Any] = []
    for k in range(CUSTOMERS):
        customer, loyalty, cookie = f"C{tag}-{k}", f"L{tag}-{k}", f"ck-{tag}-{k}"
        for payload in (
            touchpoint("web", "login", [("customer_id", customer), ("cookie", cookie)], k),
            touchpoint("app", "login", [("customer_id", customer), ("loyalty_id", loyalty)], k + 1),
        ):
            own.append(payload)
            truth[payload["event_id"]] = k
        for visit in range(VISITS):
            payload = touchpoint(
                "store", "product_view", [("device", KIOSK), ("loyalty_id", loyalty)], 600 + k + visit * 300
            )
            flood.append(payload)
            truth[payload["event_id"]] = k
    for n in range(ANONYMOUS):
        payload = touchpoint("store", "page_view", [("device", KIOSK)], 700 + n * 7)
        flood.append(payload)
        truth[payload["event_id"]] = -1
    anonymous, flood = flood[-ANONYMOUS:], flood[:-ANONYMOUS]
    rng.shuffle(flood)
    events = [SimulatedEvent(p, True, None, i, p["channel"]) for i, p in enumerate([*own, *flood])]
    return events, [SimulatedEvent(p, True, None, 0, p["channel"]) for p in anonymous], truth


def test_a_kiosk_flood_glues_no_customers_together_and_every_touchpoint_is_stored_once(
    isolated: Isolated,
) -> None:
    events, anonymous, truth = kiosk_flood(random.Random(18))
    produced = Produced().add_simulation([*events, *anonymous])
    assert len(produced.valid) == CUSTOMERS * (2 + VISITS) + ANONYMOUS
    fleet = Fleet(isolated.base, isolated.env)
    with fleet.watched():
        fleet.worker("worker")
        fleet.sink()
        produce_events(isolated.settings, events, rate=None)
        wait_caught_up(isolated.settings)
        # Anonymous use once the kiosk is known to be shared. Before that, a touchpoint carrying
        # only the kiosk goes to whoever the kiosk was linked to at the time, and keeps that person
        # (history is never rewritten): a race with the flood, not something to pin down here.
        produce_events(isolated.settings, anonymous, rate=None)
        wait_stored(isolated, produced)
        assert_reconciled(isolated, produced)

        person_of = dict(
            (str(r[0]), str(r[1]))
            for r in rows(isolated, "SELECT toString(event_id), person_id FROM v_touchpoints_unified")
        )
        persons: dict[int, set[str]] = collections.defaultdict(set)
        for event_id, customer in truth.items():
            persons[customer].add(person_of[event_id])
        kiosk_person = shared_person_id(f"device:{KIOSK}")
        assert persons.pop(-1) == {kiosk_person}  # anonymous kiosk use: the kiosk's own pseudo-person
        split = {k: p for k, p in persons.items() if len(p) != 1}
        assert not split, f"{len(split)} customers split over several persons, e.g. {list(split.items())[:2]}"
        owners = collections.Counter(next(iter(p)) for p in persons.values())
        glued = {person: n for person, n in owners.items() if n > 1}
        assert not glued, f"{len(glued)} persons hold several customers: {glued}"
        assert kiosk_person not in owners

        reports = rows(
            isolated,
            "SELECT count() FROM v_identity_changes WHERE kind = 'identifier_over_linked' "
            f"AND has(identifiers, tuple('device', '{KIOSK}'))",
        )
        assert reports == [[1]]  # reported once, by the event that tipped it over
