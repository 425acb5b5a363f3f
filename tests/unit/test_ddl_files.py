"""DDL files: statement splitting and version ordering."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from schemas.errors import SchemaError
from sinks.ddl_files import load_migrations, split_statements


def test_semicolons_in_comments_do_not_split() -> None:
    sql = (
        "-- note; with a semicolon\nCREATE TABLE a (x UInt8)\nENGINE = Memory;\n\n"
        "-- b;\nCREATE VIEW v AS SELECT 1;\n"
    )
    assert split_statements(sql) == ("CREATE TABLE a (x UInt8)\nENGINE = Memory", "CREATE VIEW v AS SELECT 1")


def test_shipped_migrations_are_ordered_and_non_empty() -> None:
    migrations = load_migrations()
    versions = [m.version for m in migrations]
    assert versions == sorted(versions)
    assert versions[0] == 1
    assert all(m.statements for m in migrations)


def test_misnamed_or_duplicate_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "001_a.sql").write_text("SELECT 1;")
    (tmp_path / "001_b.sql").write_text("SELECT 2;")
    with pytest.raises(SchemaError, match="used twice"):
        load_migrations(tmp_path)
    (tmp_path / "001_b.sql").unlink()
    (tmp_path / "two.sql").write_text("SELECT 2;")
    with pytest.raises(SchemaError, match=r"NNN_name\.sql"):
        load_migrations(tmp_path)


# Stores in the field were created from released DDL files; a change to one would never reach
# them (its version is recorded as applied). Changes go in a new NNN_name.sql file instead.
RELEASED = {
    "001_touchpoints.sql": "34a42111c58340ac7547760923ccb668519798f21db3f9739ce10ae8ee6b2bba",
    "002_journeys_identities.sql": "514879ab18b15b8f997fb8674a4a074f566b4af2e7f8d2ff622e22e2cfd0af16",
    "003_session_tombstones.sql": "2a7f45d07af54531076d6ab5ff2ba8b139d6be595c11bab12fb0f3ffd80dab46",
    "004_erasures.sql": "910bc279728cfcded249b16cc1bad1219a29b727c7d9e462ed40959a1849eb73",
    "005_alert_retractions.sql": "0719232c358e649709f5c95a08b711523127c58b4ac1dec4ca061b7fe8144f34",
}


def test_released_ddl_files_are_never_edited() -> None:
    from sinks.ddl_files import DDL_DIR

    for name, digest in RELEASED.items():
        assert hashlib.sha256((DDL_DIR / name).read_bytes()).hexdigest() == digest, name


def test_every_statement_can_run_again() -> None:
    """migrate() may re-run a file whose version record was lost; every statement must tolerate that."""
    for migration in load_migrations():
        for statement in migration.statements:
            assert statement.upper().startswith(
                (
                    "CREATE TABLE IF NOT EXISTS",
                    "CREATE VIEW IF NOT EXISTS",
                    "CREATE MATERIALIZED VIEW IF NOT EXISTS",
                    "CREATE OR REPLACE VIEW",  # a later version redefining a view: idempotent too
                    "ALTER TABLE",  # only ADD COLUMN IF NOT EXISTS, checked below
                )
            ), statement.splitlines()[0]
            if statement.upper().startswith("ALTER TABLE"):
                assert " ADD COLUMN IF NOT EXISTS " in statement.upper(), statement.splitlines()[0]
