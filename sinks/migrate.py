"""Applying the DDL in ``sinks/ddl/`` idempotently, recording each version in ``schema_migrations``.

Every sink start calls :func:`migrate`; a store already at the newest version is left untouched,
and a store at an older version gets only the files it lacks.
"""

from __future__ import annotations

from typing import Any

from sinks.ddl_files import Migration, load_migrations
from sinks.store import to_store_error

MIGRATIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY version
"""


def applied_versions(client: Any) -> set[int]:
    client.command(MIGRATIONS_DDL)
    return {int(row[0]) for row in client.query("SELECT version FROM schema_migrations FINAL").result_rows}


def migrate(client: Any, migrations: list[Migration] | None = None) -> list[int]:
    """Apply what is missing, in order; return the versions applied now.

    Statements are ``IF NOT EXISTS``-safe, so a crash between a statement and the version record
    is repaired by running the same file again.
    """
    pending = [m for m in (migrations or load_migrations()) if m.version not in applied_versions(client)]
    for migration in pending:
        for statement in migration.statements:
            try:
                client.command(statement)
            except Exception as exc:
                raise to_store_error(exc, f"migration {migration.version:03d}_{migration.name}") from exc
        client.insert(
            "schema_migrations", [[migration.version, migration.name]], column_names=["version", "name"]
        )
    return [m.version for m in pending]


def schema_version(client: Any) -> int:
    """The newest applied DDL version (0 for an empty store)."""
    return max(applied_versions(client), default=0)
