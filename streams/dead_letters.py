"""Building dead-letter records: the input kept whole with the reason and where it came from."""

from __future__ import annotations

import datetime as dt
from typing import Any

from schemas.errors import OmnijourneyError

DEAD_LETTER_NAME = "io.omnijourney.DeadLetter"
PAYLOAD_LIMIT = 256 * 1024  # keep dead-letter messages far below the broker's message.max.bytes


def dead_letter(
    stage: str,
    error: Exception,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
) -> dict[str, Any]:
    """A DeadLetter record (see schemas/dead_letter.avsc) for a record a stage rejected."""
    payload = value or b""
    if isinstance(error, OmnijourneyError):
        reason, field = error.message, getattr(error, "field", None)
    else:
        reason, field = f"{type(error).__name__}: {error}", None
    return {
        "failed_at": dt.datetime.now(dt.UTC),
        "stage": stage,
        "error_type": type(error).__name__,
        "reason": reason,
        "field": field,
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "key": key,
        "payload": payload[:PAYLOAD_LIMIT],
        "payload_size": len(payload),
    }
