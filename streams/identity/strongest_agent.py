"""The simple identity stage: each touchpoint gets the person of its strongest identifier.

No stitching across identifiers (a customer seen under two identifiers is two customers), but no
state and no hops: ``OMNIJOURNEY_IDENTITY_STAGE=strongest``, for throughput or as a baseline. The
default is the stitching stage (``agent.py``). GDPR erasures hold here too: a touchpoint naming a
suppressed identifier, or whose person is suppressed, is dropped (counted, not dead-lettered).
"""

from __future__ import annotations

from typing import Any

import faust

from schemas.codec import Codec
from schemas.errors import OmnijourneyError
from schemas.topics import TopicNames
from sinks.suppressions import SuppressionList
from streams import metrics
from streams.dead_letters import DEAD_LETTER_NAME, dead_letter
from streams.gaps import GapFiller, Record, records_of
from streams.identity.resolve import Resolved, resolve
from streams.identity.touchpoints import RESOLVED_NAME
from streams.privacy.guard import PrivacyGuard

STAGE = "identity"


def names_suppressed(suppressions: SuppressionList, resolved: Resolved) -> bool:
    """Whether a resolved touchpoint carries an erased identifier or belongs to an erased person."""
    if suppressions.person(resolved.person_id):
        return True
    if not suppressions.identifiers:
        return False
    identifiers = resolved.record["touchpoint"]["identifiers"]
    return any(suppressions.identifier(str(i["type"]), i["value"]) for i in identifiers)


def register(
    app: faust.App, topics: TopicNames, codec: Codec, gaps: GapFiller, privacy: PrivacyGuard | None = None
) -> Any:
    """Declare the stage's topics and agent on ``app``; returns the agent (``gaps``: see
    :mod:`streams.gaps`; ``privacy``: the worker's GDPR suppressions, None only in tests)."""
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
        if privacy is not None and names_suppressed(privacy.list, out):
            privacy.dropped(STAGE, "touchpoint", len(out.record["touchpoint"]["identifiers"]))
            return
        await resolved.send(key=out.person_id.encode(), value=codec.encode(RESOLVED_NAME, out.record))
        counts.count_out("resolved")

    async def identity(stream: faust.StreamT[bytes]) -> None:
        if privacy is not None:
            await privacy.ready()  # a replay from the start must not let an erased person through
        async for event in stream.events():
            for record in await records_of(event, gaps):
                await take(record)

    return app.agent(source, name=f"{app.conf.id}.identity")(identity)
