"""Pacing and progress for `omnijourney produce`, on a fake clock: no real sleeping."""

from __future__ import annotations

import io
from typing import Any

import pytest

from producers.simulator import ProgressBar, RunSummary, SimulatedEvent, TokenBucket, run_simulation, simulate
from schemas.errors import DeliveryError, InvalidEventError


class FakeClock:
    """Monotonic time that only moves when someone sleeps (or the test advances it)."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds
        self.sleeps += 1


class TtyBuffer(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("rate", "n"), [(100.0, 1_000), (5_000.0, 20_000), (0.5, 10)])
def test_token_bucket_holds_the_rate(rate: float, n: int) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, clock=clock, sleep=clock.sleep)
    for _ in range(n):
        bucket.acquire()
    elapsed = clock.now - 1_000.0
    # The first `capacity` tokens are available at once; every further one costs 1/rate.
    assert elapsed >= (n - bucket.capacity) / rate - 1e-9
    assert elapsed <= n / rate + 0.002


def test_token_bucket_does_not_save_up_more_than_its_capacity() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100.0, clock=clock, sleep=clock.sleep)
    clock.now += 3_600  # an hour idle
    begin = clock.now
    for _ in range(200):
        bucket.acquire()
    assert clock.now - begin >= (200 - bucket.capacity) / 100.0 - 1e-9


def test_token_bucket_rejects_a_nonsense_rate() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0.0)


def recorder() -> tuple[list[dict[str, Any]], list[SimulatedEvent], Any, Any]:
    sent: list[dict[str, Any]] = []
    raw: list[SimulatedEvent] = []

    def send_valid(payload: dict[str, Any]) -> None:
        sent.append(payload)

    def send_raw(event: SimulatedEvent) -> None:
        raw.append(event)

    return sent, raw, send_valid, send_raw


def test_run_sends_everything_in_order_at_the_rate() -> None:
    sim = simulate(40, 3, seed=2, invalid_share=0.05)
    events = list(sim)
    sent, raw, send_valid, send_raw = recorder()
    clock = FakeClock()
    summary = run_simulation(sim, send_valid, send_raw, rate=200.0, clock=clock, sleep=clock.sleep)
    assert [p["event_id"] for p in sent] == [e.event_id for e in events if e.wire is None]
    assert raw == [e for e in events if e.wire is not None]
    assert summary.total == len(events)
    assert summary.valid == sum(e.valid for e in events)
    assert summary.wire == len(raw)
    assert summary.sdk_invalid == sum(not e.valid and e.wire is None for e in events)
    assert summary.accepted_invalid == summary.sdk_invalid  # this fake sender refuses nothing
    assert summary.elapsed_s >= (len(events) - 20) / 200.0
    assert summary.elapsed_s <= len(events) / 200.0 + 0.01


def test_refusals_are_counted_not_raised() -> None:
    sim = simulate(40, 3, seed=2, invalid_share=0.05)
    events = list(sim)
    first_valid = next(e.event_id for e in events if e.valid)

    def strict_sdk(payload: dict[str, Any]) -> None:
        bad = any(e.event_id == payload["event_id"] and not e.valid for e in events)
        if bad or payload["event_id"] == first_valid:
            raise InvalidEventError("refused", field="event_id")

    summary = run_simulation(sim, strict_sdk, lambda _e: None)
    assert summary.refused == summary.sdk_invalid > 0
    assert summary.accepted_invalid == 0
    assert summary.refused_valid == 1
    assert "WARNING 1 valid payloads were refused" in summary.line()


def test_delivery_failures_stop_the_run() -> None:
    def broken(_payload: dict[str, Any]) -> None:
        raise DeliveryError("broker gone")

    with pytest.raises(DeliveryError):
        run_simulation(simulate(5, 1, seed=1), broken, lambda _e: None)


def test_progress_is_throttled_and_ends_with_a_summary_line() -> None:
    sim = simulate(40, 3, seed=2)
    n = sum(1 for _ in sim)
    stream = io.StringIO()
    clock = FakeClock()
    summary = run_simulation(
        sim,
        lambda _p: None,
        lambda _e: None,
        rate=10.0,
        progress=True,
        clock=clock,
        sleep=clock.sleep,
        stream=stream,
    )
    lines = stream.getvalue().splitlines()
    elapsed = clock.now - 1_000.0
    assert elapsed > 20
    assert len(lines) <= elapsed / 5.0 + 2  # a line every 5 s at most when not on a terminal
    assert len(lines) >= 2
    assert lines[-1] == summary.line()
    assert f"produced {n:,} events" in lines[-1]
    assert "ev/s" in lines[0]
    assert "%" in lines[0]


def test_progress_bar_redraws_at_most_five_times_a_second_on_a_terminal() -> None:
    stream = TtyBuffer()
    clock = FakeClock()
    bar = ProgressBar(stream, clock)
    for sent in range(10_000):
        clock.now += 0.001
        bar.update(sent, None)
    assert bar.interval == 0.2
    assert 45 <= bar.draws <= 51
    assert stream.getvalue().count("\r") == bar.draws
    bar.close(RunSummary(10_000, 0, 0, 0, 0, 0, 10.0))
    assert stream.getvalue().endswith(
        "produced 10,000 events in 10.0 s (1,000 ev/s): 10,000 valid, 0 invalid "
        "(0 refused by the SDK, 0 wire poison)\n"
    )


def test_no_output_without_progress() -> None:
    stream = io.StringIO()
    run_simulation(simulate(5, 1, seed=1), lambda _p: None, lambda _e: None, stream=stream)
    assert stream.getvalue() == ""
