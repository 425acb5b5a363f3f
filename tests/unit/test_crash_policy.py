"""Which crashes end the worker, and that the policy reaches every agent of the app.

The real exit of a real worker is tests/integration/test_worker_crash.py; here the exit is
recorded instead of taken.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

import faust
import mode
import pytest

from streams.crash_policy import EXIT_AGENT_CRASHED, ExitOnAgentCrash, exit_on_agent_crash


class Recording(ExitOnAgentCrash):
    exits: ClassVar[list[int]] = []
    terminate = staticmethod(exits.append)


@dataclass(eq=False)
class FakeActor:
    """What the supervisor reads of a Faust actor."""

    crash_reason: BaseException | None = None
    agent: Any = field(default_factory=lambda: type("A", (), {"name": "app.stage"})())
    supervisor: Any = None

    @property
    def crashed(self) -> bool:
        return self.crash_reason is not None


@pytest.fixture(autouse=True)
def _no_exits() -> None:
    Recording.exits.clear()


def supervise(*actors: FakeActor) -> Recording:
    supervisor = Recording()
    supervisor.add(*actors)
    return supervisor


def test_an_exception_in_an_actor_exits_with_the_crash_code() -> None:
    supervise(FakeActor(), FakeActor(RuntimeError("bug"))).wakeup()
    assert Recording.exits == [EXIT_AGENT_CRASHED]


def test_a_cancelled_actor_is_a_stop_not_a_crash() -> None:
    supervise(FakeActor(asyncio.CancelledError())).wakeup()
    assert Recording.exits == []


def test_a_wakeup_without_a_crash_does_nothing() -> None:
    supervise(FakeActor(), FakeActor()).wakeup()
    assert Recording.exits == []


def test_actors_given_at_construction_are_watched_too() -> None:
    Recording(FakeActor(ValueError("bug"))).wakeup()
    assert Recording.exits == [EXIT_AGENT_CRASHED]


def test_every_agent_of_the_app_gets_the_policy() -> None:
    app = faust.App(f"c{uuid.uuid4().hex[:8]}", autodiscover=False)

    async def before(stream: faust.StreamT[bytes]) -> None:
        async for _ in stream:
            pass

    async def after(stream: faust.StreamT[bytes]) -> None:
        async for _ in stream:
            pass

    other: Any = mode.OneForAllSupervisor
    explicit: Any = app.agent("t-before", name="before", supervisor_strategy=other)(before)
    exit_on_agent_crash(app)
    later: Any = app.agent("t-after", name="after")(after)
    conf: Any = app.conf
    assert explicit.supervisor_strategy is ExitOnAgentCrash
    assert later.supervisor_strategy in (None, ExitOnAgentCrash)
    assert conf.agent_supervisor is ExitOnAgentCrash  # what an agent without its own uses
