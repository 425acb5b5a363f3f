"""Rendering query results for the terminal, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json

from sinks.query import render

RESULT = {
    "columns": ["channel", "touches"],
    "types": ["String", "UInt64"],
    "rows": [["web", 12], ["chat", None]],
}


def test_table_aligns_columns_and_counts_rows() -> None:
    lines = render(RESULT).splitlines()
    assert lines[0].split() == ["channel", "touches"]
    assert lines[2].split() == ["web", "12"]
    assert lines[3].split() == ["chat", "NULL"]
    assert lines[-1] == "(2 rows)"
    assert len({len(line) for line in lines[:4]}) == 1


def test_csv_and_json_round_trip() -> None:
    rows = list(csv.reader(io.StringIO(render(RESULT, "csv"))))
    assert rows == [["channel", "touches"], ["web", "12"], ["chat", ""]]
    assert json.loads(render(RESULT, "json")) == [
        {"channel": "web", "touches": 12},
        {"channel": "chat", "touches": None},
    ]
