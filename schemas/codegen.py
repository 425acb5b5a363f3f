"""The lines of one generated Python function, as the schema-driven code generators build them.

The Avro writer and reader (:mod:`schemas.avro_writer`, :mod:`schemas.avro_reader`) and the
producer SDK's fused fast path (:mod:`producers.fused`) each turn a schema into the source of one
function, once, and ``exec`` it: every field access and branch written out runs several times
faster than interpreting the schema per record. They share how that source is built: indented
lines, fresh variable names, and the constants the lines refer to by name.
"""

from __future__ import annotations

from typing import Any


class SourceLines:
    """Indented lines of a function body, with fresh names and the constants they refer to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}  # name -> value, put in the function's namespace
        self.counter = 0

    def var(self, stem: str) -> str:
        """A variable name not used before in this function."""
        self.counter += 1
        return f"{stem}{self.counter}"

    def const(self, value: Any) -> str:
        """The name under which the generated code finds ``value``."""
        name = self.var("_k")
        self.consts[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)
