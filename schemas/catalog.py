"""The catalog of Avro schemas: the current ones in ``schemas/*.avsc`` and their kept history.

Readers always read with the *current* schema of a record name; writers may have used any version
the catalog knows, found by its fingerprint. Keeping old versions in ``schemas/history/`` is what
lets a consumer upgraded today read events a channel team produced last month.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import to_parsing_canonical_form

from schemas.errors import SchemaError
from schemas.fingerprint import fingerprint_bytes

SCHEMA_DIR = Path(__file__).resolve().parent
HISTORY_DIR = SCHEMA_DIR / "history"


@dataclass(frozen=True)
class SchemaVersion:
    """One version of one record schema, parsed and fingerprinted."""

    name: str  # full name, e.g. io.omnijourney.Touchpoint
    raw: dict[str, Any]  # the JSON as written, named types referenced by name
    parsed: Any  # fastavro's parsed form, used to read and write
    canonical: str  # Parsing Canonical Form, fully expanded
    fingerprint: bytes  # CRC-64-AVRO of the canonical form, little-endian
    source: Path

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex()


def _full_name(raw: dict[str, Any]) -> str:
    name = str(raw["name"])
    namespace = raw.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _parse_many(paths: list[Path], named: dict[str, Any]) -> list[SchemaVersion]:
    """Parse files that may reference each other's named types, in whatever order they resolve."""
    pending = {p: json.loads(p.read_text(encoding="utf-8")) for p in paths}
    done: list[SchemaVersion] = []
    while pending:
        progressed = False
        for path, raw in list(pending.items()):
            try:
                scratch = dict(named)
                parsed = fastavro.parse_schema(copy.deepcopy(raw), named_schemas=scratch)
                expanded = fastavro.parse_schema(copy.deepcopy(raw), named_schemas=dict(named), expand=True)
            except fastavro.schema.UnknownType:
                continue
            except (fastavro.schema.SchemaParseException, ValueError, KeyError, TypeError) as exc:
                raise SchemaError(f"{path.name}: not a valid Avro schema: {exc}") from exc
            named.update(scratch)
            canonical = to_parsing_canonical_form(expanded)
            done.append(
                SchemaVersion(_full_name(raw), raw, parsed, canonical, fingerprint_bytes(canonical), path)
            )
            del pending[path]
            progressed = True
        if not progressed:
            names = ", ".join(sorted(p.name for p in pending))
            raise SchemaError(f"schemas reference named types that no schema defines: {names}")
    return done


class SchemaCatalog:
    """Current schemas by name, every known version by fingerprint."""

    def __init__(self, current: list[SchemaVersion], history: list[SchemaVersion]) -> None:
        self.current: dict[str, SchemaVersion] = {v.name: v for v in current}
        self.by_fingerprint: dict[bytes, SchemaVersion] = {}
        for version in [*history, *current]:
            self.by_fingerprint[version.fingerprint] = version
        self.history: dict[str, list[SchemaVersion]] = {}
        for version in history:
            self.history.setdefault(version.name, []).append(version)

    @classmethod
    def load(cls, directory: Path = SCHEMA_DIR) -> SchemaCatalog:
        """Load ``directory/*.avsc`` and ``directory/history/*.avsc``."""
        current = _parse_many(sorted(directory.glob("*.avsc")), {})
        history: list[SchemaVersion] = []
        history_dir = directory / "history"
        for path in sorted(history_dir.glob("*.avsc")) if history_dir.is_dir() else []:
            # Each historical file is parsed on its own: old versions define the same names.
            history.extend(_parse_many([path], {}))
        return cls(current, history)

    def reader(self, name: str) -> SchemaVersion:
        """The current schema for a record name; readers always resolve into it."""
        try:
            return self.current[name]
        except KeyError:
            known = ", ".join(sorted(self.current))
            raise SchemaError(f"no schema named {name!r}; known: {known}") from None
