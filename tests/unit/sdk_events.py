"""The minimal valid SDK input event the SDK unit tests vary, one field at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "3f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "event_time": dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC),
        "channel": "web",
        "event_type": "page_view",
        "identifiers": [{"type": "cookie", "value": "ck-1"}],
    }
    base.update(overrides)
    return base
