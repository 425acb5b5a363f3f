"""Where the stages' agents meet the suppression list: small async hooks they call per record.

Kept here, not in the agents, so an agent grows by a few lines and the erasure logic stays in one
package. Every hook is cheap while nothing is suppressed (one empty-set check).
"""

from __future__ import annotations

from typing import Any

import faust

from streams.identity.guards import IdentityPolicy
from streams.identity.handler import handle
from streams.identity.protocol import Effects, decode
from streams.identity.state import PartitionState
from streams.privacy.guard import PrivacyGuard
from streams.privacy.identity import Erase, handle_erase, is_erase, screen_message, scrub_on_sight

IDENTITY = "identity"
JOURNEYS = "journeys"


class IdentityPrivacy:
    """The identity stage's hooks: intake screening and the routing topic's erase messages."""

    def __init__(self, guard: PrivacyGuard, routing: faust.TopicT) -> None:
        self.guard, self.routing = guard, routing

    async def suppressed_touchpoint(self, keys: tuple[str, ...]) -> bool:
        """Intake: whether a touchpoint carries a suppressed identifier (then it is dropped, counted)."""
        await self.guard.ready()
        if self.guard.any_key(keys):
            self.guard.dropped(IDENTITY, "touchpoint", len(keys))
            return True
        return False

    def intercepts(self, raw: dict[str, Any]) -> bool:
        return bool(self.guard.identifiers) or is_erase(raw)

    @property
    def screening(self) -> bool:
        """Whether routing messages must pass :meth:`route` (something is suppressed)."""
        return bool(self.guard.identifiers)

    async def route(self, raw: dict[str, Any], state: PartitionState, policy: IdentityPolicy) -> Effects:
        """An erase message, or a routing message while something is suppressed: the effects to publish."""
        if is_erase(raw):
            msg = Erase.from_json(raw)
            self.guard.add_local(msg.identifiers, msg.persons)
            out = handle_erase(msg, state, policy)
            for onward in out.erase:
                await self.routing.send(key=onward.key.encode(), value=onward.to_json())
            return out.identity
        message = screen_message(decode(raw), self.guard)
        if message is None:
            self.guard.dropped(IDENTITY, "routing message")
            return Effects()
        scrub_on_sight(message, state, self.guard)
        return handle(message, state, policy)


class JourneyPrivacy:
    """The journey stage's hooks: drop suppressed persons' records, erase a person's state."""

    def __init__(self, guard: PrivacyGuard) -> None:
        self.guard = guard

    async def ready(self) -> None:
        await self.guard.ready()

    def drops(
        self, person_ids: tuple[str | None, ...], identifiers: tuple[tuple[str, str], ...] = ()
    ) -> bool:
        """Whether a record of these persons (or carrying these identifiers) is suppressed (counted)."""
        guard = self.guard
        if not (guard.persons or guard.identifiers):
            return False
        if any(guard.person(p) for p in person_ids) or guard.any_key(f"{t}:{v}" for t, v in identifiers):
            guard.dropped(JOURNEYS, "record")
            return True
        return False

    def erase(self, persons: Any, person_id: str) -> bool:
        """An erasure change: delete the person's state (or its alias), a changelog tombstone."""
        self.guard.add_local((), (person_id,))
        if persons.get(person_id) is None:
            return False
        del persons[person_id]
        return True

    def index(self, index: Any, key: str, value: bytes) -> bool:
        """journeys.index: an empty value erases the entry; a suppressed entry is not written.

        True when handled here (the agent then writes nothing).
        """
        if not value:
            if index.get(key) is not None:
                del index[key]
            return True
        return self.drops((value.decode(),), (tuple(key.split(":", 1)),))  # type: ignore[arg-type]
