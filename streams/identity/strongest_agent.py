"""The default identity stage: each touchpoint gets the person of its strongest identifier.

Lossless and simple; it does not stitch across identifiers. The stitching stage (``agent.py``)
is selected with ``OMNIJOURNEY_IDENTITY_STAGE=stitch`` while a loss of a few touchpoints per
thousand under load is investigated (issue: identity stitching stream).
"""

from __future__ import annotations

from typing import Any

import faust

from schemas.codec import Codec
from schemas.errors import OmnijourneyError
from schemas.topics import TopicNames
from streams.dead_letters import DEAD_LETTER_NAME, dead_letter
from streams.identity.resolve import resolve
from streams.identity.touchpoints import RESOLVED_NAME

STAGE = "identity"


def register(app: faust.App, topics: TopicNames, codec: Codec) -> Any:
    """Declare the stage's topics and agent on ``app``; returns the agent."""
    source = app.topic(*topics.all_touchpoints, key_serializer="raw", value_serializer="raw")
    resolved = app.topic(topics.resolved, key_serializer="raw", value_serializer="raw")
    dead = app.topic(topics.dead_letters, key_serializer="raw", value_serializer="raw")

    async def identity(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            msg = event.message
            try:
                out = resolve(codec, event.value, msg.topic, msg.partition, msg.offset)
            except OmnijourneyError as exc:
                exc.at(msg.topic, msg.partition, msg.offset)
                record = dead_letter(STAGE, exc, msg.topic, msg.partition, msg.offset, msg.key, event.value)
                await dead.send(key=msg.key, value=codec.encode(DEAD_LETTER_NAME, record))
                continue
            await resolved.send(key=out.person_id.encode(), value=codec.encode(RESOLVED_NAME, out.record))

    return app.agent(source, name=f"{app.conf.id}.identity")(identity)
