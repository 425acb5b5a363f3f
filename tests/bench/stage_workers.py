"""Worker processes of the stage benchmarks, and how they are watched and measured.

``omnijourney worker`` with chosen ``OMNIJOURNEY_STAGES``, and the no-op Faust worker of
:mod:`tests.bench.faust_noop`, each a real process on a :class:`~tests.bench.stage_common.Corner`,
measured from its first event to its last (see :func:`measure`), then until its group's
committed lag is 0.

Why two end marks: Faust commits every 2.8 s, so "lag 0" lands up to 2.8 s after the last event
was processed; on runs of a few seconds that would decide the ratio. The figure is therefore
events / (last event processed - first event processed), read from the worker's own counters
(``/metrics``, or ``/noop`` for the no-op worker, which stamps its own times); the time to lag 0
is reported beside it in the JSON (``lag0_rate``). Each look also reads the process's CPU
seconds and resident set size, for CPU per event and memory growth.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from schemas.topics import KafkaOptions
from streams.admin import group_lag
from streams.supervise import Service, start, wait_http
from tests.bench.stage_common import BROKERS, ROOT, Corner, free_port, log, row

POLL_S = 0.1  # how often a worker's counters are read (its resolution; a scrape costs the worker ~1 ms)
Metrics = dict[str, float]


# -- workers --------------------------------------------------------------------------------------


@dataclass
class Worker:
    """A running worker process and where it answers."""

    service: Service
    url: str
    group: str

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return bytes(response.read())


def start_stage_worker(corner: Corner, name: str, **settings: str) -> Worker:
    """``omnijourney worker`` on the corner, with ``settings`` (e.g. ``stages="identity"``)."""
    app_id = f"{corner.tag}-{name}"
    env = corner.env(app_id, **settings)
    service = start(name, ["worker", "-l", "info"], env, corner.base / "run")
    corner.services.append(service)
    url = f"http://127.0.0.1:{env['OMNIJOURNEY_WEB_PORT']}"
    wait_http(f"{url}/health", service)
    return Worker(service, url, app_id)


def start_noop_worker(corner: Corner, topics: list[str]) -> Worker:
    """The no-op Faust worker of :mod:`tests.bench.faust_noop` on ``topics``."""
    app_id = f"{corner.tag}-noop"
    port = free_port()
    env = {
        "NOOP_APP_ID": app_id,
        "NOOP_TOPICS": ",".join(topics),
        "NOOP_BROKERS": str(corner.kafka["bootstrap.servers"]),
        "NOOP_WEB_PORT": str(port),
        "NOOP_DATA_DIR": str(corner.base / app_id),
        **corner.worker_env,
    }
    corner.groups.append(app_id)
    base = corner.base / "run"
    (base / "logs").mkdir(parents=True, exist_ok=True)
    log_path, pid_path = base / "logs" / "noop.log", base / "noop.pid"
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.faust_noop", "worker", "-l", "info"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **env},
            start_new_session=True,
        )
    pid_path.write_text(str(process.pid))
    service = Service("noop", process, log_path, pid_path)
    corner.services.append(service)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/noop", service)
    return Worker(service, url, app_id)


def scrape(worker: Worker) -> Metrics:
    """The worker's /metrics as ``{'name{labels}': value}`` (labels as exposed, in order)."""
    out: Metrics = {}
    for line in worker.get("/metrics").decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


Counted = tuple[str, dict[str, str]]  # a sample name and the labels it must have
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def sample_parts(key: str) -> tuple[str, dict[str, str]]:
    """``'name{a="x",b="y"}'`` as ``('name', {'a': 'x', 'b': 'y'})``."""
    name, _, rest = key.partition("{")
    return name, dict(_LABEL.findall(rest))


