"""The omnijourney command: configuration and usage errors are one line and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys

from sinks.saved import saved_queries


def omnijourney(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMNIJOURNEY_")}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bad_setting_is_one_line_and_exit_2() -> None:
    result = omnijourney("sql", "--list", env={"OMNIJOURNEY_KAFKA_BROKERS": "nohostport"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "omnijourney: configuration error: OMNIJOURNEY_KAFKA_BROKERS: 'nohostport' is not host:port"
    ]


def test_sql_needs_a_query_or_a_saved_name() -> None:
    result = omnijourney("sql")
    assert result.returncode == 1
    assert "omnijourney: give either a query or --saved NAME" in result.stderr
    assert "Traceback" not in result.stderr


def test_sql_list_shows_every_saved_analysis_with_its_description() -> None:
    result = omnijourney("sql", "--list")
    assert result.returncode == 0, result.stderr
    listed = dict(line.split(None, 1) for line in result.stdout.strip().splitlines())
    assert listed == {name: q.description for name, q in saved_queries().items()}
    assert len(listed) >= 3
