"""Running the sink as a process: serve health and queries, consume until stopped.

The store is opened (and its DDL applied) before /health answers; a store that cannot be reached
then leaves the sink running degraded, reporting why on /health while the runner retries with
backoff, instead of exiting.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from types import FrameType

from schemas.codec import Codec
from schemas.errors import StoreError
from sinks.connection import StoreConnection
from sinks.query_server import make_server
from sinks.runner import SinkConfig, SinkRunner
from sinks.store import StoreConfig
from sinks.writer import BatchWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceConfig:
    sink: SinkConfig
    store: StoreConfig
    http_host: str = "127.0.0.1"
    http_port: int = 6067
    token: str | None = None  # bearer token /sql asks for; None: open (a deployment without one)


def serve(config: ServiceConfig, codec: Codec | None = None) -> None:
    """Block until SIGTERM/SIGINT; then flush, commit and release the store."""
    store = StoreConnection(config.store)
    try:
        store.connect()  # before /health answers, so a healthy sink can always be queried
    except StoreError as exc:
        log.warning("store %s cannot be opened (%s); starting degraded", config.store.url, exc.message)
    runner = SinkRunner(config.sink, BatchWriter(store), codec)
    server = make_server(config.http_host, config.http_port, store, runner.status.as_dict, config.token)
    http = threading.Thread(target=server.serve_forever, name="sink-http", daemon=True)
    http.start()

    def _stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the current batch", signum)
        runner.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info(
        "sink consuming %s as group %s into %s; http on %s:%d",
        runner.router.source_topics,
        config.sink.group_id,
        config.store.url,
        config.http_host,
        config.http_port,
    )
    try:
        runner.run()
    finally:
        server.shutdown()
        store.close()
        log.info("sink stopped: %s", runner.status.as_dict())
