"""Per-person journey state and its three operations: fold a touchpoint, advance time, merge persons.

Event-time correctness in a nutshell. The state keeps a watermark ``wm`` (the latest event time
known to have been reached: the person's own newest event, or what the caller passes) and a seal
point ``S = wm - grace``. Marks older than ``S`` are *sealed*: folded, in order, into the sealed
:class:`~streams.journeys.journey_book.Book`, and forgotten. Newer marks stay raw in ``tail``.
What is published is the *view*, sealed book + tail folded in order; a mark that arrives out of
order but not before ``S`` lands in the tail and the view is rebuilt, so the same events within the
grace period give the same sessions and journeys whatever their order. A mark older than ``S``
is *too late*: it is counted in :attr:`PersonState.late_events` and folded in best effort
(:meth:`Book.fold_late`), never dropped.

Outputs are upserts: each changed session or journey is published whole, as an
``io.omnijourney.Session`` / ``io.omnijourney.Journey`` record, with ``version`` taken from one
counter per person (so versions of one id always increase, also across ids that disappear and
come back). Ids whose session or journey was absorbed by another (a late event bridged them, an
identity merge joined them) are retired with a tombstone (see :func:`session_tombstone`,
:func:`journey_tombstone`). ``registry`` remembers what was last published for every id that may
still change, so unchanged rows are not published again.

Time closes rows only in the sealed book, and only once no mark at or after ``S`` could change
them: a session when ``last + gap < S``, an open journey (abandoned) when ``last + limit < S``,
an ended journey when ``ended + follow-up < S``. Hence the same final rows in every order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any, Final

from schemas.errors import DecodeError
from streams.journeys.journey_book import Book, Touched
from streams.journeys.journey_config import DEFAULT_CONFIG, JourneyConfig
from streams.journeys.journeys import JourneyAcc, journey_tombstone
from streams.journeys.sessions import SessionAcc, session_tombstone
from streams.journeys.timeline import Mark, fingerprint, from_ms, insert, mark_from_touch, split_sealed, to_ms
from streams.journeys.touch import Touch

STATE_FORMAT: Final = 1
_TOMBSTONE: Final = "-"


@dataclass(slots=True)
class Outputs:
    """Records to publish, in order: sessions to the sessions output, journeys to ``journeys``."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    journeys: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: Outputs) -> None:
        self.sessions.extend(other.sessions)
        self.journeys.extend(other.journeys)

    def __bool__(self) -> bool:
        return bool(self.sessions or self.journeys)

    def coalesced(self) -> Outputs:
        """Only the last row of every id (in order of first appearance): what a sink keeping the
        highest version would end up with, for a caller that buffers a batch before publishing."""
        return Outputs(_last_per_id(self.sessions, "session_id"), _last_per_id(self.journeys, "journey_id"))


