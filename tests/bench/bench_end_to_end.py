"""End to end: producer SDK -> broker -> identity + journey worker -> sink -> ClickHouse rows.

    python -m tests.bench.bench_end_to_end --customers 1000 --days 7 --json out.json

What an operator gets from the whole pipeline, as the stage benchmarks cannot show it: every
part runs as the real process it is in production (``omnijourney worker`` with the default
stages, stitching identity and journeys, and ``omnijourney sink`` on chDB), on a fresh corner of
the broker.

- Throughput: the simulator's valid touchpoints are first sent through the producer SDK; then,
  on those topics and in the same run, the two baselines (a confluent-kafka consumer that reads
  and decodes every record, best of ``--rounds``; the no-op Faust agent, Faust's own ceiling);
  then the sink and the worker start and the clock runs from the worker's first event to the
  moment the sink's store holds a row for every touchpoint.
- Latency: with that pipeline caught up, fresh touchpoints are sent at a steady ``--rate`` for
  ``--seconds``; each one's latency runs from just before ``send`` to its row's ``inserted_at``
  in ClickHouse (the sink's clock, the same machine), beside the transport's (a plain consumer on
  the touchpoint topics seeing the record). A touchpoint not stored by the end of the wait counts
  as the time waited, and the JSON says the p99 is then a lower bound.
- Memory: the peak resident set (``VmHWM``) of the worker and of the sink, beside the no-op
  Faust worker's peak on the same input.

Not collected by pytest; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer

from producers.sdk import TouchpointProducer
from schemas.codec import Codec
from sinks.query_server import bearer
from streams.settings import load_settings
from streams.supervise import start, wait_http
from streams.wiring import api_token, producer_config
from tests.bench.card_latency import Latency
from tests.bench.stage_common import (
    BROKERS,
    Corner,
    common_arguments,
    corner_settings,
    log,
    new_corner,
    produce_payloads,
    read_all,
    row,
    temp_base,
    valid_payloads,
)
from tests.bench.stage_workers import Worker, measure_noop, scrape, start_noop_worker, total

MIB = 1024 * 1024


def peak_rss(pid: int) -> float:
    """The process's peak resident set size in bytes (``VmHWM``), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return 0.0


