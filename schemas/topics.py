"""Topic names, part of the contract.

Derived from one optional prefix so test runs and tenants can share a broker.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.models import Channel

# librdkafka options as confluent-kafka clients take them.
KafkaOptions = dict[str, str | int | float | bool]


@dataclass(frozen=True)
class TopicNames:
    """Every topic the pipeline reads or writes. ``prefix`` ('' in production) isolates test runs."""

    prefix: str = ""

    def _name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def touchpoints_prefix(self) -> str:
        """What the producer SDK prepends to the channel: ``<prefix>touchpoints``."""
        return self._name("touchpoints")

    def touchpoints(self, channel: Channel | str) -> str:
        return f"{self.touchpoints_prefix}.{Channel(channel).value}"

    @property
    def all_touchpoints(self) -> list[str]:
        return [self.touchpoints(c) for c in Channel]

    @property
    def resolved(self) -> str:
        return self._name("touchpoints.resolved")

    @property
    def identity_routing(self) -> str:
        """Internal: hop-by-hop messages of the identity stage, keyed by identifier or cluster."""
        return self._name("identity.routing")

    @property
    def identity_changes(self) -> str:
        return self._name("identity.changes")

    @property
    def journeys(self) -> str:
        return self._name("journeys")

    @property
    def sessions(self) -> str:
        return self._name("sessions")

    @property
    def alerts(self) -> str:
        return self._name("alerts")

    @property
    def journey_handoff(self) -> str:
        """Internal: a merged-away person's journey state, and touchpoints still keyed by it, on
        their way to the survivor's partition (keyed by the survivor)."""
        return self._name("journeys.handoff")

    @property
    def journey_index(self) -> str:
        """Internal: identifier -> person, keyed by identifier, so a card is found by any identifier."""
        return self._name("journeys.index")

    @property
    def dead_letters(self) -> str:
        return self._name("dead-letters")

    @property
    def suppressions(self) -> str:
        """Compacted: GDPR erasures (Suppression records keyed by subject), read whole by every
        worker and the sink so that replays of old topics stay erased."""
        return self._name("privacy.suppressions")
