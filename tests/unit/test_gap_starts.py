"""The gap filler looks up where the partitions of a new assignment start in one request."""

from __future__ import annotations

import asyncio

from streams.gaps import GapFiller


class CountingFiller(GapFiller):
    """Starts from a table instead of the broker, counting the lookups."""

    def __init__(self, starts: dict[tuple[str, int], int]) -> None:
        super().__init__({}, "g")
        self.starts = starts
        self.lookups: list[list[tuple[str, int]]] = []

    def _starts_of(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        self.lookups.append(list(partitions))
        return {tp: self.starts[tp] for tp in partitions}


ASSIGNED = [("t.web", 0), ("t.web", 1), ("t.app", 0)]


def test_one_lookup_serves_every_assigned_partition_of_a_generation() -> None:
    filler = CountingFiller({tp: 5 for tp in ASSIGNED})
    for topic, partition in ASSIGNED:
        assert asyncio.run(filler.before(topic, partition, 5, generation=1, peers=lambda: ASSIGNED)) == []
    assert len(filler.lookups) == 1
    assert sorted(filler.lookups[0]) == sorted(ASSIGNED)


def test_a_new_generation_looks_again_and_a_partition_outside_the_assignment_is_looked_up_alone() -> None:
    filler = CountingFiller({**{tp: 0 for tp in ASSIGNED}, ("t.pos", 3): 0})
    asyncio.run(filler.before("t.web", 0, 0, generation=1, peers=lambda: ASSIGNED))
    asyncio.run(filler.before("t.web", 0, 0, generation=2, peers=lambda: ASSIGNED))
    assert len(filler.lookups) == 2  # a rebalance: positions may have moved
    asyncio.run(filler.before("t.pos", 3, 0, generation=2, peers=lambda: ASSIGNED))
    assert filler.lookups[-1] == [("t.pos", 3)]  # the others are known for this generation
