"""Pydantic mirrors of the Avro schemas, for validation with field-level error messages.

The ``.avsc`` files are the source of truth; ``tests/unit/test_models_match_schemas.py`` proves
that every model here agrees with its schema field by field, and that every current schema has a
model in :data:`MODELS`.
"""

from schemas.models.alert import AVRO_NAME as ALERT_AVRO_NAME
from schemas.models.alert import Alert, AlertKind
from schemas.models.base import AvroModel, AvroRecord, Int32, UtcMillis, to_utc_millis
from schemas.models.dead_letter import AVRO_NAME as DEAD_LETTER_AVRO_NAME
from schemas.models.dead_letter import DeadLetter
from schemas.models.identity_change import AVRO_NAME as IDENTITY_CHANGE_AVRO_NAME
from schemas.models.identity_change import IdentityChange, IdentityChangeKind
from schemas.models.journey import AVRO_NAME as JOURNEY_AVRO_NAME
from schemas.models.journey import Journey, JourneyStage, JourneyStatus
from schemas.models.resolved_touchpoint import AVRO_NAME as RESOLVED_TOUCHPOINT_AVRO_NAME
from schemas.models.resolved_touchpoint import ResolvedTouchpoint
from schemas.models.session import AVRO_NAME as SESSION_AVRO_NAME
from schemas.models.session import Session
from schemas.models.suppression import AVRO_NAME as SUPPRESSION_AVRO_NAME
from schemas.models.suppression import Suppression, SuppressionSubject
from schemas.models.touchpoint import (
    AVRO_NAME as TOUCHPOINT_AVRO_NAME,
)
from schemas.models.touchpoint import (
    Channel,
    Consent,
    Context,
    EventType,
    Identifier,
    IdentifierType,
    Touchpoint,
)

MODELS: dict[str, type[AvroModel]] = {
    model.AVRO_NAME: model
    for model in (
        Touchpoint,
        ResolvedTouchpoint,
        DeadLetter,
        IdentityChange,
        Journey,
        Session,
        Alert,
        Suppression,
    )
}
"""Every top-level model by the full name of its Avro schema, e.g. to validate a ``Decoded.record``."""

__all__ = [
    "ALERT_AVRO_NAME",
    "DEAD_LETTER_AVRO_NAME",
    "IDENTITY_CHANGE_AVRO_NAME",
    "JOURNEY_AVRO_NAME",
    "MODELS",
    "RESOLVED_TOUCHPOINT_AVRO_NAME",
    "SESSION_AVRO_NAME",
    "SUPPRESSION_AVRO_NAME",
    "TOUCHPOINT_AVRO_NAME",
    "Alert",
    "AlertKind",
    "AvroModel",
    "AvroRecord",
    "Channel",
    "Consent",
    "Context",
    "DeadLetter",
    "EventType",
    "Identifier",
    "IdentifierType",
    "IdentityChange",
    "IdentityChangeKind",
    "Int32",
    "Journey",
    "JourneyStage",
    "JourneyStatus",
    "ResolvedTouchpoint",
    "Session",
    "Suppression",
    "SuppressionSubject",
    "Touchpoint",
    "UtcMillis",
    "to_utc_millis",
]
