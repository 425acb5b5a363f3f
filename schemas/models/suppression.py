"""A GDPR suppression record on privacy.suppressions, as pydantic (see ``schemas/suppression.avsc``)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar, Self

from pydantic import Field, model_validator

from schemas.models.base import AvroModel, Int32, UtcMillis

AVRO_NAME = "io.omnijourney.Suppression"


class SuppressionSubject(StrEnum):
    IDENTIFIER = "identifier"
    PERSON = "person"


class Suppression(AvroModel):
    """One erased identifier or person id: kept (compacted) so that replays stay erased."""

    AVRO_NAME: ClassVar[str] = AVRO_NAME

    subject: SuppressionSubject
    identifier_type: str | None = None
    value: str = Field(min_length=1)
    erasure_id: uuid.UUID
    subjects: Int32 = Field(ge=1)
    requested_at: UtcMillis

    @model_validator(mode="after")
    def _identifier_has_a_type(self) -> Self:
        """An identifier without its type could not be matched; a person has none."""
        if (self.subject is SuppressionSubject.IDENTIFIER) != (self.identifier_type is not None):
            raise ValueError("identifier_type is required for an identifier and absent for a person")
        return self

    @property
    def key(self) -> str:
        """The record's Kafka key (compaction keeps one record per subject)."""
        if self.subject is SuppressionSubject.IDENTIFIER:
            return f"identifier:{self.identifier_type}:{self.value}"
        return f"person:{self.value}"
