"""Saved analyses shipped in ``sinks/queries/``: one file a query, its first line a ``--`` description."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schemas.errors import OmnijourneyError

QUERY_DIR = Path(__file__).resolve().parent / "queries"


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str
    sql: str


def saved_queries(directory: Path = QUERY_DIR) -> dict[str, SavedQuery]:
    queries = {}
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text(encoding="utf-8").strip()
        first = text.splitlines()[0] if text else ""
        if not first.startswith("--"):
            raise OmnijourneyError(f"{path.name}: the first line must be a '-- description'")
        queries[path.stem] = SavedQuery(path.stem, first.removeprefix("--").strip(), text)
    return queries


def saved_query(name: str) -> SavedQuery:
    queries = saved_queries()
    if name not in queries:
        raise OmnijourneyError(f"no saved query {name!r}; saved: {', '.join(queries)}")
    return queries[name]
