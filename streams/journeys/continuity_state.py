"""The continuity state of one person, and its compact JSON-able form for a Faust table changelog.

Why a state of its own beside sessions and journeys: what the next person serving the customer
needs is not the event history but what is still *open* (a case, a reservation, a cart, a return),
where the customer was last seen on every channel, and what was already said (the chat summary).
That is small and bounded, so it can live in a changelogged table keyed by person_id and be read
by the continuity API without touching ClickHouse.

All times are epoch milliseconds (ints) inside the state: cheap to compare, and the serialised form
needs no conversion. :meth:`ContinuityState.to_state` / :meth:`ContinuityState.from_state` round-trip
exactly; the ``links`` index (conversation/case/reservation key -> thread) is derived, not stored.
The serialised form is versioned (``"v"``); records are positional rows in dataclass field order, so
adding or reordering a field means a new ``STATE_VERSION`` (and a reader for the old one, or a
changelog rebuilt from the resolved topic).

A *thread* is one conversation in the customer's sense: everything linked by a conversation id, a
case id or a reservation id. A chat that continues as a call (same conversation id), a case raised
again in the store (same case id), a chat reservation picked up in the store (same reservation id)
are each one thread with several *legs* (one per channel and contact: a chat, a call, a visit).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, Final, TypeVar

STATE_VERSION: Final = 1
_T = TypeVar("_T")


@dataclass(slots=True)
class Leg:
    """One contact on one channel within a thread: a chat, a call, a store visit, a web session."""

    channel: str
    contact: str  # the conversation id, else the session id, else "" (one anonymous leg per channel)
    first_ms: int
    last_ms: int
    first_event: str
    events: int = 1
    case_id: str | None = None


@dataclass(slots=True)
class Thread:
    """One conversation across channels, with its channel history and transcript summaries."""

    thread_id: str  # the first key of its earliest touch (event time), whatever the arrival order
    keys: list[str]  # sorted: "case:<id>", "conv:<id>", "res:<id>"
    first_ms: int
    last_ms: int
    legs: list[Leg] = field(default_factory=list)
    summaries: list[tuple[int, str, str]] = field(default_factory=list)  # (ms, channel, text), oldest first
    store_id: str | None = None  # the store of the latest touch that named one
    store_ms: int = 0
    agent_ids: list[str] = field(default_factory=list)  # sorted, so arrival order does not show
    product_ids: list[str] = field(default_factory=list)
    resolved_cases: list[str] = field(default_factory=list)

    def ids(self, prefix: str) -> list[str]:
        """The thread's ids of one kind: ``ids("case")`` -> its case ids."""
        start = len(prefix) + 1
        return [k[start:] for k in self.keys if k.startswith(prefix + ":")]


@dataclass(slots=True)
class Reservation:
    """A reservation for pickup: open until picked up, cancelled or expired."""

    reservation_id: str
    store_id: str | None = None
    product_ids: list[str] = field(default_factory=list)
    channel: str | None = None
    created_ms: int | None = None
    created_event: str | None = None
    expires_ms: int | None = None
    status: str = "open"  # open, picked_up, cancelled, expired
    closed_ms: int | None = None
    missing: bool = False  # a store visit found no such reservation (alerted)
    expired_event: str | None = None


@dataclass(slots=True)
class Cart:
    """The customer's current cart on the web or in the app, until a purchase empties it."""

    channel: str
    updated_ms: int
    last_event: str
    product_ids: list[str] = field(default_factory=list)
    amount_cents: int = 0
    currency: str | None = None
    status: str = "open"  # open, abandoned


@dataclass(slots=True)
class ReturnIntent:
    """A return requested and not yet completed."""

    order_id: str
    channel: str
    requested_ms: int
    event_id: str
    store_id: str | None = None


@dataclass(slots=True)
class StockQuestion:
    """A stock check in a chat that no reservation answered (yet): the agent could not confirm stock."""

    conversation_id: str | None
    store_id: str | None
    product_ids: list[str]
    event_id: str
    at_ms: int
    answered: bool = False


