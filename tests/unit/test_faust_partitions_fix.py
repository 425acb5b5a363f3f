"""The partition check of a table's first write: 0 partitions means "not known yet", not a mismatch."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faust.exceptions import PartitionsMismatch

from streams import faust_partitions_fix


def table(counts: dict[str, int | None]) -> Any:
    consumer = SimpleNamespace(topic_partitions=counts.get)
    return SimpleNamespace(
        app=SimpleNamespace(consumer=consumer),
        name="journey-index",
        changelog_topic_name="app-journey-index-changelog",
        _verified_source_topics_for_partitions=set(),
    )


def verify(t: Any) -> None:
    faust_partitions_fix._verify_source_topic_partitions(t, "journeys.index")


def test_a_changelog_whose_partitions_are_not_in_the_metadata_yet_is_checked_again_later() -> None:
    t = table({"journeys.index": 4, "app-journey-index-changelog": 0})
    verify(t)  # Faust's own check raises PartitionsMismatch here
    assert t._verified_source_topics_for_partitions == set()
    with pytest.raises(PartitionsMismatch):
        faust_partitions_fix._ORIGINAL(t, "journeys.index")


def test_a_real_mismatch_still_raises_and_a_match_is_remembered() -> None:
    with pytest.raises(PartitionsMismatch):
        verify(table({"journeys.index": 4, "app-journey-index-changelog": 8}))
    t = table({"journeys.index": 4, "app-journey-index-changelog": 4})
    verify(t)
    assert t._verified_source_topics_for_partitions == {"journeys.index"}
