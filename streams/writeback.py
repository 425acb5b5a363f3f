"""A write-back cache over a Faust table, for the length of one batch.

A batch handles many events, and many of them touch the same keys (an identifier seen by several
touchpoints, a person with several events in the batch). Each write to a Faust table is a
changelog message, which costs about as much as handling a message; so the batch reads a key from
the table once, keeps its latest value here, and :meth:`WriteBack.flush` writes each changed key
once when the batch is done -- before the batch's input offsets may be committed. Used by the
identity stage (:mod:`streams.identity.writeback`) and the journey stage
(:mod:`streams.journeys.person_cache`).
"""

from __future__ import annotations

from typing import Any, Protocol


class Store(Protocol):
    """A key-value table: a ``dict`` in tests, a ``faust.Table`` in the worker."""

    def get(self, key: str, /) -> Any: ...

    def __setitem__(self, key: str, value: Any, /) -> None: ...

    def __delitem__(self, key: str, /) -> None: ...


_ABSENT: Any = object()  # a key known to have no value (deleted in this batch, or never written)


class WriteBack:
    """A :class:`Store` in front of another one: read-through, written back at :meth:`flush`."""

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

    def _stored(self, value: Any) -> Any:
        """What a cached value is written as (a subclass may cache richer objects than it stores)."""
        return value

    @property
    def dirty(self) -> int:
        return len(self._dirty)

    @property
    def cached(self) -> int:
        """Keys held (read or written), for a caller that keeps the cache from batch to batch."""
        return len(self._cache)

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
                self.store[key] = self._stored(value)
                written += 1
        self._dirty.clear()
        return written

    def clear(self) -> None:
        """Forget everything read (the table may change under us between batches: a rebalance)."""
        self._cache.clear()
        self._dirty.clear()