class Pipeline:
    """The worker and the sink of one corner, as real processes sharing one environment."""

    def __init__(self, corner: Corner) -> None:
        self.env = corner.env(f"{corner.tag}-pipeline", sink_group=f"{corner.tag}-sink", sink_batch_ms="200")
        corner.groups.append(f"{corner.tag}-sink")
        base = corner.base / "run"
        self.sink = start("sink", ["sink"], self.env, base)
        corner.services.append(self.sink)
        self.sink_url = f"http://127.0.0.1:{self.env['OMNIJOURNEY_SINK_PORT']}"
        wait_http(f"{self.sink_url}/health", self.sink)
        service = start("worker", ["worker", "-l", "info"], self.env, base)
        corner.services.append(service)
        self.worker = Worker(service, f"http://127.0.0.1:{self.env['OMNIJOURNEY_WEB_PORT']}", "")
        wait_http(f"{self.worker.url}/health", service)

    def sql(self, query: str) -> list[list[Any]]:
        token = api_token(load_settings(self.env))
        url, headers = f"{self.sink_url}/sql", bearer(token)
        request = urllib.request.Request(url, data=query.encode(), method="POST", headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            return list(json.load(response)["rows"])

    def stored(self) -> int:
        return int(self.sql("SELECT uniqExact(event_id) FROM touchpoints")[0][0])

    def alive(self) -> None:
        for service in (self.sink, self.worker.service):
            if not service.alive():
                raise RuntimeError(f"{service.name} exited:\n{service.log_tail()}")

    def first_event(self, timeout_s: float) -> float:
        """Wall time at which the worker was first seen to have taken an event in."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.alive()
            try:
                if total(scrape(self.worker), "omnijourney_stage_events_in_total"):
                    return time.time()
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the worker took no event in {timeout_s:.0f}s:\n{self.worker.service.log_tail()}")

    def wait_stored(self, count: int, timeout_s: float) -> float:
        """Wall time at which the store was first seen to hold ``count`` distinct touchpoints."""
        deadline = time.monotonic() + timeout_s
        seen = 0
        while time.monotonic() < deadline:
            self.alive()
            seen = self.stored()
            if seen >= count:
                return time.time()
            time.sleep(0.25)
        raise RuntimeError(f"{seen:,} of {count:,} touchpoints stored after {timeout_s:.0f}s")


class Arrivals(threading.Thread):
    """A plain consumer on the touchpoint topics noting when each event id's record arrives."""

    def __init__(self, topics: list[str]) -> None:
        super().__init__(daemon=True)
        self.consumer = Consumer(
            {
                "bootstrap.servers": BROKERS,
                "group.id": f"bench-arrivals-{uuid.uuid4().hex}",
                "auto.offset.reset": "latest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
            }
        )
        self.assigned = threading.Event()
        self.consumer.subscribe(topics, on_assign=lambda c, parts: self.assigned.set())
        self.at: dict[str, float] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        decode = Codec().decode
        try:
            while not self.stopped.is_set():
                for msg in self.consumer.consume(num_messages=1000, timeout=0.05):
                    if msg.error() is None:
                        now = time.time()
                        self.at.setdefault(str(decode(msg.value()).record["event_id"]), now)
        finally:
            self.consumer.close()


def throughput(args: argparse.Namespace, corner: Corner) -> tuple[list[dict[str, Any]], Pipeline, float]:
    """The throughput rows, the pipeline left running (caught up), and the no-op's peak RSS."""
    payloads = valid_payloads(args.customers, args.days, args.seed)
    topics = corner.topics.all_touchpoints
    began = time.perf_counter()
    events = produce_payloads(corner_settings(corner), payloads)
    sdk_rate = events / (time.perf_counter() - began)
    log(f"{events:,} touchpoints sent through the SDK ({sdk_rate:,.0f}/s)")
    decode_rate = max(read_all(topics, events, decode=True)[0] for _ in range(args.rounds))
    log(f"read+decode: {decode_rate:,.0f} events/s")
    noop_worker = start_noop_worker(corner, topics)
    noop = measure_noop(noop_worker, events, topics)
    noop_peak = peak_rss(noop_worker.service.process.pid)
    corner.stop_services()
    log(f"no-op Faust agent: {noop.rate:,.0f} events/s, peak RSS {noop_peak / MIB:,.0f} MiB")

    pipeline = Pipeline(corner)
    first = pipeline.first_event(timeout_s=120)
    last = pipeline.wait_stored(events, timeout_s=args.timeout)
    rate = events / max(last - first, 1e-9)
    log(f"end to end: {rate:,.0f} touchpoints/s ({events:,} in {last - first:.1f}s, first event to stored)")
    extra = {
        "events": events,
        "partitions": args.partitions,
        "seconds": round(last - first, 2),
        "sdk_send_rate": round(sdk_rate, 1),
        "stages": "identity (stitch), journeys; sink on chDB",
    }
    rows = [
        row("end_to_end_vs_noop", rate, noop.rate, "touchpoints/s", "no-op Faust agent", **extra),
        row("end_to_end_vs_decode", rate, decode_rate, "touchpoints/s", "confluent-kafka read + Codec.decode",
            **extra),
    ]  # fmt: skip
    return rows, pipeline, noop_peak


def latency(args: argparse.Namespace, corner: Corner, pipeline: Pipeline) -> list[dict[str, Any]]:
    count = int(args.rate * args.seconds)
    payloads = valid_payloads(max(200, count // 8 + 50), 7, args.seed + 1)[:count]
    if len(payloads) < count:
        raise RuntimeError(f"the simulator gave {len(payloads)} touchpoints, {count} needed")
    before = pipeline.stored()
    arrivals = Arrivals(corner.topics.all_touchpoints)
    arrivals.start()
    if not arrivals.assigned.wait(60):
        raise RuntimeError("the transport consumer got no assignment")
    time.sleep(1.0)  # its first fetch positions are set at the log end
    sent: dict[str, float] = {}
    log(f"latency: sending {count:,} touchpoints at {args.rate:,}/s")
    with TouchpointProducer(producer_config(corner_settings(corner))) as producer:
        start_at = time.perf_counter()
        for i, payload in enumerate(payloads):
            wait = start_at + i / args.rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            # A fresh id (the fixed scenarios repeat theirs in every simulation) and a live time.
            event_id, now = str(uuid.uuid4()), dt.datetime.now(dt.UTC)
            sent[event_id] = now.timestamp()
            producer.send({**payload, "event_id": event_id, "event_time": now})
        elapsed = time.perf_counter() - start_at
        producer.flush(30)
    try:
        pipeline.wait_stored(before + count, timeout_s=args.drain)
    except RuntimeError as exc:  # measured anyway: the unstored count as the time waited
        log(f"latency: {exc}")
    gave_up = time.time()
    arrivals.stopped.set()
    arrivals.join(10)
    ids = ",".join(f"'{event_id}'" for event_id in sent)
    stored_at = {
        str(event_id): float(ms) / 1000
        for event_id, ms in pipeline.sql(
            "SELECT toString(event_id), toUnixTimestamp64Milli(min(inserted_at)) FROM touchpoints "
            f"WHERE event_id IN ({ids}) GROUP BY event_id"
        )
    }
    unseen = sum(1 for event_id in sent if event_id not in stored_at)
    stored_ms = [(stored_at.get(e, gave_up) - t) * 1000 for e, t in sent.items()]
    transport_ms = [(arrivals.at[e] - t) * 1000 for e, t in sent.items() if e in arrivals.at]
    extra = {"rate": args.rate, "sent_rate": round(count / elapsed, 1), "touchpoints": count,
             "never_stored": unseen, "p99_is_lower_bound": unseen > 0,
             "sink_batch_ms": int(pipeline.env["OMNIJOURNEY_SINK_BATCH_MS"])}  # fmt: skip
    log(
        f"latency to a ClickHouse row: p50 {Latency.pct(stored_ms, 0.5):.0f} ms, "
        f"p99 {Latency.pct(stored_ms, 0.99):.0f} ms ({unseen} never stored); transport p50 "
        f"{Latency.pct(transport_ms, 0.5):.0f} ms, p99 {Latency.pct(transport_ms, 0.99):.0f} ms"
    )
    return [
        row(f"end_to_end_latency_p{q}", Latency.pct(stored_ms, q / 100), Latency.pct(transport_ms, q / 100),
            "ms", f"SDK -> plain consumer p{q}", **extra)
        for q in (50, 99)
    ]  # fmt: skip


def memory(pipeline: Pipeline, noop_peak: float) -> list[dict[str, Any]]:
    worker, sink = peak_rss(pipeline.worker.service.process.pid), peak_rss(pipeline.sink.process.pid)
    log(f"peak RSS: worker {worker / MIB:,.0f} MiB, sink {sink / MIB:,.0f} MiB")
    return [
        row("end_to_end_peak_rss_worker", worker / MIB, noop_peak / MIB, "MiB", "no-op Faust worker peak"),
        row("end_to_end_peak_rss_sink", sink / MIB, noop_peak / MIB, "MiB", "no-op Faust worker peak"),
    ]


def run(args: argparse.Namespace, base: Path) -> list[dict[str, Any]]:
    corner = new_corner("e2e", args.partitions, base, args.worker_env)
    try:
        rows, pipeline, noop_peak = throughput(args, corner)
        if not args.skip_latency:
            rows += latency(args, corner, pipeline)
        rows += memory(pipeline, noop_peak)
        return rows
    finally:
        corner.remove()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common_arguments(parser)
    parser.add_argument("--rate", type=int, default=50, help="latency: touchpoints/s sent")
    parser.add_argument("--seconds", type=float, default=30.0, help="latency: how long")
    parser.add_argument("--drain", type=float, default=90.0, help="latency: wait this long for the last rows")
    parser.add_argument("--timeout", type=float, default=900.0, help="throughput: give up after this long")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args(argv)
    with temp_base("bench-e2e-") as tmp:
        results = run(args, Path(tmp))
    for r in results:
        print(
            f"{r['name']}: {r['value']:,.1f} {r['unit']}; {r['baseline_name']} {r['baseline']:,.1f}; "
            f"ratio {r['ratio']:.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
