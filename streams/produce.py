"""``omnijourney produce``: simulated channel traffic through the producer SDK, with ground truth.

Valid events go through the SDK (validation, PII hashing, Avro, idempotent send); the simulator's
SDK-invalid events are offered to the SDK too, which must refuse them as it would a channel team's
bad event; wire poison is sent as raw bytes so the pipeline's dead-letter path is exercised.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable
from pathlib import Path

from producers.sdk import TouchpointProducer
from producers.simulator import RunSummary, SimulatedEvent, run_simulation, simulate
from streams.settings import Settings
from streams.wiring import make_codec, producer_config

POISON_KEY = b"poison"


def produce_simulation(
    settings: Settings,
    *,
    customers: int,
    days: int,
    seed: int,
    rate: float | None,
    truth_path: Path | None,
    progress: bool = True,
) -> RunSummary:
    """Produce the simulation, flush, write its ground truth; returns the run summary."""
    simulation = simulate(customers=customers, days=days, seed=seed)
    summary = produce_events(settings, simulation, rate=rate, progress=progress)
    if truth_path is not None:
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        simulation.write_ground_truth(truth_path)
    if not progress:  # the progress bar ends with the same line
        print(summary.line(), file=sys.stderr)
    return summary


def produce_events(
    settings: Settings,
    events: Iterable[SimulatedEvent],
    *,
    rate: float | None,
    progress: bool = False,
    close_timeout_s: float = 30.0,
) -> RunSummary:
    """Produce simulated events (valid ones through the SDK, wire poison raw) and flush them.

    ``close_timeout_s`` bounds the final flush: a test that restarts the broker mid-stream gives
    the records queued during the outage time to be delivered instead of purged.
    """
    config = producer_config(settings)
    # librdkafka's transient warnings (a just-created topic's leader not yet in its metadata
    # cache) scroll hundreds of lines past the progress bar; failed deliveries still raise.
    config = dataclasses.replace(config, extra={**config.extra, "log_level": 3})
    with TouchpointProducer(config, make_codec(settings)) as producer:

        def send_raw(event: SimulatedEvent) -> None:
            producer.send_raw(settings.topics.touchpoints(event.channel), POISON_KEY, event.wire)

        summary = run_simulation(events, producer.send, send_raw, rate=rate, progress=progress)
        producer.close(close_timeout_s)  # leaving the block closes it again: a no-op
    return summary
