"""A change to who-is-who on identity.changes, as pydantic (see ``schemas/identity_change.avsc``)."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar, Self

from pydantic import Field, model_validator

from schemas.models.base import AvroModel, UtcMillis
from schemas.models.touchpoint import Identifier

AVRO_NAME = "io.omnijourney.IdentityChange"


class IdentityChangeKind(StrEnum):
    MERGE = "merge"
    IDENTIFIER_BLOCKED = "identifier_blocked"
    IDENTIFIER_OVER_LINKED = "identifier_over_linked"
    ERASURE = "erasure"
    OTHER = "other"


class IdentityChange(AvroModel):
    """A merge (person_id -> survivor_person_id), a refused identifier or an erasure, with provenance.

    Provenance (the event, the identifiers that linked, the rule) is what lets a bad merge be
    explained and split later; merges themselves never rewrite stored history.
    """

    AVRO_NAME: ClassVar[str] = AVRO_NAME

    change_id: uuid.UUID
    kind: IdentityChangeKind
    person_id: str = Field(min_length=1)
    survivor_person_id: str | None = None
    related_person_ids: list[str] = Field(default_factory=list)
    event_id: uuid.UUID | None = None
    identifiers: list[Identifier] = Field(default_factory=list)
    rule: str | None = None
    reason: str | None = None
    event_time: UtcMillis
    changed_at: UtcMillis

    @model_validator(mode="after")
    def _merge_names_a_survivor(self) -> Self:
        """A merge without a survivor, or into itself, would leave person_aliases pointing nowhere."""
        if self.kind is IdentityChangeKind.MERGE:
            if self.survivor_person_id is None:
                raise ValueError("a merge needs survivor_person_id")
            if self.survivor_person_id == self.person_id:
                raise ValueError("a merge cannot merge a person into itself")
        return self
