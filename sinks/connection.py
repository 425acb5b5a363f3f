"""The sink's hold on its store: opened (and migrated) on first use, and again after a failure.

Why lazily: a store that cannot be reached when the sink starts must not crash it. The sink starts
degraded, keeps its consumer group membership with consumption paused, and opens the store when
it can (see :class:`sinks.runner.SinkRunner`). The query endpoint shares the one client, under
the same lock as the writes (chDB allows one client per directory and process).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from schemas.errors import StoreError
from sinks.ddl_files import Migration
from sinks.migrate import migrate, schema_version
from sinks.store import StoreConfig, open_store, to_store_error

log = logging.getLogger(__name__)


class StoreConnection:
    """A store client opened on demand; ``migrations`` None means every file in ``sinks/ddl``."""

    def __init__(
        self,
        config: StoreConfig | None = None,
        *,
        client: Any = None,
        migrations: list[Migration] | None = None,
        lock: threading.Lock | None = None,
    ) -> None:
        if config is None and client is None:
            raise ValueError("a StoreConnection needs a store config or an open client")
        self.config = config
        self.client = client
        self.migrations = migrations
        self.lock = lock or threading.Lock()
        self.version: int | None = None

    @property
    def connected(self) -> bool:
        return self.client is not None

    @property
    def url(self) -> str:
        return self.config.url if self.config else "(client)"

    def connect(self) -> Any:
        """The client, opening the store and applying missing DDL first if needed.

        Raises :class:`StoreError`. A client handed in ready-made is used as it is, unmigrated.
        """
        if self.client is not None:
            return self.client
        assert self.config is not None
        with self.lock:  # connect() runs on the runner's thread only; the lock keeps /sql out
            client = open_store(self.config)
            try:
                applied = migrate(client, self.migrations)
                self.version = schema_version(client)
            except StoreError:
                client.close()
                raise
            except Exception as exc:
                client.close()
                raise to_store_error(exc, "migrating the store") from exc
            log.info(
                "store %s at schema version %s (applied now: %s)", self.config.url, self.version, applied
            )
            self.client = client
            return client

    def close(self) -> None:
        with self.lock:
            if self.client is not None and self.config is not None:
                self.client.close()
            self.client = None
