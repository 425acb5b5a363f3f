"""Producer SDK throughput against raw confluent-kafka, measured in the same run.

    python tests/bench/bench_producer.py --events 200000 --json out.json

Baseline: a bare confluent-kafka ``Producer`` sending the bytes the SDK would send (encoded
beforehand, outside the clock) with the same librdkafka options, topics (one per channel) and keys.
Measured: the SDK end to end from input dicts holding raw emails and phones (validation, PII
normalisation and HMAC, Avro encoding, send). Both clocks run from the first ``produce`` to the
end of ``flush``, i.e. until the broker acknowledged everything (``acks=all``). Every run uses
fresh topics (created up front, deleted after) so neither side pays for topic creation.

The events are generated before timing and moved out of the garbage collector's sight
(``gc.freeze``): otherwise collections scanning the whole pre-built data set would be charged to
whichever side allocates more. Customers recur (``--persons``), as they do in real traffic, which
the SDK's PII cache benefits from; ``--persons`` equal to ``--events`` makes nearly every email and
phone unique.

``--api send_many`` calls the SDK's batch method instead of ``send`` per event; ``--seen`` lets
the SDK prepare every event once before the clock (nothing sent), so its identifier caches hold
every customer, as in a long-running producer; ``--stages`` first prints the Python-thread CPU per
event of each SDK stage (no broker involved).

Not collected by pytest (``bench_*.py``); speed is measured only here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import json
import os
import pstats
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from producers.config import ProducerConfig
from producers.inputs import validate_raw
from producers.prepare import EventPreparer, Prepared, hash_identifiers
from producers.sdk import TouchpointProducer

CHANNELS = ("web", "app", "ads", "email", "chat", "call_center", "store", "pos")
EVENT_TYPES = {
    "web": ("page_view", "product_view", "search", "cart_add"),
    "app": ("login", "product_view", "cart_add", "purchase"),
    "ads": ("ad_impression", "ad_click"),
    "email": ("email_sent", "email_open", "email_click"),
    "chat": ("chat_started", "chat_message", "chat_ended"),
    "call_center": ("call_started", "call_ended", "case_opened"),
    "store": ("store_visit", "reservation_picked_up", "stock_check"),
    "pos": ("purchase", "return_completed"),
}
PARTITIONS = 4


def _email_variant(rng: random.Random, email: str) -> str:
    """How a channel might type the same address: case and stray whitespace vary."""
    choice = rng.randrange(3)
    if choice == 0:
        return email
    if choice == 1:
        return email.upper()
    return f"  {email.lower()} "


def _phone_variant(rng: random.Random, national: str) -> str:
    """The same mobile number as a shop assistant, a web form or a call centre writes it."""
    choice = rng.randrange(3)
    if choice == 0:
        return f"+39 {national[:3]} {national[3:6]} {national[6:]}"
    if choice == 1:
        return f"0039-{national[:3]}-{national[3:]}"
    return f"({national[:3]}) {national[3:6]}.{national[6:]}"


def make_events(count: int, persons: int, seed: int) -> list[dict[str, Any]]:
    """SDK input dicts over every channel, with raw emails and phones, in the SDK's input form."""
    rng = random.Random(seed)
    people = [
        (
            f"C{i:08d}",
            f"Cliente.Numero{i}@Esempio-Posta.it",
            f"3{rng.randrange(10**8, 10**9)}",
            f"ck-{rng.getrandbits(64):016x}",
        )
        for i in range(persons)
    ]
    start = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
    events: list[dict[str, Any]] = []
    for i in range(count):
        customer_id, email, phone, cookie = people[rng.randrange(persons)]
        channel = CHANNELS[i % len(CHANNELS)]
        identifiers = [{"type": "cookie", "value": cookie}]
        draw = rng.random()
        if draw < 0.6:
            identifiers.append({"type": "email", "value": _email_variant(rng, email)})
        if draw < 0.3:
            identifiers.append({"type": "phone", "value": _phone_variant(rng, phone)})
        if draw > 0.75:
            identifiers.append({"type": "customer_id", "value": customer_id})
        event: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "event_time": start + dt.timedelta(milliseconds=137 * i),
            "channel": channel,
            "event_type": rng.choice(EVENT_TYPES[channel]),
            "identifiers": identifiers,
            "source": f"{channel}-frontend",
            "session_id": f"s-{rng.getrandbits(48):012x}",
            "context": {
                "url": f"https://shop.example/p/{rng.randrange(5000)}",
                "product_ids": ["sofa-green"],
            },
            "attributes": {"ab": "b"},
        }
        if channel in ("store", "pos"):
            event["context"] = {
                "store_id": "MI3",
                "amount_cents": rng.randrange(100, 200_000),
                "currency": "EUR",
            }
        events.append(event)
    return events


