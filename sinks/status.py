"""What the sink's /health reports: ok, or degraded while ClickHouse refuses writes, and why."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class SinkStatus:
    """Updated by the runner's thread, read by the HTTP thread (plain values, read whole).

    ``buffered_rows`` is what the sink holds unwritten; ``buffer_limit`` the most it will ever hold
    (two batches at their largest), however long an outage lasts;
    ``committed`` the next offset per ``topic[partition]`` committed after a successful write.
    """

    state: str = "starting"
    store: str = ""
    schema_version: int | None = None
    rows_written: int = 0
    batches: int = 0
    dead_letters: int = 0
    buffered_rows: int = 0
    buffer_limit: int = 0
    retries: int = 0
    commit_failures: int = 0
    last_error: str | None = None
    last_error_code: int | None = None
    last_error_retryable: bool | None = None
    committed: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["committed"] = dict(self.committed)  # one C-level copy: safe against the runner's writes
        return data
