"""One batch of routing messages on one partition: handled in process wherever the protocol allows.

Each touchpoint's walk is a chain of routing messages (a hop per identifier, then its cluster),
and a Kafka round trip per message is what limited the stage. Many messages of a chain are owned
by the partition that sends them; :func:`run_partition` handles those at once, in process, after
the messages already taken for this partition (first in, first out), and collects the others per
destination partition to be sent packed (:mod:`streams.identity.wire`).

Why this is the same protocol: a message a partition sends to itself would land in its own log
after everything already there. Handling it after the batch's own messages is the order it would
have had had nothing else arrived in between, one of the interleavings Kafka allows and the
protocol is proved for (:mod:`streams.identity.inmemory`). A crash before the batch's outputs
are sent replays its inputs, and the handlers repeat their effects on a replay whatever state
they find, so messages handled in process are produced and handled again.

Plain Python (the agent passes the tables, the partitioner and the handler); no Faust.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from streams.identity.protocol import Change, Message, Resolution, encode
from streams.identity.state import PartitionState
from streams.identity.wire import MAX_PACKED_BYTES, pack

JsonDict = dict[str, Any]
Item = Message | JsonDict  # a message handed on in process, or a routing value's item as read
Step = Callable[[Item, PartitionState], Awaitable[Any]]  # returns protocol.Effects
Owner = Callable[[str], int]  # state key -> the routing topic's partition that owns it


@dataclass(slots=True)
class Outputs:
    """What a batch sends: routing messages per destination partition, resolutions and changes."""

    routing: dict[int, list[JsonDict]] = field(default_factory=dict)
    resolved: list[Resolution] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    handled: int = 0  # messages handled, those from the topic and those handed on in process
    local: int = 0  # messages handed on in process (never sent)

    def route(self, partition: int, message: Message | JsonDict) -> None:
        """Queue ``message`` for ``partition`` of the routing topic (in order)."""
        encoded = message if isinstance(message, dict) else encode(message)
        self.routing.setdefault(partition, []).append(encoded)

    @property
    def routed(self) -> int:
        return sum(len(items) for items in self.routing.values())

    def values(self, max_bytes: int = MAX_PACKED_BYTES) -> Iterator[tuple[int, str, bytes]]:
        """(partition, key, value) of the routing topic's messages, partitions in ascending order."""
        for partition in sorted(self.routing):
            for key, value in pack(self.routing[partition], max_bytes):
                yield partition, key, value


async def run_partition(
    partition: int,
    items: Iterable[Item],
    state: PartitionState,
    owner: Owner,
    step: Step,
    out: Outputs,
) -> None:
    """Handle ``items`` in order on ``partition``, and what they cause for it, until nothing is left.

    Messages for other partitions, resolutions and changes are appended to ``out``.
    """
    queue: deque[Item] = deque(items)
    while queue:
        effects = await step(queue.popleft(), state)
        out.handled += 1
        for message in effects.messages:
            destination = owner(message.key)
            if destination == partition:
                queue.append(message)
                out.local += 1
            else:
                out.route(destination, message)
        out.resolved.extend(effects.resolved)
        out.changes.extend(effects.changes)