def create_topics(admin: AdminClient, names: list[str]) -> None:
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=PARTITIONS, replication_factor=1) for n in names]
    )
    for future in futures.values():
        future.result(timeout=30)


class Run(NamedTuple):
    """One timed run: events/s, and microseconds per event spent by the Python thread itself
    (the rest of the process's CPU, librdkafka's threads, shows as ``process_us``)."""

    rate: float
    thread_us: float
    process_us: float


class Clock:
    """Wall, Python-thread and process CPU time, read together."""

    def __init__(self) -> None:
        self.wall, self.thread, self.process = time.perf_counter(), time.thread_time(), time.process_time()

    def run(self, events: int) -> Run:
        wall = time.perf_counter() - self.wall
        thread = time.thread_time() - self.thread
        process = time.process_time() - self.process
        return Run(events / wall, thread / events * 1e6, process / events * 1e6)


def run_raw(options: dict[str, Any], records: list[Prepared], warm_topics: list[str]) -> Run:
    """A bare Producer sending pre-encoded records (the baseline)."""
    producer = Producer(options)
    for topic in warm_topics:  # metadata and connections ready before the clock starts
        producer.produce(topic, b"warm-up", b"warm-up")
    if producer.flush(30):
        raise RuntimeError("raw warm-up not delivered")
    produce, poll = producer.produce, producer.poll
    gc.collect()
    clock = Clock()
    for i, (topic, key, value) in enumerate(records):
        while True:
            try:
                produce(topic, value, key)
                break
            except BufferError:
                poll(0.05)
        if not i % 1000:
            poll(0)
    remaining = producer.flush(120)
    run = clock.run(len(records))
    if remaining:
        raise RuntimeError(f"raw: {remaining} records not delivered")
    return run


