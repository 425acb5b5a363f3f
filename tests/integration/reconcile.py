"""What a test produced against what ClickHouse holds: every valid touchpoint once, every poison dead.

Shared by the fault tests (tests/integration/test_faults_*.py) and the end-to-end test. A fault
test keeps a :class:`Produced` ledger of what it put on the touchpoint topics, runs its services
through a :class:`Fleet` (started, stopped and, when the test fails, shown by their log tails), waits
with :func:`wait_stored` and then calls :func:`assert_reconciled`, which checks ClickHouse from the
sink's /sql:

- ``touchpoints FINAL`` has exactly one row per valid event id, and no other event id;
- ``v_touchpoints`` counts exactly as many rows as there are valid events;
- the live sessions in ``v_sessions`` account for exactly as many touchpoints (the journey
  stage folded each once, whatever was replayed);
- ``v_dead_letters`` holds every poison record: the multiset of (SHA-256 of the kept payload,
  original size) equals the one of the raw records produced, so a poison record dead-lettered
  twice, or a valid one dead-lettered, fails as surely as a lost one.

Deadlines here are generous bounds that fail a hung test, never timing assertions.
"""

from __future__ import annotations

import collections
import hashlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from producers.simulator import RunSummary, SimulatedEvent
from streams.dead_letters import PAYLOAD_LIMIT
from streams.demo import wait_caught_up
from streams.produce import produce_events
from streams.settings import Settings
from streams.supervise import Service, start, wait_http
from tests.integration.conftest import Isolated
from tests.integration.sink_process import sql

DEAD_LETTER_SIGNATURE = "SELECT lower(hex(SHA256(ifNull(payload, '')))), payload_size FROM v_dead_letters"


def poison_signature(value: bytes) -> tuple[str, int]:
    """How a dead-lettered record is recognised in ClickHouse: hash of the kept bytes, original size."""
    return hashlib.sha256(value[:PAYLOAD_LIMIT]).hexdigest(), len(value)


@dataclass
class Produced:
    """The ledger of one test: valid event ids and raw records that must end in dead letters."""

    valid: set[str] = field(default_factory=set)
    poison: list[bytes] = field(default_factory=list)

    def add_simulation(self, events: Iterable[SimulatedEvent]) -> Produced:
        """What a simulation puts on the wire: its valid events, and its wire poison as raw bytes.

        SDK-invalid events are refused by the producer SDK and never reach a topic.
        """
        for event in events:
            if event.wire is not None:
                self.poison.append(event.wire)
            elif event.valid:
                self.valid.add(event.event_id)
        return self


class Feed(threading.Thread):
    """Simulated events produced in the background at ``rate`` per second, held at ``holds``.

    The stream stops before each index in ``holds`` until :meth:`release` is called, so a fault
    injected before that release lands mid-stream however slow the machine is: part of the stream
    is on the broker, the rest comes after. :meth:`result` re-raises whatever stopped the producer.
    """

    def __init__(
        self,
        settings: Settings,
        events: Sequence[SimulatedEvent],
        rate: float | None,
        holds: Sequence[int] = (),
        close_timeout_s: float = 30,
    ) -> None:
        super().__init__(name="feed", daemon=True)
        self.settings, self.events, self.rate, self.close_timeout_s = settings, events, rate, close_timeout_s
        self.gates = {at: threading.Event() for at in sorted(holds)}
        self.sent = 0
        self.summary: RunSummary | None = None
        self.error: BaseException | None = None

    def _stream(self) -> Iterator[SimulatedEvent]:
        for i, event in enumerate(self.events):
            gate = self.gates.get(i)
            if gate is not None and not gate.wait(timeout=900):
                raise TimeoutError(f"the feed was never released at event {i}")
            self.sent = i
            yield event

    def run(self) -> None:
        try:
            self.summary = produce_events(
                self.settings, self._stream(), rate=self.rate, close_timeout_s=self.close_timeout_s
            )
        except BaseException as exc:
            self.error = exc

    def release(self) -> None:
        """Let the stream go on past its next hold."""
        next(gate for gate in self.gates.values() if not gate.is_set()).set()

    def reached(self, index: int) -> bool:
        """Whether the producer has taken event ``index`` (or is waiting at a hold right before it)."""
        return self.sent >= index - 1 or self.error is not None

    def result(self, timeout_s: float = 600) -> RunSummary:
        for gate in self.gates.values():
            gate.set()
        self.join(timeout_s)
        assert not self.is_alive(), f"the producer still runs after {timeout_s:.0f}s"
        if self.error is not None:
            raise self.error
        assert self.summary is not None
        return self.summary


def rows(isolated: Isolated, query: str) -> list[list[Any]]:
    status, body = sql(isolated, query)
    assert status == 200, body
    return list(body["rows"])


def count(isolated: Isolated, query: str) -> int:
    return int(rows(isolated, query)[0][0])


def wait_stored(isolated: Isolated, produced: Produced, timeout_s: float = 600) -> None:
    """Until both consumer groups have caught up and the sink wrote what they committed.

    The sink commits after its write, but its last batch may be written after the last lag check,
    so the counts are polled up to the expected totals (never beyond a bound: the assertions that
    follow say what is missing).
    """
    wait_caught_up(isolated.settings, timeout_s=timeout_s)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        touchpoints = count(isolated, "SELECT count() FROM v_touchpoints")
        dead = count(isolated, "SELECT count() FROM v_dead_letters")
        if touchpoints >= len(produced.valid) and dead >= len(produced.poison):
            return
        time.sleep(1.0)


