"""Events written with an old touchpoint schema stay readable once its version is kept in history.

The fixture ``tests/fixtures/schemas/history/touchpoint.v1.avsc`` is an older, smaller touchpoint
(no consent, attributes, conversation id, or purchasable/amount/currency/summary context, fewer
enum symbols). A channel team still running that SDK writes events with its fingerprint; a consumer
whose catalog keeps the old version resolves them into the current schema with defaults filled in.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import uuid
from pathlib import Path
from typing import Any

import fastavro
import pytest

from schemas.catalog import SCHEMA_DIR, SchemaCatalog, SchemaVersion
from schemas.codec import SINGLE_OBJECT_MAGIC, Codec
from schemas.compat import check_directory
from schemas.errors import UnknownSchemaError
from schemas.models import Channel, EventType, IdentifierType, Touchpoint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "schemas"
TOUCHPOINT = "io.omnijourney.Touchpoint"
EVENT_ID = uuid.UUID("6f1c2a7e-9d4b-4c1e-8a53-0b7f2d9e4c11")

OLD_EVENT: dict[str, Any] = {
    "event_id": str(EVENT_ID),
    "event_time": dt.datetime(2023, 11, 2, 9, 15, 30, 250000, tzinfo=dt.UTC),
    "channel": "chat",
    "event_type": "reservation_created",
    "identifiers": [{"type": "hashed_email", "value": "9f86d081"}, {"type": "cookie", "value": "c-42"}],
    "source": "chat-widget",
    "session_id": "s-7",
    "case_id": None,
    "context": {
        "store_id": "milano-3",
        "agent_id": "a-12",
        "campaign_id": None,
        "url": None,
        "product_ids": ["sofa-green-velvet"],
        "order_id": None,
        "reservation_id": "R-1001",
    },
}


@pytest.fixture
def catalog_with_history(tmp_path: Path) -> SchemaCatalog:
    """The real current schemas plus the old touchpoint in history/, assembled in a temp dir."""
    for path in SCHEMA_DIR.glob("*.avsc"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "history").mkdir()
    shutil.copy(FIXTURES / "history" / "touchpoint.v1.avsc", tmp_path / "history" / "touchpoint.v1.avsc")
    return SchemaCatalog.load(tmp_path)


def _old_version(catalog: SchemaCatalog) -> SchemaVersion:
    (old,) = catalog.history[TOUCHPOINT]
    return old


def _written_with(version: SchemaVersion, record: dict[str, Any]) -> bytes:
    """Single-object encoding by hand, as an old SDK would have produced it."""
    buf = io.BytesIO()
    buf.write(SINGLE_OBJECT_MAGIC + version.fingerprint)
    fastavro.schemaless_writer(buf, version.parsed, record)
    return buf.getvalue()


def test_the_old_version_is_a_different_writer(catalog_with_history: SchemaCatalog) -> None:
    old = _old_version(catalog_with_history)
    assert old.fingerprint != catalog_with_history.current[TOUCHPOINT].fingerprint
    assert "consent" not in {f["name"] for f in old.raw["fields"]}


def test_old_event_resolves_into_the_current_touchpoint(catalog_with_history: SchemaCatalog) -> None:
    old = _old_version(catalog_with_history)
    decoded = Codec(catalog_with_history).decode(_written_with(old, OLD_EVENT))

    assert decoded.name == TOUCHPOINT
    assert decoded.writer.fingerprint == old.fingerprint
    event = Touchpoint.from_avro(decoded.record)
    # What the old writer sent survives ...
    assert event.event_id == EVENT_ID
    assert event.event_time == OLD_EVENT["event_time"]
    assert event.channel is Channel.CHAT
    assert event.event_type is EventType.RESERVATION_CREATED
    assert [(i.type, i.value) for i in event.identifiers] == [
        (IdentifierType.HASHED_EMAIL, "9f86d081"),
        (IdentifierType.COOKIE, "c-42"),
    ]
    assert (event.source, event.session_id) == ("chat-widget", "s-7")
    assert (event.context.store_id, event.context.agent_id) == ("milano-3", "a-12")
    assert event.context.product_ids == ["sofa-green-velvet"]
    assert event.context.reservation_id == "R-1001"
    # ... and what it did not know comes from the current schema's defaults.
    assert event.consent is None
    assert event.attributes == {}
    assert event.conversation_id is None
    assert event.context.purchasable is None
    assert event.context.amount_cents is None
    assert event.context.currency is None
    assert event.context.summary is None


def test_without_the_history_the_old_fingerprint_is_unknown(catalog_with_history: SchemaCatalog) -> None:
    data = _written_with(_old_version(catalog_with_history), OLD_EVENT)
    bare = SchemaCatalog(list(catalog_with_history.current.values()), [])
    with pytest.raises(UnknownSchemaError, match=_old_version(catalog_with_history).fingerprint.hex()):
        Codec(bare).decode(data)


def test_the_old_version_is_compatible_with_the_current_one(catalog_with_history: SchemaCatalog) -> None:
    directory = _old_version(catalog_with_history).source.parent.parent
    result = check_directory(directory, use_git=False)
    assert result.problems == []
    assert f"{TOUCHPOINT} vs history/touchpoint.v1.avsc" in result.compared
