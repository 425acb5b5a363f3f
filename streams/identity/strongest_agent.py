"""The simple identity stage: each touchpoint gets the person of its strongest identifier.

No stitching across identifiers (a customer seen under two identifiers is two customers), but no
state and no hops: ``OMNIJOURNEY_IDENTITY_STAGE=strongest``, for throughput or as a baseline. The
default is the stitching stage (``agent.py``). GDPR erasures hold here too: a touchpoint naming a
suppressed identifier, or whose person is suppressed, is dropped (counted, not dead-lettered).

It works in batches like the stitching stage: the touchpoints of a batch are checked, their
resolved records spliced from the bytes read (:mod:`streams.identity.splice`), handed to the
producer as record batches per partition (:mod:`streams.batch_send`), and only then are the
batch's offsets released for commit.
"""

from __future__ import annotations

from typing import Any

import faust

from schemas.codec import Codec
from schemas.errors import OmnijourneyError
from schemas.models import IdentifierType
from schemas.topics import TopicNames
from sinks.suppressions import SuppressionList
from streams import metrics
from streams.batch_send import BatchSender, Output
from streams.dead_letters import DEAD_LETTER_NAME, dead_letter
from streams.faust_batch import BATCH_MAX, BATCH_WITHIN, HeldAcks, take_events
from streams.gaps import GapFiller, Record, records_of
from streams.identity.resolve import identify
from streams.identity.splice import ResolvedEncoder
from streams.privacy.guard import PrivacyGuard

STAGE = "identity"
Outgoing = list[Output]  # (topic name, key, value) to send, in order


def names_suppressed(
    suppressions: SuppressionList, person_id: str, identifiers: list[tuple[IdentifierType, str]]
) -> bool:
    """Whether a touchpoint carries an erased identifier or belongs to an erased person."""
    if suppressions.person(person_id):
        return True
    return bool(suppressions.identifiers) and any(suppressions.identifier(t.value, v) for t, v in identifiers)


def register(
    app: faust.App, topics: TopicNames, codec: Codec, gaps: GapFiller, privacy: PrivacyGuard | None = None
) -> Any:
    """Declare the stage's topics and agent on ``app``; returns the agent (``gaps``: see
    :mod:`streams.gaps`; ``privacy``: the worker's GDPR suppressions, None only in tests)."""
    source = app.topic(*topics.all_touchpoints, key_serializer="raw", value_serializer="raw")
    counts = metrics.StageMetrics(STAGE)
    sender = BatchSender(app)
    encoder = ResolvedEncoder(codec)

    def take(msg: Record, out: Outgoing) -> None:
        counts.count_in()
        try:
            person_id, identifiers = identify(codec, msg.value)
        except OmnijourneyError as exc:
            exc.at(msg.topic, msg.partition, msg.offset)
            record = dead_letter(STAGE, exc, msg.topic, msg.partition, msg.offset, msg.key, msg.value)
            out.append((topics.dead_letters, msg.key, codec.encode(DEAD_LETTER_NAME, record)))
            counts.count_dead_letter(exc)
            return
        if privacy is not None and names_suppressed(privacy.list, person_id, identifiers):
            privacy.dropped(STAGE, "touchpoint", len(identifiers))
            return
        value = encoder.encode_value(person_id, msg.value or b"", msg.topic, msg.partition, msg.offset)
        out.append((topics.resolved, person_id.encode(), value))
        counts.count_out("resolved")

    async def identity(stream: faust.StreamT[bytes]) -> None:
        if privacy is not None:
            await privacy.ready()  # a replay from the start must not let an erased person through
        async for events in take_events(stream, BATCH_MAX, BATCH_WITHIN):
            held, out = HeldAcks(events), Outgoing()
            counts.count_batch()
            for event in events:
                for record in await records_of(event, gaps):
                    take(record, out)
            await sender.send(out)  # as record batches per partition (streams.batch_send)
            held.release()

    return app.agent(source, name=f"{app.conf.id}.identity")(identity)
