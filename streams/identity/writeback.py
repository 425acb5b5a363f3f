"""The identity stage's two tables behind write-back caches (:mod:`streams.writeback`), per batch.

The values are the records' JSON dicts; the handlers never mutate a stored value (they parse a
record, change the copy and put a new dict), so holding them is safe. The flush comes before the
batch's input offsets may be committed, so a crash leaves the tables at most as far ahead as the
outputs, the case the handlers are replay-safe for.
"""

from __future__ import annotations

from streams.identity.state import PartitionState
from streams.writeback import Store, WriteBack

__all__ = ["BatchState", "WriteBack"]


class BatchState(PartitionState):
    """The partition's two tables behind write-back caches; :meth:`flush` at the end of the batch."""

    __slots__ = ("_caches",)

    def __init__(self, identifiers: Store, clusters: Store) -> None:
        self._caches = (WriteBack(identifiers), WriteBack(clusters))
        super().__init__(*self._caches)

    def flush(self) -> int:
        """Write back both tables; returns the number of table writes (changelog messages)."""
        return sum(cache.flush() for cache in self._caches)
