"""Opening the ClickHouse store by URL: embedded chDB (``chdb://PATH``) or a server.

Same clickhouse-connect client and the same DDL either way; only the connection differs. Errors
become :class:`StoreError` carrying the server's error code, and say whether a retry can help.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError, DatabaseError, OperationalError

from schemas.errors import StoreError

# Server error codes a later attempt can get past: timeouts, network, overload, memory, too many parts.
RETRYABLE_CODES = frozenset({159, 164, 202, 203, 209, 210, 241, 242, 252, 285, 319, 425, 999})


@dataclass(frozen=True)
class StoreConfig:
    """Where the store is. ``url`` never holds the password; ``password`` does."""

    url: str
    password: str | None = None
    connect_timeout_s: float = 10.0

    @property
    def embedded(self) -> bool:
        return self.url.startswith("chdb:")

    @property
    def chdb_path(self) -> Path:
        parts = urlsplit(self.url)
        return Path(parts.netloc + parts.path).expanduser().resolve()

    @property
    def database(self) -> str:
        if self.embedded:
            return "default"
        return urlsplit(self.url).path.strip("/") or "default"


def to_store_error(exc: Exception, action: str) -> StoreError:
    """Wrap a clickhouse-connect or chDB error, keeping the server's code and retryability."""
    code = getattr(exc, "code", None)
    code = code if isinstance(code, int) else None
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    retryable = isinstance(exc, OperationalError | ConnectionError | TimeoutError) or code in RETRYABLE_CODES
    return StoreError(f"{action}: {text}", code=code, retryable=retryable)


def open_store(config: StoreConfig, *, create_database: bool = True) -> Any:
    """A clickhouse-connect client for the configured store, its database created if missing.

    chDB locks its directory: only one process may hold it open at a time.
    """
    try:
        if config.embedded:
            config.chdb_path.mkdir(parents=True, exist_ok=True)
            return clickhouse_connect.get_client(
                interface="chdb", path=str(config.chdb_path), tz_mode="aware"
            )
        parts = urlsplit(config.url)
        secure = parts.scheme in ("clickhouses", "https")
        kwargs: dict[str, Any] = {
            "host": parts.hostname,
            "port": parts.port or (8443 if secure else 8123),
            "username": parts.username or "default",
            "password": config.password or "",
            "secure": secure,
            "connect_timeout": config.connect_timeout_s,
            "tz_mode": "aware",
        }
        if create_database and config.database != "default":
            bootstrap = clickhouse_connect.get_client(**kwargs)
            bootstrap.command(f"CREATE DATABASE IF NOT EXISTS `{config.database}`")
            bootstrap.close()
        return clickhouse_connect.get_client(database=config.database, **kwargs)
    except (ClickHouseError, DatabaseError, OSError, RuntimeError) as exc:
        raise to_store_error(exc, f"cannot open store {config.url}") from exc


@contextmanager
def store_session(config: StoreConfig) -> Iterator[Any]:
    """Open, yield and always close a client (releases chDB's directory lock)."""
    client = open_store(config)
    try:
        yield client
    finally:
        client.close()
