"""The gap filler's broker reads ride out a broker restart instead of ending the worker."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.gaps import retrying


def down() -> KafkaException:
    return KafkaException(KafkaError(KafkaError._ALL_BROKERS_DOWN, "all broker connections are down"))


def test_a_read_that_fails_while_the_broker_restarts_is_retried_until_it_answers() -> None:
    answers: list[int | KafkaException] = [down(), down(), 42]

    def read() -> int:
        answer = answers.pop(0)
        if isinstance(answer, KafkaException):
            raise answer
        return answer

    assert retrying(read, "test read", outage_s=30) == 42
    assert answers == []


def test_an_outage_longer_than_the_bound_still_raises() -> None:
    calls = 0

    def read() -> int:
        nonlocal calls
        calls += 1
        raise down()

    with pytest.raises(KafkaException):
        retrying(read, "test read", outage_s=0.2)
    assert calls >= 1


def test_other_errors_are_not_retried() -> None:
    calls = 0

    def read() -> int:
        nonlocal calls
        calls += 1
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError, match="a bug"):
        retrying(read, "test read", outage_s=30)
    assert calls == 1
