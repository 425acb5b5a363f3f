"""The compatibility checker, on fixture pairs (tests/fixtures/schemas/compat/<case>/{old,new}.avsc).

Each case is assembled the way a real change looks: ``new.avsc`` as the current schema and
``old.avsc`` under ``history/``; the checker then runs exactly as ``python -m schemas.compat`` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import fastavro
import pytest

from schemas.catalog import SCHEMA_DIR
from schemas.compat import Mode, check_directory
from schemas.compat.rules import collect_names, compare

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "schemas" / "compat"
REPO = SCHEMA_DIR.parent
ORDER = "io.example.Order"

# case -> every expected problem under FULL as (direction, field path, message fragment)
BREAKING: dict[str, set[tuple[str, str, str]]] = {
    "field_removed_without_default": {("forward", "note", "field removed that had no default")},
    "field_added_without_default": {("backward", "quantity", "field added without a default")},
    "nested_array_item_field_added_without_default": {
        ("backward", "lines[].price", "field added without a default")
    },
    "type_narrowed_long_to_int": {("backward", "quantity", "type changed from long to int")},
    "type_changed_string_to_int": {
        ("backward", "note", "type changed from string to int"),
        ("forward", "note", "type changed from string to int"),
    },
    "optional_made_required": {("backward", "note", "cannot read old null values")},
    "union_branch_added": {("forward", "note", "old readers cannot read new long values")},
    "enum_symbol_removed": {("backward", "status", "enum symbols removed or renamed: paid")},
    "enum_symbol_renamed": {("backward", "status", "enum symbols removed or renamed: paid")},
    "enum_symbol_added_without_default": {
        ("forward", "status", "added to an enum without a default: shipped"),
        ("conventions", "status", "has no default symbol"),
    },
    "record_renamed_without_alias": {
        ("backward", "address", "renamed from io.example.Address to io.example.PostalAddress without"),
        ("forward", "address", "old readers only know io.example.Address"),
    },
    "enum_renamed_without_alias": {
        ("backward", "status", "enum renamed from io.example.Status to io.example.OrderStatus without"),
        ("forward", "status", "old readers only know io.example.Status"),
    },
    "fixed_renamed_without_alias": {
        ("backward", "digest", "fixed renamed from io.example.Digest to io.example.Md5 without"),
        ("forward", "digest", "old readers only know io.example.Digest"),
    },
    "fixed_size_changed": {
        ("backward", "digest", "fixed size changed from 16 to 32"),
        ("forward", "digest", "fixed size changed from 16 to 32"),
    },
    "logical_type_changed": {
        ("backward", "placed_at", "timestamp-millis) to long(timestamp-micros)"),
        ("forward", "placed_at", "timestamp-millis) to long(timestamp-micros)"),
    },
    # Promotions and aliases only work in the reader's favour: fine backward, broken forward.
    "int_to_long": {("forward", "quantity", "old readers cannot read new long values")},
    "record_renamed_with_alias": {("forward", "address", "old readers only know io.example.Address")},
    "enum_without_default": {("conventions", "status", "has no default symbol")},
    "optional_without_null_default": {("conventions", "note", 'must be ["null", T] with default null')},
}
ALLOWED = [
    "optional_field_added",
    "field_with_default_added_and_removed",
    "enum_symbol_added_with_default",
    "enum_symbols_reordered",
    "string_to_bytes",
    "docs_changed",
]
BACKWARD_ONLY = [
    "int_to_long",
    "record_renamed_with_alias",
    "union_branch_added",
    "field_removed_without_default",
]


def assemble(case: str, directory: Path) -> Path:
    """``new.avsc`` as the current schema, ``old.avsc`` as its history, as a change would look."""
    (directory / "history").mkdir(parents=True)
    shutil.copy(CASES / case / "new.avsc", directory / "order.avsc")
    shutil.copy(CASES / case / "old.avsc", directory / "history" / "order.v1.avsc")
    return directory


def test_every_fixture_case_is_exercised() -> None:
    assert sorted(p.name for p in CASES.iterdir()) == sorted([*BREAKING, *ALLOWED])


@pytest.mark.parametrize("case", sorted(BREAKING))
def test_breaking_change_is_reported(case: str, tmp_path: Path) -> None:
    result = check_directory(assemble(case, tmp_path), use_git=False)
    found = {(p.direction, p.path) for p in result.problems}
    assert found == {(direction, path) for direction, path, _ in BREAKING[case]}
    for direction, path, fragment in BREAKING[case]:
        (problem,) = [p for p in result.problems if (p.direction, p.path) == (direction, path)]
        assert problem.schema == ORDER
        assert fragment in problem.message
        if direction != "conventions":
            assert problem.against == "history/order.v1.avsc"


@pytest.mark.parametrize("case", ALLOWED)
def test_compatible_change_passes_full(case: str, tmp_path: Path) -> None:
    result = check_directory(assemble(case, tmp_path), use_git=False)
    assert result.problems == []
    assert result.compared == [f"{ORDER} vs history/order.v1.avsc"]


@pytest.mark.parametrize("case", BACKWARD_ONLY)
def test_reader_side_changes_pass_backward_mode(case: str, tmp_path: Path) -> None:
    assert check_directory(assemble(case, tmp_path), mode=Mode.BACKWARD, use_git=False).problems == []
    assert check_directory(tmp_path, mode=Mode.FORWARD, use_git=False).problems != []


def _parsed(raw: dict[str, object]) -> tuple[object, dict[str, dict[str, object]]]:
    parsed = fastavro.parse_schema(raw, named_schemas={})
    return parsed, collect_names(parsed, {})


def test_recursive_types_terminate_and_are_still_checked() -> None:
    def node(extra: list[dict[str, object]]) -> dict[str, object]:
        fields = [{"name": "next", "type": ["null", "Node"], "default": None}, *extra]
        return {"type": "record", "name": "Node", "namespace": "io.example", "fields": fields}

    old, old_names = _parsed(node([]))
    new, new_names = _parsed(node([{"name": "label", "type": "string"}]))
    ((direction, path, message),) = compare(new, new_names, old, old_names)
    assert (direction, path) == ("backward", "label")
    assert "without a default" in message


def test_writer_value_goes_to_the_first_matching_reader_branch() -> None:
    def record(field_type: object) -> dict[str, object]:
        return {"type": "record", "name": "R", "fields": [{"name": "n", "type": field_type}]}

    old, old_names = _parsed(record("int"))
    new, new_names = _parsed(record(["null", "string", "long"]))
    assert compare(new, new_names, old, old_names, mode=Mode.BACKWARD) == []
    problems = compare(new, new_names, old, old_names, mode=Mode.FORWARD)
    assert [(d, p) for d, p, _ in problems] == [("forward", "n"), ("forward", "n"), ("forward", "n")]


def test_history_without_a_current_schema_is_reported(tmp_path: Path) -> None:
    assemble("optional_field_added", tmp_path)
    shutil.copy(SCHEMA_DIR / "dead_letter.avsc", tmp_path / "history" / "dead_letter.v1.avsc")
    (problem,) = check_directory(tmp_path, use_git=False).problems
    assert (problem.schema, problem.direction) == ("io.omnijourney.DeadLetter", "history")


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schemas.compat", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=120,
    )


def test_cli_prints_one_line_per_problem_and_fails(tmp_path: Path) -> None:
    run = _run_cli("--dir", str(assemble("type_changed_string_to_int", tmp_path)), "--no-git")
    assert run.returncode == 1
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 3  # two problems and the count
    assert lines[0].startswith(f"{ORDER} vs history/order.v1.avsc (backward) note: type changed")
    assert lines[1].startswith(f"{ORDER} vs history/order.v1.avsc (forward) note: type changed")
    assert lines[2].startswith("2 schema problem(s)")


def test_cli_exits_zero_on_a_compatible_change(tmp_path: Path) -> None:
    run = _run_cli("--dir", str(assemble("optional_field_added", tmp_path)), "--no-git")
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert "1 version pair(s) checked" in run.stdout


def test_cli_reports_an_unparsable_schema_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.avsc").write_text('{"type": "record", "name": "B", "fields": [{"name": "x"}]}')
    run = _run_cli("--dir", str(tmp_path), "--no-git")
    assert run.returncode == 2
    assert len(run.stderr.splitlines()) == 1
    assert "broken.avsc" in run.stderr


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git executable")
def test_working_tree_is_compared_with_git_head(tmp_path: Path) -> None:
    """A throwaway repository in tmp_path: HEAD has the old schema, the working tree the new one."""
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    shutil.copy(CASES / "field_added_without_default" / "old.avsc", schemas / "order.avsc")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "schemas/order.avsc")
    _git(tmp_path, "commit", "-q", "-m", "old order")
    shutil.copy(CASES / "field_added_without_default" / "new.avsc", schemas / "order.avsc")

    (problem,) = check_directory(schemas).problems
    assert (problem.against, problem.direction, problem.path) == (
        "git HEAD:order.avsc",
        "backward",
        "quantity",
    )
    assert check_directory(schemas, use_git=False).problems == []


def test_outside_git_the_head_comparison_is_skipped_quietly(tmp_path: Path) -> None:
    result = check_directory(assemble("optional_field_added", tmp_path))
    assert result.problems == []
    assert not [c for c in result.compared if "git HEAD" in c]


def test_the_real_schemas_directory_passes() -> None:
    result = check_directory(SCHEMA_DIR)
    assert [str(p) for p in result.problems] == []
    if (REPO / ".git").exists():
        assert "io.omnijourney.Touchpoint vs git HEAD:touchpoint.avsc" in result.compared
