"""Feeding a simulation to the producers at a chosen rate, with a progress line on stderr.

For ``omnijourney produce --customers N --days D --rate R``: the CLI passes two callables and this
module does the rest: a token bucket on a monotonic clock holds the rate (no drift: tokens accrue
from elapsed time, not from sleeps), and a progress bar shows how far through the simulated period
the run is, throttled so printing never costs throughput. Clock, sleep and stream are injectable,
so tests check the pacing without real sleeping.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from producers.simulator.events import SimulatedEvent
from schemas.errors import InvalidEventError, SchemaError

Clock = Callable[[], float]
Sleep = Callable[[float], None]
REFUSALS = (InvalidEventError, SchemaError)  # how the SDK says "this payload is not a touchpoint"


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, bursts up to ``capacity``.

    The default capacity is a tenth of a second's worth (at least one), so a paced run never sends
    much faster than asked even briefly, yet high rates do not sleep once per event.
    """

    def __init__(
        self,
        rate: float,
        *,
        capacity: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        min_sleep: float = 0.001,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1.0, rate / 10) if capacity is None else capacity
        if self.capacity < 1:
            raise ValueError("capacity must allow at least one token")
        self._clock, self._sleep, self._min_sleep = clock, sleep, min_sleep
        self._tokens = self.capacity
        self._last = clock()

    def acquire(self) -> None:
        """Take one token, sleeping until one is available."""
        while True:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return
            self._sleep(max((1.0 - self._tokens) / self.rate, self._min_sleep))


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a run handed to the producers, and what the SDK refused."""

    valid: int
    sdk_invalid: int  # invalid payloads handed to send_valid
    wire: int  # wire poison handed to send_raw
    refused: int  # invalid payloads the SDK refused, as it should
    accepted_invalid: int  # invalid payloads the SDK let through: an SDK gap
    refused_valid: int  # valid payloads the SDK refused: a bug on one side or the other
    elapsed_s: float

    @property
    def total(self) -> int:
        return self.valid + self.sdk_invalid + self.wire

    @property
    def events_per_s(self) -> float:
        return self.total / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def line(self) -> str:
        text = (
            f"produced {self.total:,} events in {self.elapsed_s:.1f} s ({self.events_per_s:,.0f} ev/s): "
            f"{self.valid:,} valid, {self.sdk_invalid + self.wire:,} invalid "
            f"({self.refused:,} refused by the SDK, {self.wire:,} wire poison)"
        )
        if self.accepted_invalid:
            text += f"; WARNING {self.accepted_invalid:,} invalid payloads were accepted"
        if self.refused_valid:
            text += f"; WARNING {self.refused_valid:,} valid payloads were refused"
        return text


class ProgressBar:
    """One self-overwriting line: bar over the simulated period, events sent, events per second.

    Redraws at most every ``interval`` seconds (0.2 s on a terminal; 5 s, one line each, when
    stderr is a file or pipe so logs stay readable).
    """

    def __init__(
        self,
        stream: TextIO,
        clock: Clock,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        interval: float | None = None,
        width: int = 24,
    ) -> None:
        self._stream, self._clock, self._start, self._end, self._width = stream, clock, start, end, width
        self._tty = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = (0.2 if self._tty else 5.0) if interval is None else interval
        self._began = clock()
        self._next = self._began + self.interval
        self.draws = 0

    def update(self, sent: int, last: SimulatedEvent | None) -> None:
        """Called per event; cheap unless it is time to redraw."""
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self.interval
        self._draw(sent, None if last is None else last.arrival_time, now)

    def _draw(self, sent: int, at: dt.datetime | None, now: float) -> None:
        elapsed = now - self._began
        rate = sent / elapsed if elapsed > 0 else 0.0
        bar = ""
        if self._start is not None and self._end is not None and at is not None and self._end > self._start:
            done = min(1.0, max(0.0, (at - self._start) / (self._end - self._start)))
            filled = int(done * self._width)
            bar = f"[{'#' * filled}{'-' * (self._width - filled)}] {done:4.0%} {at:%Y-%m-%d %H:%M} | "
        text = f"{bar}{sent:,} events | {rate:,.0f} ev/s | {elapsed:,.0f} s"
        self._stream.write(f"\r{text}\x1b[K" if self._tty else f"{text}\n")
        self._stream.flush()
        self.draws += 1

    def close(self, summary: RunSummary) -> None:
        self._stream.write(("\r\x1b[K" if self._tty else "") + summary.line() + "\n")
        self._stream.flush()


def run_simulation(
    simulation: Iterable[SimulatedEvent],
    send_valid: Callable[[dict[str, Any]], None],
    send_raw: Callable[[SimulatedEvent], None],
    rate: float | None = None,
    progress: bool = False,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    stream: TextIO | None = None,
) -> RunSummary:
    """Send every simulated event, in arrival order, at most ``rate`` per second.

    Valid payloads *and* SDK-invalid payloads go to ``send_valid`` (the SDK entry point): refusing
    the latter with ``InvalidEventError`` (or ``SchemaError``) is the SDK's job and is counted, not
    raised. Wire poison goes to ``send_raw``, which must put ``event.wire`` on the channel's topic
    as is. Any other exception (a delivery failure, say) stops the run and propagates.
    """
    bucket = None if rate is None else TokenBucket(rate, clock=clock, sleep=sleep)
    bar = None
    if progress:
        start, end = getattr(simulation, "start", None), getattr(simulation, "end", None)
        bar = ProgressBar(sys.stderr if stream is None else stream, clock, start, end)
    valid = sdk_invalid = wire = refused = accepted_invalid = refused_valid = 0
    began = clock()
    for event in simulation:
        if bucket is not None:
            bucket.acquire()
        if event.wire is not None:
            send_raw(event)
            wire += 1
        elif event.valid:
            valid += 1
            try:
                send_valid(event.payload)
            except REFUSALS:
                refused_valid += 1
        else:
            sdk_invalid += 1
            try:
                send_valid(event.payload)
            except REFUSALS:
                refused += 1
            else:
                accepted_invalid += 1
        if bar is not None:
            bar.update(valid + sdk_invalid + wire, event)
    summary = RunSummary(valid, sdk_invalid, wire, refused, accepted_invalid, refused_valid, clock() - began)
    if bar is not None:
        bar.close(summary)
    return summary
