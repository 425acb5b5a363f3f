"""A write-back cache over the ``journey-persons`` table, for the length of one batch.

Writing a person's whole state to the table after every event costs a JSON dump and a changelog
message per event, about as much as the step itself. A batch instead loads each person from the
table once, keeps the :class:`PersonStage` it works on here (so the steps of one person in one
batch see each other's changes, as they did through the table), and :meth:`PersonCache.flush`
dumps and writes each changed person once when the batch is done -- before the batch's outputs
are sent and its offsets may be committed, as the per-event writes were.

The table holds three kinds of entry, all kept here with their meaning: a full state (a dict,
held as a loaded :class:`PersonStage` once a step asks for it), ``{"alias": survivor}`` for a
person merged away, and no entry (never seen, or deleted by an erasure). A deletion is a
tombstone written at flush, and only when the table holds something to delete.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from streams.journeys.stage import PersonStage

_ABSENT: Any = object()  # a person known to have no entry (deleted in this batch, or never written)


class PersonCache:
    """Read-through, written-back view of the persons table (a mapping ``person_id -> value``)."""

    __slots__ = ("_cache", "_dirty", "table")

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self._cache: dict[str, Any] = {}  # person id -> _ABSENT | alias dict | raw dict | PersonStage
        self._dirty: set[str] = set()

    def _entry(self, person_id: str) -> Any:
        """The cached entry, read from the table on first use (once per person and batch)."""
        try:
            return self._cache[person_id]
        except KeyError:
            value = self.table.get(person_id)
            entry = self._cache[person_id] = _ABSENT if value is None else value
            return entry

    def get(self, person_id: str) -> dict[str, Any] | None:
        """The table value as it would read now (a dump for a loaded state): for the privacy hooks."""
        entry = self._entry(person_id)
        if entry is _ABSENT:
            return None
        if isinstance(entry, PersonStage):
            return entry.dump()
        value: dict[str, Any] = entry
        return value

    def alias(self, person_id: str) -> str | None:
        """The survivor ``person_id`` was merged into, or None when it holds a state or nothing."""
        entry = self._entry(person_id)
        if isinstance(entry, dict) and "alias" in entry:
            return str(entry["alias"])
        return None

    def exists(self, person_id: str) -> bool:
        """Whether the person has any entry (a state or an alias)."""
        return self._entry(person_id) is not _ABSENT

    def stage(self, person_id: str) -> PersonStage | None:
        """The person's loaded state (loaded once, then shared by the batch's steps); None when the
        person has no state (no entry, or an alias)."""
        entry = self._entry(person_id)
        if entry is _ABSENT or isinstance(entry, PersonStage):
            return None if entry is _ABSENT else entry
        if "alias" in entry:
            return None
        stage = self._cache[person_id] = PersonStage.load(person_id, entry)
        return stage

    def put(self, person_id: str, stage: PersonStage) -> None:
        """The person's state changed (or is new): dumped and written at :meth:`flush`."""
        self._cache[person_id] = stage
        self._dirty.add(person_id)

    def set_alias(self, person_id: str, survivor: str) -> None:
        """The person was merged into ``survivor``: its entry becomes ``{"alias": survivor}``."""
        self._cache[person_id] = {"alias": survivor}
        self._dirty.add(person_id)

    def __delitem__(self, person_id: str) -> None:
        """An erasure: the entry is gone for the rest of the batch, a tombstone at :meth:`flush`."""
        self._cache[person_id] = _ABSENT
        self._dirty.add(person_id)

    def pending(self) -> Iterator[tuple[str, PersonStage]]:
        """States changed in this batch and not yet written (the table does not show them yet)."""
        for person_id in self._dirty:
            entry = self._cache[person_id]
            if isinstance(entry, PersonStage):
                yield person_id, entry

    def flush(self) -> int:
        """Write every changed person once (sorted: deterministic); returns the table writes."""
        written = 0
        for person_id in sorted(self._dirty):
            entry = self._cache[person_id]
            if entry is _ABSENT:
                if self.table.get(person_id) is not None:
                    del self.table[person_id]
                    written += 1
                continue
            self.table[person_id] = entry.dump() if isinstance(entry, PersonStage) else entry
            written += 1
        self._dirty.clear()
        return written
