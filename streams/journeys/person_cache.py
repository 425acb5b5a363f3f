"""A write-back cache over the ``journey-persons`` table, written back at the end of every batch.

Writing a person's whole state to the table after every event costs a JSON dump and a changelog
message per event, about as much as the step itself. A batch instead loads each person from the
table once, keeps the :class:`PersonStage` it works on here (so the steps of one person in one
batch see each other's changes, as they did through the table), and :meth:`PersonCache.flush`
dumps and writes each changed person once when the batch is done -- before the batch's outputs
are sent and its offsets may be committed, as the per-event writes were. The agent keeps the
cache of a partition from one batch to the next (everything in it is written back by then), so
the next batch finds its persons loaded; it starts a new one after a rebalance.

The table holds three kinds of entry, all kept here with their meaning: a full state (a dict,
held as a loaded :class:`PersonStage` once a step asks for it), ``{"alias": survivor}`` for a
person merged away, and no entry (never seen, or deleted by an erasure). A deletion is a
tombstone written at flush, and only when the table holds something to delete.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from streams.journeys.stage import PersonStage
from streams.writeback import WriteBack


class PersonCache(WriteBack):
    """Read-through, written-back view of the persons table (a mapping ``person_id -> value``).

    Besides the table's own values (a state's dict, ``{"alias": survivor}``) it caches loaded
    :class:`PersonStage` objects, dumped only when written back.
    """

    __slots__ = ()

    def _stored(self, value: Any) -> Any:
        return value.dump() if isinstance(value, PersonStage) else value

    def get(self, person_id: str, /) -> dict[str, Any] | None:
        """The table value as it would read now (a dump for a loaded state): for the privacy hooks."""
        entry = super().get(person_id)
        value: dict[str, Any] | None = self._stored(entry)
        return value

    def alias(self, person_id: str) -> str | None:
        """The survivor ``person_id`` was merged into, or None when it holds a state or nothing."""
        entry = super().get(person_id)
        if isinstance(entry, dict) and "alias" in entry:
            return str(entry["alias"])
        return None

    def exists(self, person_id: str) -> bool:
        """Whether the person has any entry (a state or an alias)."""
        return super().get(person_id) is not None

    def stage(self, person_id: str) -> PersonStage | None:
        """The person's loaded state (loaded once, then shared by the batch's steps); None when the
        person has no state (no entry, or an alias)."""
        entry = super().get(person_id)
        if entry is None or isinstance(entry, PersonStage):
            return entry
        if "alias" in entry:
            return None
        stage = self._cache[person_id] = PersonStage.load(person_id, entry)
        return stage

    def put(self, person_id: str, stage: PersonStage) -> None:
        """The person's state changed (or is new): dumped and written at :meth:`flush`."""
        self[person_id] = stage

    def set_alias(self, person_id: str, survivor: str) -> None:
        """The person was merged into ``survivor``: its entry becomes ``{"alias": survivor}``."""
        self[person_id] = {"alias": survivor}

    def pending(self) -> Iterator[tuple[str, PersonStage]]:
        """States changed in this batch and not yet written (the table does not show them yet)."""
        for person_id in self._dirty:
            entry = self._cache[person_id]
            if isinstance(entry, PersonStage):
                yield person_id, entry
