"""Latency from produce to the continuity card showing the event, at a steady event rate.

Used by ``bench_journeys``. One worker runs the whole stream pipeline (``OMNIJOURNEY_STAGES=
identity,journeys``, strongest identity stage) on fresh topics. After a warm-up, the simulator's
valid events are sent through the producer SDK at ``rate`` events/s for ``seconds``, each stamped
with the wall clock as its event time. The first event with a customer_id at or after every
``sample_every``-th event is a sample (see :func:`_sample` for why a customer_id), from ``settle_s``
seconds into the paced sending on (the rate is steady by then: the stages have left the warm-up
burst behind and their caches hold the customers that recur):

- card: a poller thread asks ``GET /continuity/customer_id/{value}`` (bearer token from the
  settings) for the sample's customer until the card's ``last_touchpoints[channel]`` is at or
  past the sample (``(at, event_id)`` ordered as the stage orders it: the sample or a later event
  of the same person and channel, which the stage can only have folded after the sample);
- transport (the baseline): a confluent-kafka consumer in this process, on the touchpoint topics,
  sees the sample's record (matched by key, then event id): the SDK's linger and the broker's
  round trip, which no stage can beat.

Both latencies run from just before ``send`` to the moment this process noticed, so the card's
figure includes up to one poll interval of detection delay (``poll_ms``; reported beside). A
sample the card has not shown by the end of the wait after the last send counts as the time it
was waited for: when the pipeline cannot keep up with ``rate``, the p99 is a lower bound (said so
in the JSON), not a figure computed over the lucky samples only.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from confluent_kafka import Consumer

from producers.prepare import EventPreparer
from producers.sdk import TouchpointProducer
from schemas.codec import Codec
from streams.identity.resolve import JUNK_VALUES
from streams.wiring import producer_config
from tests.bench.stage_common import (
    BROKERS,
    Corner,
    corner_settings,
    log,
)
from tests.bench.stage_workers import (
    Worker,
    scrape,
    start_py_spy,
    start_stage_worker,
    stop_py_spy,
    total,
)


@dataclass
class Sample:
    event_id: str
    channel: str
    kind: str
    value: str
    key: bytes
    event_ms: int
    sent: float = 0.0
    card: float | None = None
    transport: float | None = None


@dataclass
class Latency:
    card_ms: list[float]  # every sample; one never shown counts as the time it was waited for
    transport_ms: list[float]
    samples: int
    unseen: int  # samples whose card never showed them before the end of the wait
    produced: int
    produce_rate: float
    requests: int
    seconds: float

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        """The ``q`` quantile (nearest rank) of ``values``; 0 when empty."""
        if not values:
            return 0.0
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class CardPoller(threading.Thread):
    """Asks the worker for each pending sample's card until it shows the sample.

    Only the ``window`` oldest pending samples are asked for in each round: while the pipeline
    keeps up that is all of them (40 samples/s at 200 ms is 8), and when it falls behind the
    poller must not become the worker's main load.
    """

    def __init__(self, port: int, token: str, poll_s: float, window: int = 8) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.poll_s, self.window = port, token, poll_s, window
        self.pending: list[Sample] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.requests = 0

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.pending.append(sample)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Authorization": f"Bearer {self.token}"}
        while not self.stopped.is_set():
            with self.lock:
                pending = self.pending[: self.window]
            for sample in pending:
                try:
                    conn.request(
                        "GET", f"/continuity/{sample.kind}/{quote(sample.value, safe='')}", headers=headers
                    )
                    response = conn.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                    continue
                self.requests += 1
                if response.status == 200 and _shows(json.loads(body), sample):
                    sample.card = time.perf_counter()
                    with self.lock:
                        self.pending.remove(sample)
            time.sleep(self.poll_s)
        conn.close()


def _shows(card: dict[str, Any], sample: Sample) -> bool:
    last = card.get("last_touchpoints", {}).get(sample.channel)
    if not last:
        return False
    at = dt.datetime.fromisoformat(last["at"])
    at_ms = int(at.timestamp() * 1000 + 0.5)
    return (at_ms, str(last["event_id"])) >= (sample.event_ms, sample.event_id)


class TransportWatch(threading.Thread):
    """A plain consumer on the touchpoint topics noting when each sample's record arrives."""

    def __init__(self, topics: list[str]) -> None:
        super().__init__(daemon=True)
        self.consumer = Consumer(
            {
                "bootstrap.servers": BROKERS,
                "group.id": f"bench-transport-{uuid.uuid4().hex}",
                "auto.offset.reset": "latest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
            }
        )
        self.assigned = threading.Event()
        self.consumer.subscribe(topics, on_assign=lambda c, parts: self.assigned.set())
        self.by_key: dict[bytes, list[Sample]] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.by_key.setdefault(sample.key, []).append(sample)

    def run(self) -> None:
        decode = Codec().decode
        try:
            while not self.stopped.is_set():
                for msg in self.consumer.consume(num_messages=1000, timeout=0.05):
                    if msg.error() is not None or msg.key() not in self.by_key:
                        continue
                    now = time.perf_counter()
                    event_id = str(decode(msg.value()).record["event_id"])
                    with self.lock:
                        waiting = self.by_key.get(msg.key() or b"", [])
                        for sample in waiting:
                            if sample.event_id == event_id:
                                sample.transport = now
                                waiting.remove(sample)
                                break
        finally:
            self.consumer.close()