@dataclass(slots=True)
class ContinuityState:
    """Everything the continuity card and the hand-off rules need about one person."""

    person_id: str
    seen_ms: int = 0  # the latest event time folded in
    identifiers: dict[tuple[str, str], int] = field(default_factory=dict)  # (type, value) -> last seen
    last_touch: dict[str, dict[str, Any]] = field(default_factory=dict)  # channel -> compact touch
    threads: dict[str, Thread] = field(default_factory=dict)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    cart: Cart | None = None
    returns: dict[str, ReturnIntent] = field(default_factory=dict)
    questions: list[StockQuestion] = field(default_factory=list)
    # store -> last store_visit (ms, event id, session id)
    visits: dict[str, tuple[int, str, str | None]] = field(default_factory=dict)
    # campaign -> recent clicks (ms, event id, channel)
    clicks: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    consent: dict[str, tuple[bool, int]] = field(default_factory=dict)  # purpose -> (granted, ms)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)  # alert_id -> stored alert
    # recent store stock checks (ms, event id, store, products): an identity merge replays them
    # against the reservations and chat questions the other person brings
    store_checks: list[tuple[int, str, str, list[str]]] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # derived: thread key -> thread id

    def thread_of(self, key: str) -> Thread | None:
        thread_id = self.links.get(key)
        return None if thread_id is None else self.threads.get(thread_id)

    def relink(self) -> None:
        """Rebuild the key -> thread index (after loading or pruning)."""
        self.links = {key: t.thread_id for t in self.threads.values() for key in t.keys}

    # -- serialised form ------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """A compact JSON-able dict (str/int/bool/None, lists and dicts only), sharing nothing with the state.

        Records are positional rows in dataclass field order (``STATE_VERSION`` fixes the layout):
        about half the bytes and parse time of one dict per record, which matters because the
        changelog carries the whole state on every update.
        """
        return {
            "v": STATE_VERSION,
            "person_id": self.person_id,
            "seen_ms": self.seen_ms,
            "identifiers": [[t, v, ms] for (t, v), ms in self.identifiers.items()],
            "last_touch": {ch: _copy(touch) for ch, touch in self.last_touch.items()},
            "threads": [_thread_out(t) for t in self.threads.values()],
            "reservations": [_row(r) for r in self.reservations.values()],
            "cart": None if self.cart is None else _row(self.cart),
            "returns": [_row(r) for r in self.returns.values()],
            "questions": [_row(q) for q in self.questions],
            "visits": {store: list(v) for store, v in self.visits.items()},
            "clicks": {c: [list(x) for x in xs] for c, xs in self.clicks.items()},
            "consent": {p: list(v) for p, v in self.consent.items()},
            "alerts": [_copy(a) for a in self.alerts.values()],
            "store_checks": [[at, e, store, list(p)] for at, e, store, p in self.store_checks],
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> ContinuityState:
        """Load what :meth:`to_state` wrote (also after a JSON round trip); ``data`` is not kept."""
        if data.get("v") != STATE_VERSION:
            raise ValueError(f"continuity state version {data.get('v')!r}, expected {STATE_VERSION}")
        threads = [_thread_in(t) for t in data["threads"]]
        reservations = [_unrow(Reservation, r) for r in data["reservations"]]
        returns = [_unrow(ReturnIntent, r) for r in data["returns"]]
        state = cls(
            person_id=data["person_id"],
            seen_ms=data["seen_ms"],
            identifiers={(t, v): ms for t, v, ms in data["identifiers"]},
            last_touch={ch: _copy(touch) for ch, touch in data["last_touch"].items()},
            threads={t.thread_id: t for t in threads},
            reservations={r.reservation_id: r for r in reservations},
            cart=None if data["cart"] is None else _unrow(Cart, data["cart"]),
            returns={r.order_id: r for r in returns},
            questions=[_unrow(StockQuestion, q) for q in data["questions"]],
            visits={store: (v[0], v[1], v[2]) for store, v in data["visits"].items()},
            clicks={c: [(x[0], x[1], x[2]) for x in xs] for c, xs in data["clicks"].items()},
            consent={p: (bool(v[0]), v[1]) for p, v in data["consent"].items()},
            alerts={a["alert_id"]: _copy(a) for a in data["alerts"]},
            store_checks=[(c[0], c[1], c[2], list(c[3])) for c in data.get("store_checks", ())],
        )
        state.relink()
        return state


_GETTERS: dict[type, attrgetter[Any]] = {}
_THREAD_SCALARS: Final = ("thread_id", "first_ms", "last_ms", "store_id", "store_ms")
_THREAD_LISTS: Final = ("keys", "agent_ids", "product_ids", "resolved_cases")


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    """A flat dict whose values are scalars or lists of scalars (a compact touch, a stored alert)."""
    return {k: list(v) if type(v) is list else v for k, v in record.items()}


def _getter(cls: type) -> attrgetter[Any]:
    getter = _GETTERS.get(cls)
    if getter is None:
        getter = _GETTERS[cls] = attrgetter(*(f.name for f in fields(cls)))
    return getter


def _row(obj: Any) -> list[Any]:
    """A dataclass of scalars and lists of scalars as a positional row (lists copied)."""
    return [list(v) if type(v) is list else v for v in _getter(type(obj))(obj)]


def _unrow(cls: type[_T], row: list[Any]) -> _T:
    return cls(*[list(v) if type(v) is list else v for v in row])


def _thread_out(t: Thread) -> list[Any]:
    return [
        *(getattr(t, name) for name in _THREAD_SCALARS),
        *(list(getattr(t, name)) for name in _THREAD_LISTS),
        [list(_getter(Leg)(leg)) for leg in t.legs],
        [list(s) for s in t.summaries],
    ]


def _thread_in(row: list[Any]) -> Thread:
    thread_id, first_ms, last_ms, store_id, store_ms, keys, agents, products, resolved, legs, summaries = row
    return Thread(
        thread_id=thread_id,
        keys=list(keys),
        first_ms=first_ms,
        last_ms=last_ms,
        legs=[Leg(*leg) for leg in legs],
        summaries=[(s[0], s[1], s[2]) for s in summaries],
        store_id=store_id,
        store_ms=store_ms,
        agent_ids=list(agents),
        product_ids=list(products),
        resolved_cases=list(resolved),
    )
