"""Running the saved analyses the report needs and keeping each answer (or its failure) by name.

Separate from the page so the report never needs to know where the SQL runs: the caller hands
in a function from SQL to ``{"columns", "types", "rows"}`` — in the CLI that is
:func:`sinks.query.query`, the same path as ``omnijourney sql --saved``, which goes through the
running sink's ``/sql`` while it owns the embedded store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.errors import OmnijourneyError, StoreError
from sinks.saved import SavedQuery, saved_queries

Runner = Callable[[str], Mapping[str, Any]]

# What the report shows, in the order it runs them.
REPORT_ANALYSES = (
    "channel_mix",
    "channel_transitions",
    "journey_funnel",
    "time_to_conversion",
    "time_to_conversion_distribution",
    "conversion_by_path",
    "channel_switch_share",
    "repeat_contact_rate",
    "broken_handoffs",
)


@dataclass(frozen=True)
class Result:
    """One analysis' answer; ``error`` is set (and rows empty) when it could not run."""

    name: str
    description: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    error: str | None = None

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def total(self, column: str) -> float:
        """Sum of a numeric column (0 without rows or when the analysis failed)."""
        return float(sum(r.get(column) or 0 for r in self.records()))


def run_analyses(
    run: Runner, names: Sequence[str] = REPORT_ANALYSES, queries: Mapping[str, SavedQuery] | None = None
) -> dict[str, Result]:
    """Every named analysis, run in order; one failing does not stop the others.

    A missing saved query is a programming error and raises; a store error becomes that
    analysis' ``error`` so the report can still show what did work. A store that cannot be
    reached (a retryable error) fails the rest at once rather than being asked again and again.
    """
    available = saved_queries() if queries is None else queries
    results: dict[str, Result] = {}
    unreachable: str | None = None
    for name in names:
        query = available[name]
        if unreachable is not None:
            results[name] = Result(name, query.description, error=unreachable)
            continue
        try:
            answer = run(query.sql)
        except OmnijourneyError as exc:
            results[name] = Result(name, query.description, error=str(exc))
            if isinstance(exc, StoreError) and exc.retryable:
                unreachable = str(exc)
            continue
        results[name] = Result(
            name, query.description, list(answer["columns"]), [list(r) for r in answer["rows"]]
        )
    return results
