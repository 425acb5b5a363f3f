"""Sink batching: flush policy, deterministic dedup tokens and the offsets committed after a write."""

from __future__ import annotations

from sinks.batch import DEAD_LETTERS, TOUCHPOINTS, Batch


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def due(batch: Batch) -> bool:
    """Read through a call: mypy would otherwise narrow the property after the first assert."""
    return batch.due


def test_due_by_rows_or_by_age_whichever_first() -> None:
    clock = FakeClock()
    batch = Batch(max_rows=3, max_ms=1000, clock=clock)
    assert not due(batch)
    batch.add(TOUCHPOINTS, {"a": 1}, "t", 0, 10)
    clock.now += 0.5
    assert not due(batch)
    clock.now += 0.6
    assert due(batch)
    batch.clear()
    for offset in range(3):
        batch.add(TOUCHPOINTS, {}, "t", 0, offset)
    assert due(batch)


def test_commit_positions_are_next_offsets_per_partition_across_tables() -> None:
    batch = Batch(max_rows=100, max_ms=1000)
    batch.add(TOUCHPOINTS, {}, "resolved", 0, 5)
    batch.add(TOUCHPOINTS, {}, "resolved", 0, 7)
    batch.add(DEAD_LETTERS, {}, "resolved", 0, 6)  # a record of the same partition that failed to decode
    batch.add(TOUCHPOINTS, {}, "resolved", 1, 2)
    assert batch.commit_positions() == {("resolved", 0): 8, ("resolved", 1): 3}


def test_dedup_token_depends_on_ranges_not_on_arrival_order() -> None:
    first, second = Batch(100, 1000), Batch(100, 1000)
    for partition, offset in [(0, 1), (1, 4), (0, 2)]:
        first.add(TOUCHPOINTS, {}, "t", partition, offset)
    for partition, offset in [(1, 4), (0, 2), (0, 1)]:
        second.add(TOUCHPOINTS, {}, "t", partition, offset)
    assert first.dedup_token(TOUCHPOINTS) == second.dedup_token(TOUCHPOINTS)
    third = Batch(100, 1000)
    third.add(TOUCHPOINTS, {}, "t", 0, 1)
    assert third.dedup_token(TOUCHPOINTS) != first.dedup_token(TOUCHPOINTS)
    assert first.dedup_token(TOUCHPOINTS) != first.dedup_token(DEAD_LETTERS)


def test_clear_empties_everything() -> None:
    batch = Batch(10, 10)
    batch.add(TOUCHPOINTS, {"x": 1}, "t", 0, 0)
    batch.clear()
    assert batch.empty
    assert batch.size == 0
    assert batch.commit_positions() == {}


class Msg:
    """A consumed message, as much as a batch keeps of it."""

    def __init__(self, offset: int) -> None:
        self.o = offset

    def topic(self) -> str:
        return "t"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.o

    def key(self) -> bytes | None:
        return None

    def value(self) -> bytes | None:
        return b"v"

    def timestamp(self) -> tuple[int, int]:
        return (0, -1)


def test_encoded_messages_count_towards_size_due_and_positions() -> None:
    batch = Batch(max_rows=3, max_ms=10_000)
    batch.add_encoded(TOUCHPOINTS, Msg(4), "t", 0, 4)
    batch.add(DEAD_LETTERS, {}, "t", 0, 5)
    assert not due(batch)
    batch.add_encoded(TOUCHPOINTS, Msg(6), "t", 0, 6)
    assert due(batch)
    assert [m.offset() for m in batch.encoded[TOUCHPOINTS]] == [4, 6]
    assert batch.commit_positions() == {("t", 0): 7}


def test_tokens_differ_by_write_path_and_repeat_for_the_same_ranges() -> None:
    first, second = Batch(100, 1000), Batch(100, 1000)
    for batch in (first, second):
        batch.add_encoded(TOUCHPOINTS, Msg(1), "t", 0, 1)
        batch.add(DEAD_LETTERS, {}, "t", 0, 2)
    assert first.dedup_token(TOUCHPOINTS, "avro") == second.dedup_token(TOUCHPOINTS, "avro")
    assert first.dedup_token(TOUCHPOINTS, "avro") != first.dedup_token(TOUCHPOINTS, "rows")
    assert first.dedup_token(TOUCHPOINTS, "avro").startswith("touchpoints:avro:")
