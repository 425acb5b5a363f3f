"""One person's live sessions and journeys, and the rules that fold a touchpoint into them.

A :class:`Book` is folded strictly in event-time order (:meth:`Book.fold`), so its content is a
function of the marks folded and nothing else: that is what makes the output independent of
arrival order. The person state (:mod:`streams.journeys.journey_state`) keeps two of them: the
*sealed* book, holding every mark older than the watermark minus the grace period (which no
in-grace event can precede any more), and a *view* = sealed book + the recent marks, rebuilt when
a late mark lands between them. Only sealed books are closed by time (:meth:`Book.close`): a
session or journey is final once no in-grace event could still change it.

"Live" means not yet final: sessions whose gap (plus grace) has not passed, ended journeys still
inside their follow-up window, and at most one open journey, always the last in the list.
"""

from __future__ import annotations

from typing import Any

from streams.journeys.journey_config import JourneyConfig
from streams.journeys.journeys import OUTCOMES, JourneyAcc, outcome_key, outcome_of
from streams.journeys.sessions import SessionAcc
from streams.journeys.timeline import Mark

Touched = tuple[list[SessionAcc], list[JourneyAcc]]


class Book:
    __slots__ = ("journeys", "last_key", "sessions")

    def __init__(self) -> None:
        self.sessions: list[SessionAcc] = []
        self.journeys: list[JourneyAcc] = []
        self.last_key: tuple[int, str] | None = None

    @property
    def open_journey(self) -> JourneyAcc | None:
        return self.journeys[-1] if self.journeys and self.journeys[-1].is_open else None

    def _session_of(self, channel: str) -> SessionAcc | None:
        for s in reversed(self.sessions):
            if s.channel == channel:
                return s
        return None

    # -- folding --------------------------------------------------------------------------------

    def fold(self, mark: Mark, cfg: JourneyConfig) -> Touched:
        """Fold a mark later than every mark folded so far; returns what it changed."""
        touched_j = self._fold_journey(mark, cfg)
        target = touched_j[-1]
        s = self._session_of(mark.channel)
        if s is not None and not s.closed and mark.t - s.last_t <= cfg.gaps.gap(mark.channel):
            s.add(mark)
        else:
            s = SessionAcc(mark, target.id)
            self.sessions.append(s)
        self.last_key = mark.key
        return [s], touched_j

    def _fold_journey(self, mark: Mark, cfg: JourneyConfig) -> list[JourneyAcc]:
        """The journey part of :meth:`fold`; the journey the mark went into comes last."""
        outcome = outcome_of(mark)
        for e in reversed(self.journeys):
            if e.follows_up(mark, cfg):
                e.add(mark)  # a follow-up of an outcome: the pickup's till receipt, a confirmation
                return [e]
        touched: list[JourneyAcc] = []
        target = self.open_journey
        if target is not None and mark.t - target.last_t <= target.limit(cfg):
            target.add(mark)
        else:
            if target is not None:
                target.end("abandoned", target.last_t + target.limit(cfg))
                touched.append(target)
            target = JourneyAcc(mark)
            self.journeys.append(target)
        if outcome is not None:
            target.end(outcome, mark.t, outcome_key(mark))
        touched.append(target)
        return touched

    def fold_late(self, mark: Mark, cfg: JourneyConfig) -> tuple[Touched, Touched]:
        """Best-effort fold of a mark older than what is sealed: ``(changed, standalone)``.

        It joins the live session of its channel and the live journey it falls in (or next to);
        when there is none it becomes a one-touchpoint session and journey of its own, final at
        once (``standalone``, not kept). Paths only grow at their ends, counts and ids are exact.
        """
        changed: Touched = ([], [])
        standalone: Touched = ([], [])
        j = self._journey_near(mark, cfg)
        if j is None:
            j = JourneyAcc(mark)
            outcome = outcome_of(mark)
            if outcome is None:
                j.end("abandoned", mark.t + cfg.abandon_after_ms)
            else:
                j.end(outcome, mark.t, outcome_key(mark))
            standalone[1].append(j)
        else:
            was_open, old_id = j.is_open, j.id
            j.add_unordered(mark)
            outcome = outcome_of(mark)
            if was_open and outcome is not None:
                j.end(outcome, mark.t, outcome_key(mark))
            changed[1].append(j)
            if j.id != old_id:  # an earlier first touchpoint: the journey's id moved with it
                for s in self.sessions:
                    if s.journey_id == old_id:
                        s.journey_id = j.id
        gap = cfg.gaps.gap(mark.channel)
        for s in reversed(self.sessions):
            if s.channel == mark.channel and s.first_t - gap <= mark.t <= s.last_t + gap:
                s.add_unordered(mark, j.id)
                changed[0].append(s)
                break
        else:
            s = SessionAcc(mark, j.id)
            s.closed = True
            standalone[0].append(s)
        return changed, standalone

    def _journey_near(self, mark: Mark, cfg: JourneyConfig) -> JourneyAcc | None:
        best: JourneyAcc | None = None
        distance = cfg.abandon_after_ms + 1
        for j in self.journeys:
            end = j.ended if j.ended is not None and not j.is_open else j.last_t
            d = max(j.first_t - mark.t, mark.t - max(end, j.last_t), 0)
            if d < distance or (d == distance and best is not None and j.first_t > best.first_t):
                best, distance = j, d
        return best

    # -- time -----------------------------------------------------------------------------------

    def close(self, seal_ms: int, cfg: JourneyConfig) -> Touched:
        """Close what no event newer than ``seal_ms`` can change; returns (and drops) the finals."""
        gaps = cfg.gaps
        final_s = [s for s in self.sessions if s.last_t + gaps.gap(s.channel) < seal_ms]
        for s in final_s:
            s.closed = True
        if final_s:
            self.sessions = [s for s in self.sessions if not s.closed]
        final_j: list[JourneyAcc] = []
        for j in self.journeys:
            if j.is_open and j.last_t + j.limit(cfg) < seal_ms:
                j.end("abandoned", j.last_t + j.limit(cfg))
            if j.ended is not None and j.ended + (cfg.followup_ms if j.status in OUTCOMES else 0) < seal_ms:
                final_j.append(j)
        if final_j:
            self.journeys = [j for j in self.journeys if j not in final_j]
        return final_s, final_j

    def drop(self, session_ids: set[str], journey_ids: set[str]) -> None:
        """Forget rows that became final elsewhere (in the sealed book this view is built on)."""
        if session_ids:
            self.sessions = [s for s in self.sessions if s.id not in session_ids]
        if journey_ids:
            self.journeys = [j for j in self.journeys if j.id not in journey_ids]

    def deadlines(self, cfg: JourneyConfig) -> list[int]:
        """The latest seal points (event times) at which nothing here is final yet."""
        out = [s.last_t + cfg.gaps.gap(s.channel) for s in self.sessions if not s.closed]
        for j in self.journeys:
            if j.is_open:
                out.append(j.last_t + j.limit(cfg))
            elif j.ended is not None:
                out.append(j.ended + (cfg.followup_ms if j.status in OUTCOMES else 0))
        return out

    # -- identity merges ------------------------------------------------------------------------

    def absorb(self, other: Book, cfg: JourneyConfig) -> dict[str, str]:
        """Move another person's book into this one; returns {absorbed journey id: survivor id}.

        Sessions of one channel that touch within the channel's gap become one; the two open
        journeys become one (see :meth:`JourneyAcc.absorb`); ended journeys stay as they are.
        """
        for theirs in other.sessions:
            gap = cfg.gaps.gap(theirs.channel)
            for mine in self.sessions:
                if (
                    mine.channel == theirs.channel
                    and theirs.first_t - mine.last_t <= gap
                    and mine.first_t - theirs.last_t <= gap
                ):
                    mine.absorb(theirs)
                    break
            else:
                self.sessions.append(theirs)
        self.sessions.sort(key=lambda s: (s.first_t, s.first_id))
        moved: dict[str, str] = {}
        mine_open, their_open = self.open_journey, other.open_journey
        live = mine_open
        if mine_open is not None and their_open is not None:
            ids = (mine_open.id, their_open.id)
            mine_open.absorb(their_open)
            moved = {i: mine_open.id for i in ids if i != mine_open.id}
        elif their_open is not None:
            live = their_open
        ended = sorted(
            (j for j in (*self.journeys, *other.journeys) if not j.is_open),
            key=lambda j: (j.first_t, j.first_id),
        )
        self.journeys = [*ended, *([live] if live is not None else [])]
        for s in self.sessions:
            if s.journey_id in moved:
                s.journey_id = moved[s.journey_id]
        keys = [k for k in (self.last_key, other.last_key) if k is not None]
        self.last_key = max(keys) if keys else None
        return moved

    # -- state ----------------------------------------------------------------------------------

    def copy(self) -> Book:
        new = Book()
        new.sessions = [s.copy() for s in self.sessions]
        new.journeys = [j.copy() for j in self.journeys]
        new.last_key = self.last_key
        return new

    def to_list(self) -> list[Any]:
        return [
            [s.to_list() for s in self.sessions],
            [j.to_list() for j in self.journeys],
            None if self.last_key is None else list(self.last_key),
        ]

    @classmethod
    def from_list(cls, data: list[Any]) -> Book:
        new = cls()
        new.sessions = [SessionAcc.from_list(s) for s in data[0]]
        new.journeys = [JourneyAcc.from_list(j) for j in data[1]]
        new.last_key = None if data[2] is None else (int(data[2][0]), str(data[2][1]))
        return new
