"""Pydantic mirrors of the Avro schemas, for validation with field-level error messages.

The ``.avsc`` files are the source of truth; ``tests/unit/test_models_match_schemas.py`` proves
that every model here agrees with its schema field by field.
"""

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

__all__ = [
    "TOUCHPOINT_AVRO_NAME",
    "Channel",
    "Consent",
    "Context",
    "EventType",
    "Identifier",
    "IdentifierType",
    "Touchpoint",
]