def assert_reconciled(isolated: Isolated, produced: Produced) -> None:
    """Every valid touchpoint exactly once in ClickHouse, every poison record in dead letters."""
    stored = rows(isolated, "SELECT toString(event_id), count() FROM touchpoints FINAL GROUP BY event_id")
    ids = {r[0] for r in stored}
    lost, extra = produced.valid - ids, ids - produced.valid
    assert (len(lost), len(extra)) == (0, 0), (
        f"{len(lost)} valid touchpoints lost (e.g. {sorted(lost)[:3]}), "
        f"{len(extra)} unexpected event ids stored (e.g. {sorted(extra)[:3]})"
    )
    doubled = [r for r in stored if r[1] != 1]
    assert not doubled, f"{len(doubled)} touchpoints with several rows in touchpoints FINAL: {doubled[:3]}"
    assert count(isolated, "SELECT count() FROM v_touchpoints") == len(produced.valid)

    # The journey stage's sessions count each touchpoint once: a replay after a crash or a
    # rebalance folded twice would show here, not in the touchpoints table.
    deadline, in_sessions = time.monotonic() + 60, -1
    while time.monotonic() < deadline:
        in_sessions = count(isolated, "SELECT sum(event_count) FROM v_sessions")
        if in_sessions >= len(produced.valid):
            break
        time.sleep(1.0)
    assert in_sessions == len(produced.valid), (
        f"sessions account for {in_sessions} touchpoints, {len(produced.valid)} were produced"
    )

    expected = collections.Counter(poison_signature(p) for p in produced.poison)
    dead = collections.Counter((str(r[0]), int(r[1])) for r in rows(isolated, DEAD_LETTER_SIGNATURE))
    missing, unexpected = expected - dead, dead - expected
    assert (missing.total(), unexpected.total()) == (0, 0), (
        f"{missing.total()} poison records not in dead_letters, "
        f"{unexpected.total()} dead letters nobody expected: {dict(unexpected)}"
    )


def wait_for(check: Callable[[], bool], what: str, fleet: Fleet, timeout_s: float = 300) -> None:
    """Poll ``check`` until true while every running service stays up (a bound, not a timing test)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        fleet.assert_alive()
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def group_members(settings: Settings, group: str) -> tuple[str, int]:
    """(state, member count) of a consumer group, e.g. ("STABLE", 2)."""
    admin = AdminClient(settings.kafka_client_config())
    description = next(iter(admin.describe_consumer_groups([group]).values())).result(timeout=30)
    return str(description.state).rpartition(".")[2], len(description.members)


class Fleet:
    """The pipeline processes one test runs, stopped at the end and shown when something fails.

    Every service ever started is kept (a killed worker too), so the log tails printed at the end
    cover the whole story; pytest shows them only for a test that failed. A service the test stops
    on purpose (:meth:`kill`, :meth:`retire`) is no longer expected to be alive.
    """

    def __init__(self, base: Path, env: dict[str, str]) -> None:
        self.base, self.env = base, env
        self.services: list[Service] = []
        self.retired: list[Service] = []

    def start(self, name: str, args: list[str], port: int, **env: str) -> Service:
        """Start ``omnijourney ARGS`` (``env`` over the fleet's) and wait for its /health on ``port``."""
        service = start(name, args, {**self.env, **env}, self.base / "run")
        self.services.append(service)
        wait_http(f"http://127.0.0.1:{port}/health", service)
        return service

    def worker(self, name: str, **env: str) -> Service:
        port = int(env.get("OMNIJOURNEY_WEB_PORT", self.env["OMNIJOURNEY_WEB_PORT"]))
        return self.start(name, ["worker", "-l", "info"], port, **env)

    def sink(self, name: str = "sink", **env: str) -> Service:
        return self.start(name, ["sink"], int(self.env["OMNIJOURNEY_SINK_PORT"]), **env)

    def expected(self) -> list[Service]:
        return [s for s in self.services if s not in self.retired]

    def assert_alive(self) -> None:
        dead = [s for s in self.expected() if not s.alive()]
        assert not dead, f"{[s.name for s in dead]} died:\n{self.tails()}"

    def kill(self, service: Service) -> int:
        """SIGKILL: no shutdown, no commit, no flush; returns the exit code (-9)."""
        self.retired.append(service)
        return service.stop(sig=signal.SIGKILL)

    def retire(self, service: Service) -> int:
        """SIGTERM, the way an operator scales down; returns the exit code."""
        self.retired.append(service)
        return service.stop(grace_s=60)

    def stop(self) -> dict[str, int]:
        """SIGTERM every expected service (in reverse start order); their exit codes by name."""
        return {s.name: s.stop(grace_s=60) for s in reversed(self.expected())}

    def tails(self, lines: int = 40) -> str:
        parts = []
        for s in self.services:
            state = "running" if s.alive() else f"exit {s.process.returncode}"
            parts.append(f"----- {s.name} ({state}), {s.log_path}\n{s.log_tail(lines)}")
        return "\n".join(parts)

    @contextmanager
    def watched(self) -> Iterator[Fleet]:
        """Stop the fleet at the end; print its log tails if anything failed; every exit must be 0."""
        try:
            yield self
        except BaseException:
            self.stop()
            print(self.tails(), file=sys.stdout)
            raise
        codes = self.stop()
        assert all(code == 0 for code in codes.values()), f"{codes}\n{self.tails()}"
