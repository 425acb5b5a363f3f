"""Faust's own ceiling: a worker whose one agent iterates its topics and does nothing else.

Run as a real worker process by the stage benchmarks (``python -m tests.bench.faust_noop worker``),
so the stage and its baseline pay for the same things: a separate process, the same broker, the
same Faust consumer settings as ``streams.app.create_app`` (session timeout, metadata age,
``earliest``, raw serializers, the project's seek fix). Configured by environment variables, since
Faust's CLI owns the command line:

- ``NOOP_APP_ID`` (also the consumer group), ``NOOP_TOPICS`` (comma list), ``NOOP_BROKERS``,
  ``NOOP_WEB_PORT``, ``NOOP_DATA_DIR``.

``GET /noop`` answers ``{"count", "first", "last", "cpu_first", "cpu_last", "cpu", "rss"}``: events
seen, the wall-clock times (``time.time()``) and process CPU seconds (``time.process_time()``, all
threads) at the first and the last one, CPU and resident set size (bytes) now. The agent stamps
its own times, so the benchmark's clock does not depend on how often it polls.
"""

from __future__ import annotations

import os
import resource
import time
from typing import Any

import faust

from streams import faust_fixes


def _rss_bytes() -> int:
    """Current resident set size (not the peak): /proc is exact and cheap on Linux."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        return 0


def create_app(environ: dict[str, str] | None = None) -> faust.App:
    env = os.environ if environ is None else environ
    faust_fixes.apply()
    app_id = env["NOOP_APP_ID"]
    app = faust.App(
        app_id,
        broker=[f"kafka://{b}" for b in env.get("NOOP_BROKERS", "127.0.0.1:19092").split(",")],
        datadir=env.get("NOOP_DATA_DIR", f".run/faust/{app_id}"),
        store="memory://",
        web_host="127.0.0.1",
        web_port=int(env.get("NOOP_WEB_PORT", "6099")),
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10,
        consumer_metadata_max_age_ms=10_000,
        producer_metadata_max_age_ms=10_000,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    topics = [t for t in env["NOOP_TOPICS"].split(",") if t]
    source = app.topic(*topics, key_serializer="raw", value_serializer="raw")
    seen: dict[str, Any] = {"count": 0, "first": None, "last": None, "cpu_first": None, "cpu_last": None}

    async def noop(stream: faust.StreamT[bytes]) -> None:
        """Iterate events exactly as the stages do (``stream.events()``), doing nothing with them."""
        async for _event in stream.events():
            now, cpu = time.time(), time.process_time()
            if seen["first"] is None:
                seen["first"], seen["cpu_first"] = now, cpu
            seen["count"] += 1
            seen["last"], seen["cpu_last"] = now, cpu

    app.agent(source, name=f"{app_id}.noop")(noop)

    @app.page("/noop")
    async def status(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return web.json({**seen, "cpu": time.process_time(), "rss": _rss_bytes()})

    return app


def main() -> None:
    create_app().main()


if __name__ == "__main__":
    main()
