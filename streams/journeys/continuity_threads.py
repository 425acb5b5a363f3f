"""Conversation threads: linking touchpoints by conversation, case and reservation ids.

Why the union of three ids: the channels that hand a customer over to each other do not share one
id. The chat and the call that continues it share the conversation id; a case raised in the chat and
again in the store share the case id; a reservation made in the chat and picked up in the store share
the reservation id. A touch carrying ids of two threads joins them (the older thread survives, by
first event time then id, so the result does not depend on arrival order).
"""

from __future__ import annotations

from typing import Final

from streams.journeys.continuity_state import ContinuityState, Leg, Thread
from streams.journeys.touch import Touch

MAX_LEGS: Final = 40
MAX_SUMMARIES: Final = 5
MAX_PRODUCTS: Final = 10
MAX_AGENTS: Final = 5


def thread_keys(t: Touch) -> list[str]:
    keys = []
    if t.conversation_id:
        keys.append(f"conv:{t.conversation_id}")
    if t.case_id:
        keys.append(f"case:{t.case_id}")
    if t.reservation_id:
        keys.append(f"res:{t.reservation_id}")
    return keys


def contact_of(t: Touch) -> str:
    """What makes two touches one contact: the conversation, else the session (a store visit)."""
    return t.conversation_id or t.session_id or ""


def link(state: ContinuityState, keys: list[str], ms: int) -> Thread:
    """The thread for ``keys``: an existing one (joining several if the keys span them) or a new one."""
    found: dict[str, Thread] = {}
    for key in keys:
        thread = state.thread_of(key)
        if thread is not None:
            found[thread.thread_id] = thread
    if not found:
        thread = Thread(thread_id=keys[0], keys=[], first_ms=ms, last_ms=ms)
        state.threads[thread.thread_id] = thread
    else:
        ordered = sorted(found.values(), key=lambda t: (t.first_ms, t.thread_id))
        thread = ordered[0]
        for other in ordered[1:]:
            absorb(state, thread, other)
    for key in keys:
        if key not in thread.keys:
            thread.keys.append(key)
            thread.keys.sort()
            state.links[key] = thread.thread_id
    if ms < thread.first_ms and keys[0] != thread.thread_id:
        _rename(state, thread, keys[0])
    return thread


def _rename(state: ContinuityState, thread: Thread, thread_id: str) -> None:
    """An earlier touch arrived late: the thread is named after its earliest touch's first key."""
    if state.threads.get(thread.thread_id) is thread:
        del state.threads[thread.thread_id]
    thread.thread_id = thread_id
    state.threads[thread_id] = thread
    state.links.update(dict.fromkeys(thread.keys, thread_id))


def absorb(state: ContinuityState, into: Thread, other: Thread) -> None:
    """Move ``other`` into ``into`` (same person, or two persons after an identity merge)."""
    for key in other.keys:
        if key not in into.keys:
            into.keys.append(key)
        state.links[key] = into.thread_id
    into.keys.sort()
    for leg in other.legs:
        add_leg(into, leg.channel, leg.contact, leg.first_ms, leg.first_event, leg.case_id, leg.events)
        mine = find_leg(into, leg.channel, leg.contact)
        if mine is not None:
            mine.last_ms = max(mine.last_ms, leg.last_ms)
    for ms, channel, text in other.summaries:
        add_summary(into, ms, channel, text)
    into.first_ms = min(into.first_ms, other.first_ms)
    into.last_ms = max(into.last_ms, other.last_ms)
    if other.store_id is not None and other.store_ms >= into.store_ms:
        into.store_id, into.store_ms = other.store_id, other.store_ms
    _extend(into.agent_ids, other.agent_ids, MAX_AGENTS)
    _extend(into.product_ids, other.product_ids, MAX_PRODUCTS)
    _extend(into.resolved_cases, other.resolved_cases, 100)
    if state.threads.get(other.thread_id) is other:
        del state.threads[other.thread_id]


def find_leg(thread: Thread, channel: str, contact: str) -> Leg | None:
    for leg in thread.legs:
        if leg.channel == channel and leg.contact == contact:
            return leg
    return None


def add_leg(
    thread: Thread,
    channel: str,
    contact: str,
    ms: int,
    event_id: str,
    case_id: str | None = None,
    events: int = 1,
) -> Leg:
    """Count an event into the thread's leg for (channel, contact), creating it in time order."""
    leg = find_leg(thread, channel, contact)
    if leg is None:
        leg = Leg(channel, contact, ms, ms, event_id, events, case_id)
        thread.legs.append(leg)
        thread.legs.sort(key=lambda g: (g.first_ms, g.first_event))
        if len(thread.legs) > MAX_LEGS:
            del thread.legs[0]
    else:
        leg.events += events
        if (ms, event_id) < (leg.first_ms, leg.first_event):
            leg.first_ms, leg.first_event = ms, event_id
            thread.legs.sort(key=lambda g: (g.first_ms, g.first_event))
        leg.last_ms = max(leg.last_ms, ms)
        if leg.case_id is None:
            leg.case_id = case_id
    thread.first_ms = min(thread.first_ms, ms)
    thread.last_ms = max(thread.last_ms, ms)
    return leg


def add_summary(thread: Thread, ms: int, channel: str, text: str) -> None:
    item = (ms, channel, text)
    if item in thread.summaries:
        return
    thread.summaries.append(item)
    thread.summaries.sort()
    del thread.summaries[:-MAX_SUMMARIES]


def note_touch(thread: Thread, t: Touch, ms: int) -> Leg:
    """Everything a touch adds to its thread: its leg, summary, store, agent and products."""
    leg = add_leg(thread, t.channel, contact_of(t), ms, t.event_id, t.case_id)
    if t.summary:
        add_summary(thread, ms, t.channel, t.summary)
    if t.store_id and (thread.store_id is None or ms >= thread.store_ms):
        thread.store_id, thread.store_ms = t.store_id, ms
    if t.agent_id:
        _extend(thread.agent_ids, [t.agent_id], MAX_AGENTS)
    _extend(thread.product_ids, t.product_ids, MAX_PRODUCTS)
    return leg


def _extend(target: list[str], more: list[str] | tuple[str, ...], cap: int) -> None:
    """Add to a small sorted set (sorted: the same whatever order the touches arrived in)."""
    added = False
    for item in more:
        if item not in target:
            target.append(item)
            added = True
    if added:
        target.sort()
        del target[cap:]
