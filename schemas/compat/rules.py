"""Avro schema resolution as a checker: can a reader schema read what a writer schema wrote?

Pure functions over fastavro's parsed form (named types fully qualified, later uses by name). The
rules, and why enum symbols and renames are judged as they are, are in :mod:`schemas.compat`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from schemas.errors import SchemaError

Node = Any  # a fastavro-parsed schema node: a type name, a dict, or a list (a union)
Names = dict[str, dict[str, Any]]

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED_KINDS = frozenset({"record", "error", "enum", "fixed"})
# (writer type, reader type) pairs Avro converts when reading
PROMOTIONS = frozenset({("int", "long"), ("int", "float"), ("int", "double"), ("long", "float")})
PROMOTIONS |= {("long", "double"), ("float", "double"), ("string", "bytes"), ("bytes", "string")}


class Mode(StrEnum):
    FULL = "full"
    BACKWARD = "backward"
    FORWARD = "forward"


def collect_names(node: Node, names: Names) -> Names:
    """Every named type defined in ``node``, by full name (fastavro's parsed form qualifies them)."""
    if isinstance(node, list):
        for branch in node:
            collect_names(branch, names)
    elif isinstance(node, dict):
        kind = node.get("type")
        if kind in NAMED_KINDS:
            names.setdefault(str(node["name"]), node)
            for fld in node.get("fields", []):
                collect_names(fld["type"], names)
        elif kind == "array":
            collect_names(node["items"], names)
        elif kind == "map":
            collect_names(node["values"], names)
    return names


def deref(node: Node, names: Names) -> Node:
    """Replace a reference to a named type by its definition."""
    if isinstance(node, dict) and isinstance(node.get("type"), str):
        kind = node["type"]
        if kind in PRIMITIVES or kind in NAMED_KINDS or kind in ("array", "map"):
            return node
        node = kind
    if isinstance(node, str) and node not in PRIMITIVES:
        try:
            return names[node]
        except KeyError:
            raise SchemaError(f"reference to undefined named type {node}") from None
    return node


def _kind(node: Node) -> str:
    if isinstance(node, list):
        return "union"
    if isinstance(node, str):
        return node
    kind = str(node["type"])
    return "record" if kind == "error" else kind


def _logical(node: Node) -> tuple[Any, ...] | None:
    if isinstance(node, dict) and "logicalType" in node:
        return (node["logicalType"], node.get("precision"), node.get("scale"))
    return None


def describe(node: Node) -> str:
    """A short type name for messages, e.g. ``[null, long(timestamp-millis)]``."""
    if isinstance(node, list):
        return "[" + ", ".join(describe(branch) for branch in node) + "]"
    if isinstance(node, str):
        return node
    kind = node["type"]
    if kind in NAMED_KINDS:
        return str(node["name"])
    if kind == "array":
        return f"array<{describe(node['items'])}>"
    if kind == "map":
        return f"map<{describe(node['values'])}>"
    if "logicalType" in node:
        return f"{kind}({node['logicalType']})"
    return describe(kind)


def _aliases(named: dict[str, Any]) -> set[str]:
    """The named type's aliases, qualified with its namespace as the Avro spec says."""
    namespace = str(named["name"]).rpartition(".")[0]
    return {a if "." in a or not namespace else f"{namespace}.{a}" for a in named.get("aliases", [])}


class _Resolution:
    """Can ``reader`` read what ``writer`` wrote? ``backward`` says which of the two is the new one."""

    def __init__(self, reader_names: Names, writer_names: Names, *, backward: bool) -> None:
        self.r_names, self.w_names = reader_names, writer_names
        self.backward = backward
        self.found: list[tuple[str, str]] = []
        self._records_in_progress: set[tuple[str, str]] = set()

    def _old_new(self, reader: Node, writer: Node) -> tuple[str, str]:
        return (describe(writer), describe(reader)) if self.backward else (describe(reader), describe(writer))

    def _type_changed(self, path: str, reader: Node, writer: Node, branch: Node) -> None:
        old, new = self._old_new(reader, writer)
        who = "the new schema cannot read old" if self.backward else "old readers cannot read new"
        self.found.append((path, f"type changed from {old} to {new}; {who} {describe(branch)} values"))

    def resolve(self, reader: Node, writer: Node, path: str) -> None:
        reader, writer = deref(reader, self.r_names), deref(writer, self.w_names)
        for branch in writer if isinstance(writer, list) else [writer]:
            self._resolve_branch(reader, writer, deref(branch, self.w_names), path)

    def _resolve_branch(self, reader: Node, writer: Node, branch: Node, path: str) -> None:
        if isinstance(reader, list):
            candidates = [deref(b, self.r_names) for b in reader]
            match = next((c for c in candidates if self._matches(c, branch)), None)
            if match is None:
                self._type_changed(path, reader, writer, branch)
            else:
                self._resolve_same(match, branch, path)
            return
        r_kind, w_kind = _kind(reader), _kind(branch)
        if r_kind == w_kind:
            self._resolve_same(reader, branch, path)
        elif (w_kind, r_kind) in PROMOTIONS:
            self._check_logical(reader, branch, path)
        else:
            self._type_changed(path, reader, writer, branch)

    def _matches(self, reader: Node, writer: Node) -> bool:
        """Avro's choice of reader union branch: same kind (and name for named types) or a promotion."""
        r_kind, w_kind = _kind(reader), _kind(writer)
        if r_kind == w_kind:
            return r_kind not in NAMED_KINDS or self._same_name(reader, writer)
        return (w_kind, r_kind) in PROMOTIONS

    @staticmethod
    def _same_name(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
        return reader["name"] == writer["name"] or writer["name"] in _aliases(reader)

    def _resolve_same(self, reader: Node, writer: Node, path: str) -> None:
        kind = _kind(reader)
        if kind in NAMED_KINDS and not self._same_name(reader, writer):
            old, new = self._old_new(reader, writer)
            why = f" without an alias for {old}" if self.backward else f"; old readers only know {old}"
            self.found.append((path, f"{kind} renamed from {old} to {new}{why}"))
            return
        if kind == "record":
            self._resolve_record(reader, writer, path)
        elif kind == "enum":
            self._resolve_enum(reader, writer, path)
        elif kind == "fixed" and reader["size"] != writer["size"]:
            old, new = (writer, reader) if self.backward else (reader, writer)
            self.found.append((path, f"fixed size changed from {old['size']} to {new['size']}"))
        elif kind == "array":
            self.resolve(reader["items"], writer["items"], f"{path}[]")
        elif kind == "map":
            self.resolve(reader["values"], writer["values"], f"{path}{{}}")
        else:
            self._check_logical(reader, writer, path)

    def _check_logical(self, reader: Node, writer: Node, path: str) -> None:
        if _logical(reader) != _logical(writer):
            old, new = self._old_new(reader, writer)
            self.found.append((path, f"logical type changed from {old} to {new}; values would be misread"))

    def _resolve_record(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        key = (str(reader["name"]), str(writer["name"]))
        if key in self._records_in_progress:  # a recursive type: already being compared further up
            return
        self._records_in_progress.add(key)
        written = {f["name"]: f for f in writer["fields"]}
        for fld in reader["fields"]:
            fpath = f"{path}.{fld['name']}" if path else str(fld["name"])
            source = written.get(fld["name"]) or next(
                (written[a] for a in fld.get("aliases", []) if a in written), None
            )
            if source is not None:
                self.resolve(fld["type"], source["type"], fpath)
            elif "default" not in fld:
                if self.backward:
                    msg = "field added without a default; data written with the old schema cannot be read"
                else:
                    msg = "field removed that had no default; readers on the old schema break"
                self.found.append((fpath, msg))
        self._records_in_progress.discard(key)

    def _resolve_enum(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> None:
        unknown = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if not unknown:
            return
        listed = ", ".join(unknown)
        if self.backward:
            msg = f"enum symbols removed or renamed: {listed}; stored events carrying them would lose meaning"
            self.found.append((path, msg))
        elif "default" not in reader:
            msg = f"enum symbols added to an enum without a default: {listed}; old readers fail on them"
            self.found.append((path, msg))


def compare(
    new: Node, new_names: Names, old: Node, old_names: Names, *, mode: Mode = Mode.FULL
) -> list[tuple[str, str, str]]:
    """Problems between two versions of one schema as (direction, path, message)."""
    found: list[tuple[str, str, str]] = []
    if mode in (Mode.FULL, Mode.BACKWARD):
        check = _Resolution(new_names, old_names, backward=True)
        check.resolve(new, old, "")
        found.extend(("backward", path, msg) for path, msg in check.found)
    if mode in (Mode.FULL, Mode.FORWARD):
        check = _Resolution(old_names, new_names, backward=False)
        check.resolve(old, new, "")
        found.extend(("forward", path, msg) for path, msg in check.found)
    return found


def conventions(node: Node) -> list[tuple[str, str]]:
    """House rules on a current schema: enums have a default, optional fields are ["null", T] = null."""
    found: list[tuple[str, str]] = []

    def walk(item: Node, path: str) -> None:
        if isinstance(item, list):
            for branch in item:
                walk(branch, path)
        elif isinstance(item, dict):
            kind = _kind(item)
            if kind == "enum" and "default" not in item:
                found.append((path, f"enum {item['name']} has no default symbol; new symbols would break"))
            elif kind == "record":
                for fld in item["fields"]:
                    fpath = f"{path}.{fld['name']}" if path else str(fld["name"])
                    ftype = fld["type"]
                    optional = isinstance(ftype, list) and "null" in ftype
                    if optional and (ftype[0] != "null" or fld.get("default", ...) is not None):
                        found.append((fpath, 'optional field must be ["null", T] with default null'))
                    walk(ftype, fpath)
            elif kind == "array":
                walk(item["items"], f"{path}[]")
            elif kind == "map":
                walk(item["values"], f"{path}{{}}")

    walk(node, "")
    return found
