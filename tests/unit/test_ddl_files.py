"""DDL files: statement splitting and version ordering."""

from __future__ import annotations

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
