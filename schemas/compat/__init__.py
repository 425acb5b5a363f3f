"""Guard every schema change: ``python -m schemas.compat`` fails when a change would break readers or data.

Each current schema in ``schemas/*.avsc`` is compared with every historical version of the same full
name in ``schemas/history/`` and with its own version in git HEAD (when the directory is a git
checkout and the file existed there). The default mode is FULL transitive compatibility: for each
older version, *backward* (the new schema reads data written with the old one: consumers upgraded
first replay old events) and *forward* (the old schema reads data written with the new one: readers
not yet upgraded, e.g. resolving through a schema registry, see events from upgraded producers).
The resolution rules themselves are in :mod:`schemas.compat.rules`; this module finds the versions.

The rules are Avro's schema resolution, applied in both directions:

- A reader field missing from the writer needs a default. Backward this is "field added without a
  default"; forward it is "field removed that had no default". Fields only the writer has are skipped.
- Types must be equal or promotable from writer to reader: int -> long/float/double, long ->
  float/double, float -> double, string <-> bytes. Under FULL only string <-> bytes survives both
  directions; int -> long passes BACKWARD (``--mode backward``) but old int readers cannot read longs.
- Logical types must not change (timestamp-millis -> timestamp-micros reads fine and means 1000x off).
- Unions: every writer branch must resolve into the reader (into the first matching reader branch if
  the reader is a union). So making an optional field required breaks backward (old nulls), and
  adding a branch breaks forward.
- Named types (record, enum, fixed) match by full name, or when the *reader* lists the writer's name
  in its ``aliases`` (that is how Avro and fastavro resolve; a writer's aliases are not consulted).
  A rename therefore needs an alias to stay backward compatible, and under FULL it is reported in the
  forward direction even with one, because old readers do not know the new name.
- Fixed sizes must not change.
- Enum symbols. Adding a symbol is allowed when the enum has a ``default``: old readers read the new
  symbol as the default, which is what the default is for, and they are upgraded soon after.
  Removing or renaming a symbol is always reported, default or not: the *current* reader would map
  every stored and replayed event carrying the old symbol to the default forever, silently losing
  its meaning. Reordering symbols is fine (Avro resolves symbols by name).

Besides compatibility, current schemas must follow the house conventions that keep future changes
possible: every enum has a default symbol, and every optional field is ``["null", T]`` with default
null. A historical version with no current schema of its name is reported too: its data could no
longer be decoded.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from schemas.catalog import SCHEMA_DIR, SchemaCatalog, SchemaVersion
from schemas.compat.rules import Mode, Names, collect_names, compare, conventions
from schemas.errors import SchemaError

__all__ = ["CheckResult", "Mode", "Problem", "check_directory", "main"]


@dataclass(frozen=True)
class Problem:
    """One incompatibility, printed as one line an author can act on."""

    schema: str  # full name of the current schema
    against: str  # the version compared with, e.g. history/touchpoint.v1.avsc or git HEAD:touchpoint.avsc
    direction: str  # backward, forward, conventions or history
    path: str  # dotted field path, [] for array items and {} for map values; empty for the record
    message: str

    def __str__(self) -> str:
        where = f" {self.path}:" if self.path else ":"
        return f"{self.schema} vs {self.against} ({self.direction}){where} {self.message}"


@dataclass
class CheckResult:
    problems: list[Problem] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)  # "<schema> vs <version>" for every pair checked


def _label(version: SchemaVersion, directory: Path) -> str:
    try:
        return str(version.source.relative_to(directory))
    except ValueError:
        return version.source.name


def _git_head_catalog(directory: Path, scratch: Path) -> SchemaCatalog | None:
    """The directory's ``*.avsc`` as committed in git HEAD, or None outside a git checkout."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, check=False, timeout=60
        )

    try:
        listing = git("ls-tree", "--name-only", "HEAD", "./")
        if listing.returncode != 0:
            return None
        names = [n for n in listing.stdout.splitlines() if n.endswith(".avsc") and "/" not in n]
        for name in names:
            shown = git("show", f"HEAD:./{name}")
            if shown.returncode == 0:
                (scratch / name).write_text(shown.stdout, encoding="utf-8")
    except (OSError, subprocess.TimeoutExpired):
        return None
    return SchemaCatalog.load(scratch) if names else None


def check_directory(
    directory: Path = SCHEMA_DIR, *, mode: Mode = Mode.FULL, use_git: bool = True
) -> CheckResult:
    """Check ``directory/*.avsc`` against its ``history/`` and git HEAD; SchemaError if unparsable."""
    catalog = SchemaCatalog.load(directory)
    current_names: Names = {}
    for version in catalog.current.values():
        collect_names(version.parsed, current_names)
    result = CheckResult()

    def against(new: SchemaVersion, old: SchemaVersion, label: str, old_names: Names) -> None:
        # Always compared, even at equal fingerprints: Parsing Canonical Form drops logical types.
        result.compared.append(f"{new.name} vs {label}")
        for direction, path, msg in compare(new.parsed, current_names, old.parsed, old_names, mode=mode):
            result.problems.append(Problem(new.name, label, direction, path, msg))

    for version in catalog.current.values():
        for path, msg in conventions(version.parsed):
            label = _label(version, directory)
            result.problems.append(Problem(version.name, label, "conventions", path, msg))
    for name, versions in sorted(catalog.history.items()):
        for old in versions:
            label = _label(old, directory)
            if name not in catalog.current:
                msg = "historical version has no current schema of that name; its data could not be decoded"
                result.problems.append(Problem(name, label, "history", "", msg))
            else:
                against(catalog.current[name], old, label, collect_names(old.parsed, {}))
    if use_git:
        with tempfile.TemporaryDirectory(prefix="omnijourney-schemas-head-") as tmp:
            try:
                head = _git_head_catalog(directory, Path(tmp))
            except SchemaError as exc:
                result.problems.append(Problem("*", "git HEAD", "history", "", f"cannot parse: {exc}"))
                head = None
            if head is not None:
                head_names: Names = {}
                for version in head.current.values():
                    collect_names(version.parsed, head_names)
                for name, old in sorted(head.current.items()):
                    if name in catalog.current:
                        against(catalog.current[name], old, f"git HEAD:{old.source.name}", head_names)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m schemas.compat", description="Check Avro schema changes for compatibility."
    )
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR, help="schema directory (default: schemas/)")
    parser.add_argument("--mode", type=Mode, choices=list(Mode), default=Mode.FULL)
    parser.add_argument("--no-git", action="store_true", help="do not compare with git HEAD")
    args = parser.parse_args(argv)
    try:
        result = check_directory(args.dir, mode=args.mode, use_git=not args.no_git)
    except SchemaError as exc:
        print(f"schemas: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    for problem in result.problems:
        print(" ".join(str(problem).split()), file=sys.stderr)
    if result.problems:
        print(f"{len(result.problems)} schema problem(s) ({args.mode} compatibility)", file=sys.stderr)
        return 1
    print(f"schemas ok ({args.mode} compatibility): {len(result.compared)} version pair(s) checked")
    return 0