def _last_per_id(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    last: dict[str, dict[str, Any]] = {}
    for row in rows:
        last[row[key]] = row
    order = dict.fromkeys(row[key] for row in rows)
    return [last[k] for k in order]


class PersonState:
    """Everything the journey stage keeps for one person (the value of its Faust table)."""

    __slots__ = ("_view", "late_events", "person_id", "registry", "sealed", "seq", "tail", "wm")

    def __init__(self, person_id: str) -> None:
        self.person_id = person_id
        self.wm: int | None = None
        self.late_events = 0
        self.seq = 0
        self.tail: list[Mark] = []
        self.sealed = Book()
        # id -> [digest of what was last published ("-" for a tombstone), first event time,
        #        channel ("" for journeys)]; "s:"/"j:" prefixed so both kinds share one map.
        self.registry: dict[str, list[Any]] = {}
        self._view: Book | None = None

    def view(self, cfg: JourneyConfig) -> Book:
        """Sealed book + tail, folded in order (rebuilt lazily after a load)."""
        if self._view is None:
            self._view = self._rebuild(cfg)
        return self._view

    def _rebuild(self, cfg: JourneyConfig) -> Book:
        view = self.sealed.copy()
        for m in self.tail:
            view.fold(m, cfg)
        return view

    def to_state(self) -> dict[str, Any]:
        """A JSON-able dict (for the table's changelog); :meth:`from_state` reads it back."""
        return {
            "v": STATE_FORMAT,
            "p": self.person_id,
            "wm": self.wm,
            "late": self.late_events,
            "seq": self.seq,
            "tail": [m.to_list() for m in self.tail],
            "book": self.sealed.to_list(),
            "reg": self.registry,
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> PersonState:
        if data.get("v") != STATE_FORMAT:
            raise DecodeError(f"unknown journey state format {data.get('v')!r}")
        new = cls(data["p"])
        new.wm, new.late_events, new.seq = data["wm"], data["late"], data["seq"]
        new.tail = [Mark.from_list(m) for m in data["tail"]]
        new.sealed = Book.from_list(data["book"])
        new.registry = {k: list(v) for k, v in data["reg"].items()}
        return new


def fold(
    state: PersonState,
    touch: Touch,
    cfg: JourneyConfig = DEFAULT_CONFIG,
    watermark: dt.datetime | None = None,
) -> Outputs:
    """Fold one touchpoint of this person; ``watermark``: the caller's stream time, if it has one."""
    return fold_mark(state, mark_from_touch(touch), cfg, None if watermark is None else to_ms(watermark))


def fold_mark(state: PersonState, mark: Mark, cfg: JourneyConfig, watermark_ms: int | None = None) -> Outputs:
    out = Outputs()
    view = state.view(cfg)
    if watermark_ms is not None and (state.wm is None or watermark_ms > state.wm):
        state.wm = watermark_ms
    if state.wm is not None and mark.t < state.wm - cfg.grace_ms:
        state.late_events += 1
        _changed, standalone = state.sealed.fold_late(mark, cfg)
        _publish_new(state, standalone, out)
        _settle(state, cfg, out, ([], []), rebuild=True)
        return out
    if not insert(state.tail, mark):
        return out  # a redelivered event: already folded
    state.wm = mark.t if state.wm is None else max(state.wm, mark.t)
    if view.last_key is None or mark.key > view.last_key:
        _settle(state, cfg, out, view.fold(mark, cfg), rebuild=False)
    else:
        _settle(state, cfg, out, ([], []), rebuild=True)
    return out


def advance(state: PersonState, watermark: dt.datetime, cfg: JourneyConfig = DEFAULT_CONFIG) -> Outputs:
    """Let event time pass to ``watermark``: close sessions, abandon journeys whose time is up."""
    return advance_ms(state, to_ms(watermark), cfg)


def advance_ms(state: PersonState, watermark_ms: int, cfg: JourneyConfig = DEFAULT_CONFIG) -> Outputs:
    out = Outputs()
    if state.wm is None or watermark_ms <= state.wm:
        return out
    state.wm = watermark_ms
    _settle(state, cfg, out, ([], []), rebuild=False)
    return out


def next_due(state: PersonState, cfg: JourneyConfig = DEFAULT_CONFIG) -> dt.datetime | None:
    """The watermark at which :func:`advance` will next have something to publish (None: nothing)."""
    due = next_due_ms(state, cfg)
    return None if due is None else from_ms(due)


def next_due_ms(state: PersonState, cfg: JourneyConfig = DEFAULT_CONFIG) -> int | None:
    deadlines = state.view(cfg).deadlines(cfg)
    return min(deadlines) + cfg.grace_ms + 1 if deadlines else None


def merge(
    survivor: PersonState,
    loser: PersonState,
    cfg: JourneyConfig = DEFAULT_CONFIG,
    shared: frozenset[str] | set[str] = frozenset(),
) -> Outputs:
    """Move the merged-away person's state into the survivor's (identity merge), by event time.

    The loser's recent marks are refolded with the survivor's exactly; sealed sessions and open
    journeys are joined (best effort, see :meth:`Book.absorb`). Every live row of the loser is
    republished under the survivor's person id; rows absorbed into a survivor row get tombstones
    (journeys: status ``merged`` with ``merged_into_journey_id``). Drop the loser's state after.

    ``shared``: fingerprints (:func:`~streams.journeys.timeline.fingerprint`) of events both
    persons folded. Two raw copies collapse into one by event id; a raw copy whose twin is already
    sealed on the other side (counted in an aggregate that cannot give it back) is dropped, so
    the event counts once. Only twins sealed on both sides would still count twice.
    """
    out = Outputs()
    if shared:
        _drop_sealed_twins(survivor, loser, shared)
    survivor.seq = max(survivor.seq, loser.seq)
    survivor.late_events += loser.late_events
    marks = [w for w in (survivor.wm, loser.wm) if w is not None]
    survivor.wm = max(marks) if marks else None
    for key, entry in loser.registry.items():
        survivor.registry.setdefault(key, entry)
    survivor.sealed.absorb(loser.sealed, cfg)
    for m in loser.tail:
        insert(survivor.tail, m)
    if survivor.wm is not None:  # else neither has seen a touchpoint: nothing to fold
        _settle(survivor, cfg, out, ([], []), rebuild=True)
    return out


# -- internals ------------------------------------------------------------------------------------


def _drop_sealed_twins(survivor: PersonState, loser: PersonState, shared: frozenset[str] | set[str]) -> None:
    """Drop each raw mark of a shared event whose copy on the other side is sealed (see merge)."""
    raw_s = {fingerprint(m.event_id) for m in survivor.tail}
    raw_l = {fingerprint(m.event_id) for m in loser.tail}
    twins_sealed_in_loser = (shared & raw_s) - raw_l
    twins_sealed_in_survivor = (shared & raw_l) - raw_s
    if twins_sealed_in_loser:
        survivor.tail = [m for m in survivor.tail if fingerprint(m.event_id) not in twins_sealed_in_loser]
        survivor._view = None
    if twins_sealed_in_survivor:
        loser.tail = [m for m in loser.tail if fingerprint(m.event_id) not in twins_sealed_in_survivor]
        loser._view = None


def _settle(state: PersonState, cfg: JourneyConfig, out: Outputs, touched: Touched, rebuild: bool) -> None:
    """Seal what the watermark allows, close by time, publish finals and every changed live row."""
    assert state.wm is not None
    seal = state.wm - cfg.grace_ms
    sealed, state.tail = split_sealed(state.tail, seal)
    book = state.sealed
    for m in sealed:
        if book.last_key is not None and m.key <= book.last_key:
            # Only after an identity merge of books sealed at different points.
            _publish_new(state, book.fold_late(m, cfg)[1], out)
            rebuild = True
        else:
            book.fold(m, cfg)
    final_s, final_j = book.close(seal, cfg)
    for s in final_s:
        _publish(state, s, out, final=True)
    for j in final_j:
        _publish(state, j, out, final=True)
    if rebuild:
        view = state._view = state._rebuild(cfg)
        for s in view.sessions:
            _publish(state, s, out)
        for j in view.journeys:
            _publish(state, j, out)
        _retire_absorbed(state, view, (final_s, final_j), out, seal)
        return
    gone_s, gone_j = {s.id for s in final_s}, {j.id for j in final_j}
    if gone_s or gone_j:
        # What closed in the sealed book is in the view unchanged (no newer mark can reach it):
        # dropping it there is the same as rebuilding the view, without the refold.
        state.view(cfg).drop(gone_s, gone_j)
        for key in [k for k, (digest, first_t, _) in state.registry.items() if digest == _TOMBSTONE]:
            if state.registry[key][1] < seal:
                del state.registry[key]
    for s in touched[0]:
        if s.id not in gone_s:
            _publish(state, s, out)
    for j in touched[1]:
        if j.id not in gone_j:
            _publish(state, j, out)


def _digest(state: PersonState, acc: SessionAcc | JourneyAcc) -> str:
    raw = repr((state.person_id, acc.to_list())).encode()
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _publish(state: PersonState, acc: SessionAcc | JourneyAcc, out: Outputs, final: bool = False) -> None:
    """Publish ``acc`` if it differs from what was last published for its id."""
    is_session = isinstance(acc, SessionAcc)
    key = ("s:" if is_session else "j:") + acc.id
    digest = _digest(state, acc)
    entry = state.registry.get(key)
    if entry is None or entry[0] != digest:
        state.seq += 1
        if isinstance(acc, SessionAcc):
            out.sessions.append(acc.record(state.person_id, state.seq))
        else:
            out.journeys.append(acc.record(state.person_id, state.seq))
    if final:
        state.registry.pop(key, None)
    elif entry is None or entry[0] != digest:
        channel = acc.channel if isinstance(acc, SessionAcc) else acc.first_ch
        state.registry[key] = [digest, acc.first_t, channel]


def _publish_new(state: PersonState, standalone: Touched, out: Outputs) -> None:
    """Rows that are final as soon as they exist (too-late events with nowhere to go)."""
    for s in standalone[0]:
        _publish(state, s, out, final=True)
    for j in standalone[1]:
        _publish(state, j, out, final=True)


def _retire_absorbed(state: PersonState, view: Book, finals: Touched, out: Outputs, seal: int) -> None:
    """Tombstone every published id that no live row carries any more; forget old tombstones."""
    live = {"s:" + s.id for s in view.sessions} | {"j:" + j.id for j in view.journeys}
    sessions = [*view.sessions, *finals[0]]
    journeys = [*view.journeys, *finals[1]]
    for key, entry in list(state.registry.items()):
        if key in live:
            continue
        digest, first_t, channel = entry
        if digest != _TOMBSTONE:
            state.seq += 1
            if key.startswith("s:"):
                into_s = _containing_session(sessions, channel, first_t)
                out.sessions.append(
                    session_tombstone(key[2:], into_s, channel, state.person_id, state.seq, first_t)
                )
            else:
                into_j = _containing_journey(journeys, first_t)
                out.journeys.append(
                    journey_tombstone(key[2:], into_j, channel, state.person_id, state.seq, first_t)
                )
            entry[0] = _TOMBSTONE
        if first_t < seal:
            # Its first touchpoint is sealed inside another row: the id cannot come back.
            del state.registry[key]


def _containing_session(sessions: list[SessionAcc], channel: str, t: int) -> SessionAcc | None:
    for s in sessions:
        if s.channel == channel and s.first_t <= t <= s.last_t:
            return s
    return None


def _containing_journey(journeys: list[JourneyAcc], t: int) -> JourneyAcc | None:
    best = None
    for j in journeys:
        if j.first_t <= t <= max(j.last_t, j.ended or j.last_t):
            best = j
    return best
