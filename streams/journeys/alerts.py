"""Broken hand-off alerts: their kinds, deterministic ids and the dicts written to ``alerts``.

An alert is built once here so every rule produces records that fit ``schemas/alert.avsc`` exactly
(a unit test encodes them with :class:`schemas.codec.Codec`). Its ``alert_id`` is a UUID5 over the
kind and the ids that *define* the broken hand-off, never the person or the time of detection: a
replay, a second detection of the same break, or the same break seen again after an identity merge
upserts one alert (the sink keeps one row per ``alert_id``).

Simulator hand-off kinds (``producers.simulator`` ground truth) and the alert each must raise, with
the id that defines it; the scoring test matches alerts to ground truth on kind + person + this id:

======================== ================================ ================= =========================
simulator hand-off       alert kind                       defining id       alert_id over
======================== ================================ ================= =========================
reservation_not_picked_up reservation_not_picked_up        reservation_id    kind, reservation_id
reservation_lost         reservation_missing_at_store     reservation_id    kind, reservation_id
repeat_contact           repeat_contact_other_channel     case_id           kind, case_id
unpurchasable_landing    campaign_landing_not_purchasable campaign_id       kind, campaign_id,
                                                                            landing event id
stock_blind_chat         chat_cannot_see_stock            store_id          kind, chat conversation,
                                                                            store_id
======================== ================================ ================= =========================

A lost reservation raises only ``reservation_missing_at_store``: when it later expires no second
``reservation_not_picked_up`` alert is raised, because the break was already reported with its
cause (one break, one alert).

Alerts live in two forms: the *record* (Avro form: ``detected_at``/``event_time`` aware UTC
datetimes) that is published, and the *stored* form kept in the continuity state (the same keys,
times as epoch milliseconds) so the state stays JSON-able.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from schemas.models.alert import AlertKind

EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ALERT_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://omnijourney.dev/alerts")
ALERT_AVRO_NAME: Final = "io.omnijourney.Alert"


@dataclass(frozen=True, slots=True)
class HandoffRule:
    """How one simulator hand-off kind shows up as an alert, and the alert field that identifies it."""

    alert_kind: AlertKind
    defining_field: str


HANDOFF_ALERT_KINDS: Final[dict[str, HandoffRule]] = {
    "reservation_not_picked_up": HandoffRule(AlertKind.RESERVATION_NOT_PICKED_UP, "reservation_id"),
    "reservation_lost": HandoffRule(AlertKind.RESERVATION_MISSING_AT_STORE, "reservation_id"),
    "repeat_contact": HandoffRule(AlertKind.REPEAT_CONTACT_OTHER_CHANNEL, "case_id"),
    "unpurchasable_landing": HandoffRule(AlertKind.CAMPAIGN_LANDING_NOT_PURCHASABLE, "campaign_id"),
    "stock_blind_chat": HandoffRule(AlertKind.CHAT_CANNOT_SEE_STOCK, "store_id"),
}
"""Simulator hand-off kind -> alert kind and defining id (the table in the module docstring)."""


def to_ms(value: dt.datetime) -> int:
    """Epoch milliseconds of an aware time (the precision of Avro ``timestamp-millis``)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: continuity logic works in aware UTC only")
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000 + delta.microseconds // 1_000


def from_ms(ms: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=ms)


def alert_id(kind: AlertKind, *defining_ids: str | None) -> str:
    """UUID5 over the kind and the defining ids; the same break always gets the same id."""
    parts = [kind.value, *("" if i is None else i for i in defining_ids)]
    return str(uuid.uuid5(ALERT_NAMESPACE, "\x1f".join(parts)))


def build_alert(
    kind: AlertKind,
    person_id: str,
    *,
    defining_ids: tuple[str | None, ...],
    detected_at: dt.datetime,
    event_ms: int,
    channel: str,
    message: str,
    evidence: Iterable[str | None],
    previous_channel: str | None = None,
    store_id: str | None = None,
    case_id: str | None = None,
    conversation_id: str | None = None,
    reservation_id: str | None = None,
    campaign_id: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """An alert record in Avro form. ``evidence`` is deduplicated, Nones dropped, order kept."""
    if detected_at.tzinfo is None:
        raise ValueError("detected_at must be timezone-aware")
    seen: dict[str, None] = {}
    for event_id in evidence:
        if event_id is not None:
            seen.setdefault(event_id, None)
    return {
        "alert_id": alert_id(kind, *defining_ids),
        "kind": kind.value,
        "person_id": person_id,
        "detected_at": from_ms(to_ms(detected_at)),
        "event_time": from_ms(event_ms),
        "channel": channel,
        "previous_channel": previous_channel,
        "store_id": store_id,
        "case_id": case_id,
        "conversation_id": conversation_id,
        "reservation_id": reservation_id,
        "campaign_id": campaign_id,
        "url": url,
        "message": message,
        "evidence_event_ids": list(seen),
        "retracted_by": None,
    }


def to_stored(record: dict[str, Any]) -> dict[str, Any]:
    """The JSON-able form kept in the continuity state (times as epoch ms)."""
    return {
        **record,
        "detected_at": to_ms(record["detected_at"]),
        "event_time": to_ms(record["event_time"]),
        "evidence_event_ids": list(record["evidence_event_ids"]),
    }


def from_stored(stored: dict[str, Any]) -> dict[str, Any]:
    """Back to the Avro record form (e.g. to publish again after an upsert)."""
    return {
        "retracted_by": None,  # absent in alerts stored before retractions existed
        **stored,
        "detected_at": from_ms(stored["detected_at"]),
        "event_time": from_ms(stored["event_time"]),
        "evidence_event_ids": list(stored["evidence_event_ids"]),
    }


def re_evidenced(
    stored: dict[str, Any], evidence: Iterable[str | None], detected_at: dt.datetime
) -> dict[str, Any] | None:
    """The stored alert as a record with new evidence (oldest first), or None when nothing changed.

    Re-publishing under the same ``alert_id`` is an upsert: the sink keeps the latest detection.
    """
    ids = list(dict.fromkeys(e for e in evidence if e is not None))
    if ids == stored["evidence_event_ids"]:
        return None
    record = from_stored(stored)
    record["evidence_event_ids"] = ids
    record["detected_at"] = from_ms(to_ms(detected_at))
    return record


def retraction(stored: dict[str, Any], by_alert_id: str, detected_at: dt.datetime) -> dict[str, Any]:
    """The record that withdraws ``stored`` because alert ``by_alert_id`` reports the same break truly.

    Same ``alert_id`` and a later ``detected_at``: the sink's ReplacingMergeTree keeps the retraction.
    """
    record = from_stored(stored)
    record["retracted_by"] = by_alert_id
    record["detected_at"] = from_ms(max(to_ms(detected_at), stored["detected_at"] + 1))
    return record


def upsert(stored: dict[str, Any] | None, record: dict[str, Any]) -> dict[str, Any] | None:
    """``record`` if it is new or says something the stored alert does not (detection time aside)."""
    if stored is None:
        return record
    fresh = to_stored(record)
    fresh["detected_at"] = stored["detected_at"]
    return None if fresh == stored else record
