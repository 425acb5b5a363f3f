"""A dict standing in for a Faust table, counting the reads, writes and deletes that reach it.

The write-back caches' tests assert how often a batch touches the table: once per key to read,
at most once per changed key to write.
"""

from __future__ import annotations

from typing import Any


class CountingTable(dict[str, Any]):
    """A dict counting the reads, writes and deletes that reach it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.reads = self.writes = self.deletes = 0

    def get(self, key: str, default: Any = None, /) -> Any:
        self.reads += 1
        return super().get(key, default)

    def __setitem__(self, key: str, value: Any, /) -> None:
        self.writes += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: str, /) -> None:
        self.deletes += 1
        super().__delitem__(key)
