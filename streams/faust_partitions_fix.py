"""A fix for faust-streaming 0.15.3 that crashes a table write on a changelog it has not seen yet.

Before a table's first write from a source topic, Faust checks that the source topic and the
table's changelog have the same partition count, reading both from the consumer's metadata
snapshot. A changelog topic created moments before (a new deployment, a test's own topics) can be
in that snapshot before its partitions are: it counts 0, and Faust raises ``PartitionsMismatch``
("has 4 partitions, but the changelog ... has 0 partitions"), which ends the worker (exit 70).
Seen on the real broker on a loaded machine, on the journey stage's first index write.

No topic has 0 partitions: 0 means "not known yet", like Faust's own ``None``. The fix skips the
check in that case without remembering it as passed, so the next write checks again with fresher
metadata; a real mismatch still raises.
"""

from __future__ import annotations

from typing import Any

from faust.tables.base import Collection

_ORIGINAL = Collection._verify_source_topic_partitions
_APPLIED_FLAG = "_omnijourney_partitions_fix"


def _verify_source_topic_partitions(self: Any, source_topic: str) -> None:
    if source_topic not in self._verified_source_topics_for_partitions:
        partitions = self.app.consumer.topic_partitions
        if 0 in (partitions(source_topic), partitions(self.changelog_topic_name)):
            return  # metadata still arriving: check again at the next write
    _ORIGINAL(self, source_topic)


def apply() -> None:
    """Install the fix once per process (idempotent)."""
    if getattr(Collection, _APPLIED_FLAG, False):
        return
    Collection._verify_source_topic_partitions = _verify_source_topic_partitions  # type: ignore[method-assign]
    setattr(Collection, _APPLIED_FLAG, True)