def run_sdk(
    config: ProducerConfig,
    events: list[dict[str, Any]],
    profile: Path | None,
    api: str = "send",
    seen: bool = False,
) -> Run:
    """The SDK from input dicts, raw PII included, to acknowledged delivery.

    ``api`` is ``send`` (one call per event) or ``send_many``; ``seen`` prepares every event once
    before the clock (nothing sent), as a long-running producer has already hashed returning
    customers' identifiers.
    """
    producer = TouchpointProducer(config)
    for channel in CHANNELS:
        producer.send_raw(f"{config.topic_prefix}.{channel}", b"warm-up", b"warm-up")
    producer.flush(30)
    if seen:
        for event in events:
            producer.prepare(event)
    send = producer.send
    profiler = cProfile.Profile() if profile else None
    gc.collect()
    clock = Clock()
    if profiler:
        profiler.enable()
    if api == "send_many":
        producer.send_many(events)
    else:
        for event in events:
            send(event)
    producer.flush(120)
    if profiler:
        profiler.disable()
    run = clock.run(len(events))
    producer.close()
    stats = producer.stats()
    if stats.failed or stats.delivered != len(events) + len(CHANNELS):
        raise RuntimeError(f"sdk: not everything was delivered: {stats}")
    if profiler and profile:
        profiler.dump_stats(profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
    return run


def stages(config: ProducerConfig, events: list[dict[str, Any]]) -> dict[str, float]:
    """Microseconds of Python-thread CPU per event for each stage, without a broker.

    The fast path (validation, hashing and encoding in one pass) on first sight of the events'
    identifiers and once they are cached; the slow path (pydantic, hashing, generated writer) and
    its stages on a tenth of the events.
    """
    preparer = EventPreparer(config)
    some = events[: max(1, len(events) // 10)]

    def per_event(work: Any, items: list[Any]) -> float:
        gc.collect()
        start = time.thread_time()
        for item in items:
            work(item)
        return (time.thread_time() - start) / len(items) * 1e6

    result = {
        "fast path, identifiers new": per_event(preparer.fast, events),
        "fast path, identifiers cached": per_event(preparer.fast, events),
        "slow path, identifiers new": per_event(preparer.slow, some),
        "slow path, identifiers cached": per_event(preparer.slow, some),
        "  of which pydantic validation": per_event(validate_raw, some),
    }
    records = [validate_raw(e) for e in some]
    hasher = preparer.hasher
    result["  of which PII hashing (cached)"] = per_event(
        lambda r: hash_identifiers(r["identifiers"], hasher), records
    )
    result["  of which Avro encoding"] = per_event(preparer.encode, records)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--persons", type=int, default=0, help="distinct customers (default: events / 20)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating raw/SDK rounds; the best of each")
    parser.add_argument("--brokers", default=os.environ.get("OMNIJOURNEY_KAFKA_BROKERS", "127.0.0.1:19092"))
    parser.add_argument("--compression", default="zstd")
    parser.add_argument("--linger-ms", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--profile", type=Path, help="cProfile the SDK's last round into this file")
    parser.add_argument("--api", choices=("send", "send_many"), default="send", help="how the SDK is called")
    parser.add_argument("--seen", action="store_true", help="the SDK has seen these customers (warm caches)")
    parser.add_argument("--stages", action="store_true", help="first print CPU per event of each SDK stage")
    args = parser.parse_args(argv)

    run_id = uuid.uuid4().hex[:8]
    persons = args.persons or max(100, args.events // 20)
    events = make_events(args.events, persons, args.seed)

    def config(side: str, round_no: int) -> ProducerConfig:
        return ProducerConfig(
            brokers=args.brokers,
            pii_key=b"benchmark-key-not-a-secret-0123456789",
            client_id=f"bench-{side}",
            topic_prefix=f"bench{run_id}r{round_no}.{side}.touchpoints",
            compression=args.compression,
            linger_ms=args.linger_ms,
        )

    if args.stages:
        for stage, micros in stages(config("stages", 0), events).items():
            print(f"{stage:40} {micros:6.2f} us/event (Python thread CPU)", file=sys.stderr)
    admin = AdminClient({"bootstrap.servers": args.brokers})
    topics = [
        f"{config(side, r).topic_prefix}.{c}"
        for r in range(args.rounds)
        for side in ("raw", "sdk")
        for c in CHANNELS
    ]
    create_topics(admin, topics)
    raw_runs: list[Run] = []
    sdk_runs: list[Run] = []
    try:
        for round_no in range(args.rounds):
            raw_config = config("raw", round_no)
            encoder = EventPreparer(raw_config)  # the SDK's own encoding, outside the clock
            records = [encoder.prepare(e) for e in events]
            gc.collect()
            gc.freeze()
            raw_topics = [f"{raw_config.topic_prefix}.{c}" for c in CHANNELS]
            raw_runs.append(run_raw(raw_config.librdkafka(), records, raw_topics))
            del records
            last = round_no == args.rounds - 1
            profile = args.profile if last else None
            sdk_runs.append(run_sdk(config("sdk", round_no), events, profile, args.api, args.seen))
            for side, run in (("raw", raw_runs[-1]), ("sdk", sdk_runs[-1])):
                print(
                    f"round {round_no} {side}: {run.rate:,.0f} events/s; per event: Python thread "
                    f"{run.thread_us:.1f} us CPU, whole process {run.process_us:.1f} us CPU",
                    file=sys.stderr,
                )
    finally:
        for future in admin.delete_topics(topics).values():
            future.result(timeout=30)

    # Best of the rounds on each side: the machine may be shared, and noise only ever slows.
    baseline, value = max(r.rate for r in raw_runs), max(r.rate for r in sdk_runs)
    result = {
        "name": "producer",
        "value": round(value, 1),
        "baseline": round(baseline, 1),
        "ratio": round(value / baseline, 3),
        "unit": "events/s",
        "baseline_name": "raw confluent-kafka, pre-encoded bytes",
        "api": args.api,
        "seen": args.seen,
    }
    print(
        f"raw confluent-kafka {baseline:,.0f} events/s; SDK {value:,.0f} events/s; "
        f"ratio {value / baseline:.2f} ({args.events} events, {persons} persons, {args.compression}, "
        f"{args.api}{', seen' if args.seen else ''})"
    )
    if args.json:
        args.json.write_text(json.dumps(result) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
