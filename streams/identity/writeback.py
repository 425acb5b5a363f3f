"""A write-back cache over one of the stage's tables, for the length of one batch.

A batch handles many routing messages, and many of them touch the same keys (an identifier seen
by several touchpoints, a cluster every link of a family goes to). Each write to a Faust table is
a changelog message, which costs about as much as handling a message; so the batch reads a key
from the table once, keeps its latest value here, and :meth:`WriteBack.flush` writes each changed
key once when the batch is done -- before the batch's input offsets may be committed, so a crash
leaves the table at most as far ahead as the outputs, the case the handlers are replay-safe for.

Values are the records' JSON dicts; the handlers never mutate a stored value (they parse a
record, change the copy and put a new dict), so holding them is safe.
"""

from __future__ import annotations

from typing import Any

from streams.identity.state import PartitionState, Store

_ABSENT: Any = object()  # a key known to have no value (deleted in this batch, or never written)


class WriteBack:
    """A :class:`streams.identity.state.Store` in front of another one: read-through, written back."""

    __slots__ = ("_cache", "_dirty", "store")

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, Any] = {}
        self._dirty: set[str] = set()

    def get(self, key: str, /) -> Any:
        try:
            value = self._cache[key]
        except KeyError:
            value = self.store.get(key)
            self._cache[key] = _ABSENT if value is None else value
            return value
        return None if value is _ABSENT else value

    def __setitem__(self, key: str, value: Any, /) -> None:
        self._cache[key] = value
        self._dirty.add(key)

    def __delitem__(self, key: str, /) -> None:
        self._cache[key] = _ABSENT
        self._dirty.add(key)

    @property
    def dirty(self) -> int:
        return len(self._dirty)

    def flush(self) -> int:
        """Write every key changed since the last flush once (sorted: deterministic); returns how many."""
        written = 0
        for key in sorted(self._dirty):
            value = self._cache[key]
            if value is _ABSENT:
                if self.store.get(key) is not None:
                    del self.store[key]
                    written += 1
            else:
                self.store[key] = value
                written += 1
        self._dirty.clear()
        return written

    def clear(self) -> None:
        """Forget everything read (the table may change under us between batches: a rebalance)."""
        self._cache.clear()
        self._dirty.clear()


class BatchState(PartitionState):
    """The partition's two tables behind write-back caches; :meth:`flush` at the end of the batch."""

    __slots__ = ("_caches",)

    def __init__(self, identifiers: Store, clusters: Store) -> None:
        self._caches = (WriteBack(identifiers), WriteBack(clusters))
        super().__init__(*self._caches)

    def flush(self) -> int:
        """Write back both tables; returns the number of table writes (changelog messages)."""
        return sum(cache.flush() for cache in self._caches)
