"""The Python path's Arrow tables match the DDL's columns and carry the records' values."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pytest

from schemas.codec import Codec
from schemas.models.base import AvroModel
from sinks.ddl_files import DDL_DIR
from sinks.specs import SPECS
from tests.integration.sink_helpers import alerts, dead_letters, encode, identity_changes, journeys, sessions

FACTORIES: dict[str, Callable[[], Sequence[AvroModel]]] = {
    "identity_changes": identity_changes,
    "journeys": journeys,
    "sessions": sessions,
    "alerts": alerts,
    "dead_letters": dead_letters,
}


def ddl_columns(table: str) -> list[str]:
    """Column names of ``CREATE TABLE table`` across the shipped DDL files, in order, with the
    columns later versions add (``ALTER TABLE table ADD COLUMN IF NOT EXISTS c ... AFTER b``)."""
    text = "\n".join(p.read_text() for p in sorted(DDL_DIR.glob("*.sql")))
    match = re.search(rf"CREATE TABLE IF NOT EXISTS {table}\s*\((.*?)\n\)\nENGINE", text, re.S)
    assert match, table
    columns = [
        line.split()[0]
        for line in match.group(1).splitlines()
        if line.strip() and not line.strip().startswith("--")
    ]
    added = re.finditer(rf"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS (\w+) [^;]*?(?:AFTER (\w+))?;", text)
    for column, after in (m.groups() for m in added):
        columns.insert(columns.index(after) + 1 if after else len(columns), column)
    return columns


@pytest.mark.parametrize("table", [*FACTORIES, "touchpoints"])
def test_arrow_columns_are_the_table_columns_but_inserted_at(table: str) -> None:
    if table == "touchpoints":
        from sinks.rows import TOUCHPOINT_COLUMNS

        names = list(TOUCHPOINT_COLUMNS)
    else:
        codec = Codec()
        records = [codec.decode(encode(codec, r)).record for r in FACTORIES[table]()]
        names = SPECS[table].build(records).column_names
    assert names == [c for c in ddl_columns(table) if c != "inserted_at"]


@pytest.mark.parametrize("table", list(FACTORIES))
def test_arrow_rows_hold_the_decoded_values(table: str) -> None:
    codec = Codec()
    models = FACTORIES[table]()
    records = [codec.decode(encode(codec, r)).record for r in models]
    built = SPECS[table].build(records).to_pylist()
    assert len(built) == len(models)
    for row, model in zip(built, models, strict=True):
        avro = model.to_avro()
        for name, value in row.items():
            expected = avro[name]
            if isinstance(expected, list) and expected and isinstance(expected[0], dict):
                expected = [dict(e) for e in expected]  # identifiers: structs come back as dicts
            assert value == expected, (table, name)
