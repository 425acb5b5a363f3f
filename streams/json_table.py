"""A Faust table that stores raw bytes, seen as the JSON values Faust's ``json`` serializer keeps.

A Faust table serializes a value it is given twice: once for its RocksDB store and once more when
the changelog message goes out. For the journey stage's persons, whole states of a few kilobytes
written once per person and batch, the second dump is a large share of a write. Declaring the
table's values ``raw`` and dumping here once hands the same bytes to both.

The bytes are the ones Faust's ``json`` codec writes (:func:`faust.utils.json.dumps`, UTF-8), so
a changelog or store written before (values serialized by Faust) reads the same, and one written
here reads the same with a ``json`` table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from faust.utils import json as faust_json


def dumps(value: Any) -> bytes:
    """The bytes Faust's ``json`` codec would write for ``value``."""
    return faust_json.dumps(value).encode()


def loads(data: bytes) -> Any:
    """A value back from the bytes of :func:`dumps` (or of Faust's ``json`` codec)."""
    return faust_json.loads(data.decode())


class JsonValues:
    """A :class:`streams.writeback.Store` of JSON values over a table of raw bytes (values ``raw``)."""

    __slots__ = ("table",)

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, key: str, /) -> Any:
        data = self.table.get(key)
        return None if data is None else loads(data)

    def __setitem__(self, key: str, value: Any, /) -> None:
        self.table[key] = dumps(value)

    def __delitem__(self, key: str, /) -> None:
        del self.table[key]

    def items(self) -> Iterator[tuple[str, Any]]:
        for key, data in self.table.items():
            yield key, loads(data)
