"""Test only: the omnijourney worker plus one agent that crashes on a poison value.

Started by test_worker_crash.py as ``python -m tests.integration.crashing_worker worker``, with the
usual ``OMNIJOURNEY_*`` settings and two more: ``CRASH_TEST_TOPIC`` (what the extra agent reads)
and ``CRASH_TEST_SEEN`` (a file where it appends every value it receives, one per line, before
looking at it). The crash policy, the metrics page and the logging setup (JSON lines) are the
production ones; applying them here as well is harmless once ``create_app`` does it itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import faust

POISON = b"poison"
STAGE = "crash-test"


def build() -> faust.App:
    from streams import metrics
    from streams.app import create_app
    from streams.crash_policy import exit_on_agent_crash
    from streams.logging_setup import faust_logging_config
    from streams.settings import load_settings

    app = create_app(load_settings())
    app.conf.logging_config = faust_logging_config("json")
    exit_on_agent_crash(app)
    metrics.register_metrics_page(app)
    seen = Path(os.environ["CRASH_TEST_SEEN"])
    counts = metrics.StageMetrics(STAGE)
    topic = app.topic(os.environ["CRASH_TEST_TOPIC"], key_serializer="raw", value_serializer="raw")

    async def crash_on_poison(stream: faust.StreamT[bytes]) -> None:
        async for value in stream:
            with seen.open("ab") as out:  # noqa: ASYNC230 - a few bytes per test event
                out.write(value + b"\n")
            counts.count_in()
            if value == POISON:
                raise RuntimeError("poison value: crashing on purpose")

    app.agent(topic, name=f"{app.conf.id}.{STAGE}")(crash_on_poison)
    return app


if __name__ == "__main__":
    build().main()