def total(metrics: Metrics, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` that carry at least ``labels`` (in any order)."""
    out = 0.0
    for key, value in metrics.items():
        sample, held = sample_parts(key)
        if sample == name and all(held.get(k) == v for k, v in labels.items()):
            out += value
    return out


def counter(name: str, **labels: str) -> Counted:
    """One of our counters (``omnijourney_<name>_total``) restricted to ``labels``."""
    return f"omnijourney_{name}_total", labels


class Progress(NamedTuple):
    """One look at a running worker."""

    done: float  # input events fully handled
    activity: float  # any counter that moves while the worker works
    rss: float  # resident set size, bytes
    cpu: float  # process CPU seconds so far (all threads)
    metrics: Metrics


@dataclass
class Run:
    """One measured worker run."""

    events: int
    seconds: float  # first event processed -> last event processed
    lag0_seconds: float  # first event processed -> committed lag 0 on every input topic
    rss_ready: float
    rss_after: float
    cpu_seconds: float  # process CPU between the two looks that saw the first and the last event
    ended: str  # "done": every event handled; "capped": stopped at the time cap; "quiet": see measure
    metrics: Metrics = field(default_factory=dict)  # the last look's /metrics

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def lag0_rate(self) -> float:
        return self.events / self.lag0_seconds if self.lag0_seconds > 0 else 0.0

    @property
    def cpu_us(self) -> float:
        """Process CPU per event: what the worker costs, whatever else the machine is doing."""
        return self.cpu_seconds / self.events * 1e6 if self.events else 0.0


def look(worker: Worker, progress: Callable[[Worker], Progress], tries: int = 20) -> Progress:
    """``progress(worker)``, riding out a busy worker's slow answer; a dead worker fails with its log."""
    for attempt in range(tries):
        if not worker.service.alive():
            break
        try:
            return progress(worker)
        except OSError:
            time.sleep(0.1 * (attempt + 1))
    raise RuntimeError(
        f"{worker.service.name} stopped answering (exit code {worker.service.process.poll()}):\n"
        f"{worker.service.log_tail()}"
    )


def measure(
    worker: Worker,
    events: int,
    progress: Callable[[Worker], Progress],
    lag_topics: list[str],
    max_s: float = 0.0,
    timeout_s: float = 240.0,
    quiet_s: float = 8.0,
) -> Run:
    """Watch a worker from start to finish (see :class:`Progress` for what it reports).

    The run ends when ``done`` reaches ``events`` (``ended="done"``); the first and the last
    time ``activity`` moved are the clock's ends (hops between partitions count as work), and
    then the committed lag is awaited. It also ends ``max_s`` after the first event when that is
    set (``"capped"``: the figure is then the events done by then over the time taken, the lag
    is not awaited), or when activity stopped for ``quiet_s`` with the lag at 0 before ``done``
    was reached (``"quiet"``): a stage that loses events is reported, not waited for forever.
    """
    kafka: KafkaOptions = {"bootstrap.servers": BROKERS}
    ready = look(worker, progress)
    first = last = 0.0
    cpu_first = cpu_last = ready.cpu
    last_activity = ready.activity
    deadline = time.monotonic() + timeout_s
    while True:
        seen = look(worker, progress)
        now = time.time()
        if seen.activity != last_activity or (seen.activity and not first):
            if not first:
                first, cpu_first = now, seen.cpu
            last, last_activity, cpu_last = now, seen.activity, seen.cpu
        if seen.done >= events:
            ended = "done"
            break
        if max_s and first and now - first >= max_s:
            seconds, cpu = now - first, seen.cpu - cpu_first
            log(
                f"{worker.service.name}: capped after {seconds:.0f}s at {seen.done:,.0f} of {events:,} events"
            )
            return Run(int(seen.done), seconds, 0.0, ready.rss, seen.rss, cpu, "capped", seen.metrics)
        if first and now - last > quiet_s and group_lag(kafka, worker.group, lag_topics) == 0:
            ended = "quiet"
            break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{worker.service.name}: {seen.done:.0f} of {events} events in {timeout_s:.0f}s"
            )
        time.sleep(POLL_S)
    while group_lag(kafka, worker.group, lag_topics) and time.monotonic() < deadline:
        time.sleep(0.1)
    lag0 = time.time() - first
    after = look(worker, progress)
    seconds = max(last - first, 1e-9)
    return Run(events, seconds, lag0, ready.rss, after.rss, cpu_last - cpu_first, ended, after.metrics)


def stage_progress(done_counters: list[Counted]) -> Callable[[Worker], Progress]:
    """Progress of an ``omnijourney worker``: ``done`` sums the counters given (see
    :func:`counter`), ``activity`` every stage's events in and out."""

    def progress(worker: Worker) -> Progress:
        m = scrape(worker)
        done = sum(total(m, name, **labels) for name, labels in done_counters)
        return Progress(
            done,
            total(m, "omnijourney_stage_events_in_total") + total(m, "omnijourney_stage_events_out_total"),
            m.get("process_resident_memory_bytes", 0.0),
            m.get("process_cpu_seconds_total", 0.0),
            m,
        )

    return progress


def noop_progress(worker: Worker) -> Progress:
    seen = json.loads(worker.get("/noop"))
    count = float(seen["count"])
    return Progress(count, count, float(seen["rss"]), float(seen["cpu"]), {})


def measure_noop(worker: Worker, events: int, topics: list[str]) -> Run:
    """The no-op worker, timed by its own stamps of its first and last event (no poll error)."""
    run = measure(worker, events, noop_progress, topics)
    seen = json.loads(worker.get("/noop"))
    seconds = float(seen["last"]) - float(seen["first"])
    cpu = float(seen["cpu_last"]) - float(seen["cpu_first"])
    return Run(events, seconds, run.lag0_seconds, run.rss_ready, run.rss_after, cpu, run.ended)


def outputs(metrics: Metrics) -> str:
    """The stage counters of a /metrics look, short: ``in identity-route 1,234; out ...``."""
    parts = []
    kinds = {
        "omnijourney_stage_events_in_total": "in",
        "omnijourney_stage_events_out_total": "out",
        "omnijourney_dead_letters_total": "dead",
    }
    for key, value in sorted(metrics.items()):
        name, labels = sample_parts(key)
        if name in kinds:
            parts.append(f"{kinds[name]} {'/'.join(labels.values())} {value:,.0f}")
    return "; ".join(parts) or "-"


def describe(run: Run, unit: str) -> str:
    """One line about a stage run, for the progress output."""
    lag0 = f"{run.lag0_rate:,.0f}/s" if run.lag0_rate else "not awaited"
    return (
        f"{run.rate:,.0f} {unit}/s ({run.events:,} in {run.seconds:.1f}s, {run.ended}; {run.cpu_us:.0f} us "
        f"CPU each; to lag 0 {lag0}); {outputs(run.metrics)}"
    )


def stage_rows(
    name: str, stage: Run, noop: Run, decode_rate: float, unit: str, **extra: Any
) -> list[dict[str, Any]]:
    """The rows of one stage: throughput beside the no-op Faust worker and beside read+decode, and
    events per CPU-second beside the no-op's (the machine is shared: CPU per event moves far less
    with the neighbours' load than events per second do)."""
    details = {
        **extra,
        "seconds": round(stage.seconds, 2),
        "lag0_rate": round(stage.lag0_rate, 1),
        "ended": stage.ended,
        "cpu_us_per_event": round(stage.cpu_us, 1),
        "rss_growth_bytes": stage.rss_after - stage.rss_ready,
    }
    per_cpu = 1e6 / stage.cpu_us if stage.cpu_us else 0.0
    noop_per_cpu = 1e6 / noop.cpu_us if noop.cpu_us else 0.0
    noop_details = {
        "noop_lag0_rate": round(noop.lag0_rate, 1),
        "noop_cpu_us_per_event": round(noop.cpu_us, 1),
    }
    return [
        row(f"{name}_vs_noop", stage.rate, noop.rate, f"{unit}/s", "no-op Faust agent",
            **details, **noop_details),
        row(f"{name}_vs_decode", stage.rate, decode_rate, f"{unit}/s", "confluent-kafka read + Codec.decode",
            **details),
        row(f"{name}_per_cpu", per_cpu, noop_per_cpu, f"{unit}/CPU-s", "no-op Faust agent, per CPU-s",
            **details, **noop_details),
    ]  # fmt: skip


def start_py_spy(worker: Worker, out: Path) -> subprocess.Popen[bytes]:
    """Sample the worker with py-spy (collapsed stacks in ``out``) until :func:`stop_py_spy`."""
    spy = ROOT / ".venv" / "bin" / "py-spy"
    return subprocess.Popen(
        [str(spy), "record", "--pid", str(worker.service.process.pid), "--format", "raw", "--rate", "200",
         "--nonblocking", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def stop_py_spy(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is None:
        return
    spy.send_signal(2)  # SIGINT: py-spy writes its output and exits
    try:
        spy.wait(timeout=30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()
