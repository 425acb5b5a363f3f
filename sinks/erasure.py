"""Erasing persons from ClickHouse: which rows of which table belong to them, counted and deleted.

Every table that can hold a person's data is listed in :data:`ERASABLE` with the condition that
finds their rows, from two sets: person ids (the survivor and every merged-away id) and identifier
keys (``type:value``, values as on the wire). A row is the person's if it names one of the person
ids, or carries one of the identifiers (a touchpoint resolved elsewhere but holding the person's
cookie is still their personal data; the identity stage drops such events on a replay too).

How: lightweight ``DELETE FROM`` per table (rows vanish from every query at once, including the
analyst views), then forced cleanup: ``ALTER TABLE ... APPLY DELETED MASK`` rewrites the parts
without the masked rows, and ``OPTIMIZE TABLE ... FINAL`` merges them, so the data leaves the
active parts on disk. Old inactive parts are then removed by ClickHouse after
``old_parts_lifetime`` (8 minutes by default). Counts are taken FINAL, as analysts see rows.

``touchpoints_ingest`` is a Null table (stores nothing); ``person_aliases`` is filled by a view
from ``identity_changes`` and is erased on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sinks.suppressions import MIN_TOKEN_LEN, identifier_key

MUTATION_SETTINGS = {"mutations_sync": 2, "lightweight_deletes_sync": 2}


@dataclass(frozen=True)
class Subjects:
    """Whom to erase: person ids and identifier keys ``type:value``."""

    persons: tuple[str, ...]
    identifiers: tuple[str, ...]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return sorted(tuple(identifier_key(*k.split(":", 1)).split(":", 1)) for k in self.identifiers)  # type: ignore[misc]


def quote(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(quote(v) for v in values) + "]"


def _pairs(pairs: Iterable[tuple[str, str]]) -> str:
    return "[" + ", ".join(f"({quote(t)}, {quote(v)})" for t, v in pairs) + "]" if pairs else "[]"


def conditions(subjects: Subjects) -> dict[str, str]:
    """Table -> WHERE condition matching the subjects' rows (every table that holds person data)."""
    persons = _list(subjects.persons) if subjects.persons else "['']"
    pairs = subjects.pairs
    touchpoint_ids = (
        f"arrayExists((t, v) -> (toString(t), lower(trimBoth(v))) IN {_pairs(pairs)}, "
        "identifier_types, identifier_values)"
        if pairs
        else "0"
    )
    change_ids = (
        f"arrayExists(i -> (toString(i.type), lower(trimBoth(i.value))) IN {_pairs(pairs)}, identifiers)"
        if pairs
        else "0"
    )
    tokens = [v for _, v in pairs if len(v) >= MIN_TOKEN_LEN] + [p for p in subjects.persons if p]
    payload = f"multiSearchAnyCaseInsensitive(ifNull(payload, ''), {_list(tokens)})" if tokens else "0"
    return {
        "touchpoints": f"person_id IN {persons} OR {touchpoint_ids}",
        "identity_changes": (
            f"person_id IN {persons} OR ifNull(survivor_person_id, '') IN {persons} "
            f"OR hasAny(related_person_ids, {persons}) OR {change_ids}"
        ),
        "person_aliases": f"person_id IN {persons} OR survivor_person_id IN {persons}",
        "journeys": f"person_id IN {persons}",
        "sessions": f"person_id IN {persons}",
        "alerts": f"person_id IN {persons}",
        "dead_letters": f"ifNull(key, '') IN {persons} OR {payload}",
    }


ERASABLE = tuple(conditions(Subjects(("p",), ("cookie:c",))))
"""Every table :func:`conditions` covers, in the order they are erased."""


def count(client: Any, subjects: Subjects) -> dict[str, int]:
    """Rows per table that belong to the subjects, as analysts see them (FINAL)."""
    out = {}
    for table, where in conditions(subjects).items():
        out[table] = int(client.query(f"SELECT count() FROM {table} FINAL WHERE {where}").result_rows[0][0])
    return out


def delete(client: Any, subjects: Subjects) -> list[str]:
    """Lightweight-delete the subjects' rows in every table, then force the cleanup; returns the tables.

    Every table, not only those where :func:`count` found rows: an older version of a row that a
    later one replaced (so FINAL does not show it) may still sit in a part until the next merge.
    """
    where = conditions(subjects)
    chosen = list(ERASABLE)
    for table in chosen:
        client.command(f"DELETE FROM {table} WHERE {where[table]}", settings=MUTATION_SETTINGS)
    done = []
    for table in chosen:
        client.command(f"ALTER TABLE {table} APPLY DELETED MASK", settings=MUTATION_SETTINGS)
        client.command(f"OPTIMIZE TABLE {table} FINAL", settings=MUTATION_SETTINGS)
        done.append(table)
    return done
