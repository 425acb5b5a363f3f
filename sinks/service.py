"""Running the sink as a process: open the store, migrate, serve queries, consume until stopped."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from types import FrameType

from schemas.codec import Codec
from sinks.migrate import migrate, schema_version
from sinks.query_server import make_server
from sinks.runner import SinkConfig, SinkRunner
from sinks.store import StoreConfig, open_store
from sinks.writer import BatchWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceConfig:
    sink: SinkConfig
    store: StoreConfig
    http_host: str = "127.0.0.1"
    http_port: int = 6067


def serve(config: ServiceConfig, codec: Codec | None = None) -> None:
    """Block until SIGTERM/SIGINT; then flush, commit and release the store."""
    client = open_store(config.store)
    applied = migrate(client)
    log.info(
        "store %s at schema version %d (applied now: %s)", config.store.url, schema_version(client), applied
    )
    lock = threading.Lock()
    runner = SinkRunner(config.sink, BatchWriter(client, lock), codec)
    server = make_server(config.http_host, config.http_port, client, lock, runner.status.as_dict)
    http = threading.Thread(target=server.serve_forever, name="sink-http", daemon=True)
    http.start()

    def _stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the current batch", signum)
        runner.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info(
        "sink consuming %s as group %s; http on %s:%d",
        runner.router.source_topics,
        config.sink.group_id,
        config.http_host,
        config.http_port,
    )
    try:
        runner.run()
    finally:
        server.shutdown()
        client.close()
        log.info("sink stopped: %s", runner.status.as_dict())
