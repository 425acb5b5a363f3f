"""The simple identity stage: each touchpoint gets the person of its strongest identifier.

No stitching across identifiers (a customer seen under two identifiers is two customers), but no
state and no hops: ``OMNIJOURNEY_IDENTITY_STAGE=strongest``, for throughput or as a baseline. The
default is the stitching stage (``agent.py``).
"""

from __future__ import annotations

from typing import Any

import faust

from schemas.codec import Codec
from schemas.errors import OmnijourneyError
from schemas.topics import TopicNames
from streams import metrics
from streams.dead_letters import DEAD_LETTER_NAME, dead_letter
from streams.gaps import GapFiller, Record, records_of
from streams.identity.resolve import resolve
from streams.identity.touchpoints import RESOLVED_NAME

STAGE = "identity"


def register(app: faust.App, topics: TopicNames, codec: Codec, gaps: GapFiller) -> Any:
    """Declare the stage's topics and agent on ``app``; returns the agent (``gaps``: see
    :mod:`streams.gaps`)."""
    source = app.topic(*topics.all_touchpoints, key_serializer="raw", value_serializer="raw")
    resolved = app.topic(topics.resolved, key_serializer="raw", value_serializer="raw")
    dead = app.topic(topics.dead_letters, key_serializer="raw", value_serializer="raw")
    counts = metrics.StageMetrics(STAGE)

    async def take(msg: Record) -> None:
        counts.count_in()
        try:
            out = resolve(codec, msg.value, msg.topic, msg.partition, msg.offset)
        except OmnijourneyError as exc:
            exc.at(msg.topic, msg.partition, msg.offset)
            record = dead_letter(STAGE, exc, msg.topic, msg.partition, msg.offset, msg.key, msg.value)
            await dead.send(key=msg.key, value=codec.encode(DEAD_LETTER_NAME, record))
            counts.count_dead_letter(exc)
            return
        await resolved.send(key=out.person_id.encode(), value=codec.encode(RESOLVED_NAME, out.record))
        counts.count_out("resolved")

    async def identity(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            for record in await records_of(event, gaps):
                await take(record)

    return app.agent(source, name=f"{app.conf.id}.identity")(identity)
