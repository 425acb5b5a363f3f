"""One entry point per partition: ``handle(message, state) -> Effects``.

The Faust agent of the routing topic does no more than decode the value, call :func:`handle` with
the partition's tables, send ``effects.messages`` back to the routing topic keyed by
``message.key``, and publish ``effects.resolved`` and ``effects.changes``. Handlers are pure
functions of (message, state): no clock, no randomness, so a replay does what the first run did.
"""

from __future__ import annotations

from streams.identity.clusters import on_absorb, on_exclude, on_link, on_union
from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy
from streams.identity.hops import on_observe, on_relabel
from streams.identity.protocol import Absorb, Effects, Exclude, Link, Message, Observe, Relabel, Union
from streams.identity.state import PartitionState


def handle(message: Message, state: PartitionState, policy: IdentityPolicy = DEFAULT_POLICY) -> Effects:
    """Process one routing-topic message on the partition that owns ``message.key``."""
    if isinstance(message, Observe):
        return on_observe(message, state, policy)
    if isinstance(message, Link):
        return on_link(message, state, policy)
    if isinstance(message, Relabel):
        return on_relabel(message, state)
    if isinstance(message, Union):
        return on_union(message, state)
    if isinstance(message, Absorb):
        return on_absorb(message, state, policy)
    if isinstance(message, Exclude):
        return on_exclude(message, state, policy)
    raise TypeError(f"not an identity message: {type(message).__name__}")