def _sample(preparer: EventPreparer, payload: dict[str, Any], event_ms: int) -> Sample | None:
    """The sample of one event, looked up by its customer_id; None if it has none.

    Only the strongest identifier type will do: the strongest identity stage gives an event the
    person of its strongest identifier, while the continuity index maps every identifier to the
    person that showed it last. A cookie seen both alone (its own person) and beside a
    customer_id (the customer) finds the customer's card, which never shows the cookie-only
    events, and an event sampled by that cookie would never be seen.
    """
    if not any(i.get("type") == "customer_id" for i in payload["identifiers"]):
        return None
    record, key = preparer.record(dict(payload))
    kind, _, value = key.decode().partition(":")
    if kind != "customer_id" or value.strip().lower() in JUNK_VALUES:
        return None
    return Sample(str(record["event_id"]), str(record["channel"]), kind, value, key, event_ms)


def _now_ms() -> tuple[dt.datetime, int]:
    now = dt.datetime.now(dt.UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return now, int(now.timestamp() * 1000 + 0.5)


def _warm_up(worker: Worker, producer: TouchpointProducer, payloads: list[dict[str, Any]]) -> None:
    """Send ``payloads`` at once and wait until the journey stage has read them all: every
    partition assigned, every code path and connection warm before the clock starts."""
    for payload in payloads:
        producer.send({**payload, "event_time": _now_ms()[0]})
    producer.flush(30)
    deadline = time.monotonic() + 120
    while total(scrape(worker), "omnijourney_stage_events_in_total", stage="journeys") < len(payloads):
        if time.monotonic() > deadline or not worker.service.alive():
            raise RuntimeError(f"the pipeline worker did not warm up:\n{worker.service.log_tail()}")
        time.sleep(0.2)


def _send_paced(
    producer: TouchpointProducer,
    payloads: list[dict[str, Any]],
    rate: int,
    sample_every: int,
    take: Callable[[dict[str, Any], int], Sample | None],
    settle_s: float = 0.0,
) -> float:
    """Send at ``rate`` events/s, each stamped now; returns the seconds it took."""
    start, want = time.perf_counter(), False
    for i, payload in enumerate(payloads):
        wait = start + i / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        event_time, event_ms = _now_ms()
        event = {**payload, "event_time": event_time}
        want = want or (i % sample_every == 0 and i >= settle_s * rate)
        if want and take(event, event_ms) is not None:
            want = False
        producer.send(event)
    return time.perf_counter() - start


def measure_card_latency(
    corner: Corner,
    payloads: list[dict[str, Any]],
    *,
    rate: int,
    seconds: float,
    sample_every: int,
    poll_ms: float,
    warmup: int = 500,
    drain_s: float = 15.0,
    py_spy: Path | None = None,
    split: bool = False,
    settle_s: float = 2.0,
) -> Latency:
    """Run the pipeline on ``corner`` and measure (see the module docstring).

    ``split``: the identity stage and the journey stage each in a worker of its own (two
    processes, as an operator scales them apart) instead of both in one worker.
    """
    total_events = int(rate * seconds)
    if len(payloads) < warmup + total_events:
        raise ValueError(f"{len(payloads)} events given, {warmup + total_events} needed")
    settings = corner_settings(corner)
    if split:
        start_stage_worker(corner, "identity", stages="identity", identity_stage="strongest")
        worker = start_stage_worker(corner, "journeys", stages="journeys")
    else:
        worker = start_stage_worker(
            corner, "pipeline", stages="identity,journeys", identity_stage="strongest"
        )
    config = producer_config(settings)
    preparer = EventPreparer(config)
    poller = CardPoller(
        int(worker.url.rsplit(":", 1)[1]), settings.api_token.get_secret_value(), poll_ms / 1000
    )
    watch = TransportWatch(settings.topics.all_touchpoints)
    samples: list[Sample] = []
    spy = None

    def take(event: dict[str, Any], event_ms: int) -> Sample | None:
        sample = _sample(preparer, event, event_ms)
        if sample is not None:
            samples.append(sample)
            watch.add(sample)
            poller.add(sample)
            sample.sent = time.perf_counter()
        return sample

    try:
        with TouchpointProducer(config) as producer:
            _warm_up(worker, producer, payloads[:warmup])
            watch.start()
            if not watch.assigned.wait(60):
                raise RuntimeError("the transport consumer got no assignment")
            time.sleep(1.0)  # its first fetch positions are set at the log end
            poller.start()
            spy = start_py_spy(worker, py_spy) if py_spy else None
            log(f"card latency: sending {total_events:,} events at {rate:,}/s")
            elapsed = _send_paced(
                producer, payloads[warmup : warmup + total_events], rate, sample_every, take, settle_s
            )
            producer.flush(30)
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline and any(s.card is None or s.transport is None for s in samples):
            time.sleep(0.1)
        gave_up = time.perf_counter()
    finally:
        stop_py_spy(spy)
        poller.stopped.set()
        watch.stopped.set()
        if poller.is_alive():
            poller.join(10)
        if watch.is_alive():
            watch.join(10)
        else:
            watch.consumer.close()
        corner.stop_services()
    return Latency(
        card_ms=[((s.card or gave_up) - s.sent) * 1000 for s in samples],
        transport_ms=[(s.transport - s.sent) * 1000 for s in samples if s.transport is not None],
        samples=len(samples),
        unseen=sum(s.card is None for s in samples),
        produced=total_events,
        produce_rate=total_events / elapsed,
        requests=poller.requests,
        seconds=elapsed,
    )
