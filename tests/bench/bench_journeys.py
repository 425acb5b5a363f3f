"""Journey stage throughput on one worker, and produce-to-card latency, each beside a baseline.

    python -m tests.bench.bench_journeys --customers 1000 --days 7 --json out.json

Throughput: a fresh ``touchpoints.resolved`` (``--partitions``) is filled with the simulator's
valid touchpoints as the strongest identity stage resolves them (:func:`streams.identity.resolve.
resolve` on the SDK's bytes, keyed by person_id, Java-compatible partitioner like Faust's), then,
on that topic and in the same run: a confluent-kafka consumer that reads and decodes every record
(best of ``--rounds``); the no-op Faust worker of :mod:`tests.bench.faust_noop`; and
``omnijourney worker`` with ``OMNIJOURNEY_STAGES=journeys``, from its first event to its last, or
to ``--max-seconds`` after its first event if it is not done by then (time to committed lag 0 in
the JSON as ``lag0_rate``); plus events per CPU-second of the worker beside the no-op's.

Latency (:mod:`tests.bench.card_latency`): the whole stream pipeline in one worker (identity
strongest + journeys) on other fresh topics, events sent through the SDK at ``--rate`` events/s for
``--seconds``; p50/p99 from ``send`` to the continuity card showing the event, beside the same for
a plain consumer on the touchpoint topics (transport). Goals (issue 5): 70% or more of the no-op
Faust agent, 20,000 events/s per worker as the stretch, p99 under 200 ms at 2,000 events/s.
Not collected by pytest; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from producers.prepare import EventPreparer
from schemas.codec import Codec
from streams.identity.resolve import resolve
from streams.identity.touchpoints import RESOLVED_NAME
from streams.wiring import producer_config
from tests.bench.card_latency import Latency, measure_card_latency
from tests.bench.stage_common import (
    BROKERS,
    common_arguments,
    corner_settings,
    log,
    new_corner,
    read_all,
    row,
    temp_base,
    valid_payloads,
)
from tests.bench.stage_workers import (
    counter,
    describe,
    measure,
    measure_noop,
    stage_progress,
    stage_rows,
    start_noop_worker,
    start_py_spy,
    start_stage_worker,
    stop_py_spy,
)

GOAL_RATIO, GOAL_RATE, GOAL_P99_MS = 0.70, 20_000, 200


def resolved_records(payloads: list[dict[str, Any]], preparer: EventPreparer) -> list[tuple[bytes, bytes]]:
    """(person_id, ResolvedTouchpoint bytes) of each payload, as the strongest stage emits them."""
    codec = Codec()
    out = []
    for offset, payload in enumerate(payloads):
        topic, _, value = preparer.prepare(payload)
        resolved = resolve(codec, value, topic, 0, offset)
        out.append((resolved.person_id.encode(), codec.encode(RESOLVED_NAME, resolved.record)))
    return out


def fill(topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = Producer(
        {
            "bootstrap.servers": BROKERS,
            "linger.ms": 20,
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
        }
    )
    for key, value in records:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
    if producer.flush(120):
        raise RuntimeError("not every resolved touchpoint reached the broker")


def throughput(args: argparse.Namespace, payloads: list[dict[str, Any]], base: Path) -> list[dict[str, Any]]:
    corner = new_corner("jr", args.partitions, base, args.worker_env)
    try:
        records = resolved_records(payloads, EventPreparer(producer_config(corner_settings(corner))))
        events = len(records)
        topics = corner.topics
        fill(topics.resolved, records)
        del records
        log(f"{events:,} resolved touchpoints produced to {topics.resolved}")
        gc.collect()
        decode_rate = max(read_all([topics.resolved], events, decode=True)[0] for _ in range(args.rounds))
        log(f"read+decode: {decode_rate:,.0f} events/s")
        noop = measure_noop(start_noop_worker(corner, [topics.resolved]), events, [topics.resolved])
        corner.stop_services()
        log(
            f"no-op Faust agent: {noop.rate:,.0f} events/s "
            f"({noop.seconds:.1f}s, {noop.cpu_us:.0f} us CPU each)"
        )
        worker = start_stage_worker(corner, "journeys", stages="journeys")
        spy = start_py_spy(worker, args.py_spy / "journeys.txt") if args.py_spy else None
        try:
            inputs = [topics.resolved, topics.identity_changes, topics.journey_handoff, topics.journey_index]
            done = [counter("stage_events_in", stage="journeys")]
            stage = measure(worker, events, stage_progress(done), inputs, args.max_seconds)
        finally:
            stop_py_spy(spy)
            corner.stop_services()
        log(f"journeys: {describe(stage, 'events')}")
    finally:
        corner.remove()
    extra = {
        "events": events,
        "partitions": args.partitions,
        "goal_ratio": GOAL_RATIO,
        "goal_rate": GOAL_RATE,
    }
    return stage_rows("journeys", stage, noop, decode_rate, "events", **extra)


def latency(args: argparse.Namespace, base: Path) -> list[dict[str, Any]]:
    needed = 500 + int(args.rate * args.seconds)
    customers = max(1_000, needed // 8)  # about 8.7 valid events per customer-week
    payloads = valid_payloads(customers, 7, args.seed + 1)
    corner = new_corner("lt", args.partitions, base, args.worker_env)
    try:
        result: Latency = measure_card_latency(
            corner, payloads, rate=args.rate, seconds=args.seconds, sample_every=args.sample_every,
            poll_ms=args.poll_ms, py_spy=args.py_spy / "pipeline.txt" if args.py_spy else None,
            split=args.split, settle_s=args.settle_s,
        )  # fmt: skip
    finally:
        corner.remove()
    p99, p50 = Latency.pct(result.card_ms, 0.99), Latency.pct(result.card_ms, 0.50)
    t99, t50 = Latency.pct(result.transport_ms, 0.99), Latency.pct(result.transport_ms, 0.50)
    log(
        f"card latency: p50 {p50:.0f} ms, p99 {p99:.0f} ms over {result.samples} samples "
        f"({result.unseen} never shown, counted at the time waited); transport p50 {t50:.0f} ms, "
        f"p99 {t99:.0f} ms; sent {result.produce_rate:,.0f} events/s"
    )
    common = dict(
        transport_p50_ms=round(t50, 1), max_ms=round(max(result.card_ms, default=0), 1),
        samples=result.samples, samples_never_shown=result.unseen, p99_is_lower_bound=result.unseen > 0,
        rate=args.rate, produce_rate=round(result.produce_rate, 1), poll_ms=args.poll_ms,
        settle_s=args.settle_s, split=args.split,
        card_requests_per_s=round(result.requests / max(result.seconds, 1e-9), 1), goal_p99_ms=GOAL_P99_MS,
    )  # fmt: skip
    return [
        row("journeys_card_latency_p50", p50, t50, "ms", "SDK -> plain consumer p50", **common),
        row("journeys_card_latency_p99", p99, t99, "ms", "SDK -> plain consumer p99", **common),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common_arguments(parser)
    parser.add_argument("--rate", type=int, default=2_000, help="latency: events/s sent")
    parser.add_argument("--seconds", type=float, default=20.0, help="latency: how long")
    parser.add_argument("--sample-every", type=int, default=50, help="latency: every n-th event is a sample")
    parser.add_argument("--poll-ms", type=float, default=10.0, help="latency: card poll interval")
    parser.add_argument(
        "--split", action="store_true", help="latency: identity and journeys in two workers, not one"
    )
    parser.add_argument(
        "--settle-s", type=float, default=2.0, help="latency: seconds of paced sending before sampling"
    )
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args(argv)
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)

    results: list[dict[str, Any]] = []
    with temp_base("bench-journeys-") as tmp:
        if not args.skip_throughput:
            results += throughput(args, valid_payloads(args.customers, args.days, args.seed), Path(tmp))
        if not args.skip_latency:
            results += latency(args, Path(tmp))
    for r in results:
        goal = (
            f"goal under {GOAL_P99_MS} ms"
            if r["unit"] == "ms"
            else f"goal {GOAL_RATIO:.2f} of no-op, stretch {GOAL_RATE:,} events/s"
        )
        print(
            f"{r['name']}: {r['value']:,.0f} {r['unit']}; {r['baseline_name']} {r['baseline']:,.0f}; "
            f"ratio {r['ratio']:.2f} ({goal})"
        )
    if args.json:
        args.json.write_text(json.dumps(results) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
