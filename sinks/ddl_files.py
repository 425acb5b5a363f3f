"""Reading the versioned DDL files in ``sinks/ddl/``: ``NNN_name.sql``, statements ending in ``;``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import SchemaError

DDL_DIR = Path(__file__).resolve().parent / "ddl"
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One DDL file: applied once, in version order, and recorded in ``schema_migrations``."""

    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(sql: str) -> tuple[str, ...]:
    """Statements of a DDL file, comments dropped; a statement ends with ``;`` at the end of a line.

    Only whole-line ``--`` comments are supported, which keeps ``;`` inside comments harmless
    without parsing SQL strings.
    """
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip().removesuffix(";").strip())
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return tuple(s for s in statements if s)


def load_migrations(directory: Path = DDL_DIR) -> list[Migration]:
    """Every ``NNN_name.sql`` in ``directory``, by version; duplicate versions are an error."""
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise SchemaError(f"{path.name}: DDL files are named NNN_name.sql")
        version = int(match.group(1))
        if version in migrations:
            raise SchemaError(f"{path.name}: version {version} is used twice")
        statements = split_statements(path.read_text(encoding="utf-8"))
        migrations[version] = Migration(version, match.group(2), statements)
    return [migrations[v] for v in sorted(migrations)]
