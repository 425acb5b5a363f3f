"""Scoring identity stitching against the simulator's ground truth: pairwise precision and recall.

"Same person" pairs are counted from cluster contingency counts (sum of n*(n-1)/2 over cells),
never by enumerating pairs, so a month of 10,000 customers scores in milliseconds.

Two truths, both keyed by identifier key:

- :func:`truth_keys`: the simulator's persons (shared devices left out, as the simulator lists
  them apart). Recall against it is capped by the data: a person who browsed with a cookie and
  separately called from a phone, with no event carrying both, cannot be stitched by anyone.
- :func:`linkable_truth`: the same persons split into what the events can link, i.e. the
  connected components of each person's own identifiers over the events. That is the most any
  stitcher can find, and the truth the stage's recall target refers to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple, TypeVar

from producers.config import ProducerConfig
from producers.prepare import EventPreparer
from producers.simulator import GroundTruth, Simulation
from producers.simulator.events import to_ms
from schemas.errors import InvalidEventError
from streams.identity.guards import DEFAULT_POLICY, IdentityPolicy, PiiHashing, key_of

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class PairScores:
    precision: float
    recall: float
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int
    identifiers: int  # scored


def _pairs(counts: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in counts)


def pairwise_scores(
    predicted: Mapping[K, Hashable], truth: Mapping[K, Hashable], universe: Iterable[K] | None = None
) -> PairScores:
    """Pairwise precision/recall of "same person" over ``universe`` (default: keys in both maps).

    A key of ``universe`` missing from ``predicted`` counts as a person of its own; keys missing
    from ``truth`` are not scored (shared devices belong to nobody).
    """
    keys = [k for k in (predicted.keys() & truth.keys() if universe is None else universe) if k in truth]
    cells: Counter[tuple[Hashable, Hashable]] = Counter()
    pred: Counter[Hashable] = Counter()
    true: Counter[Hashable] = Counter()
    for k in keys:
        p = predicted.get(k, ("unpredicted", k))
        t = truth[k]
        cells[(p, t)] += 1
        pred[p] += 1
        true[t] += 1
    tp, pp, tt = _pairs(cells.values()), _pairs(pred.values()), _pairs(true.values())
    return PairScores(tp / pp if pp else 1.0, tp / tt if tt else 1.0, tp, pp, tt, len(keys))


def linkable_truth(truth: Mapping[str, str], events: Iterable[Sequence[str]]) -> dict[str, str]:
    """``truth`` refined to what events can link: components of each person's identifiers.

    Two identifiers of one person are linkable when a chain of events joins them through that
    person's own identifiers (shared devices, absent from ``truth``, never count as a link).
    Only identifiers that appear in ``events`` are returned.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for keys in events:
        by_person: dict[str, list[str]] = {}
        for k in keys:
            if k in truth:
                parent.setdefault(k, k)
                by_person.setdefault(truth[k], []).append(k)
        for owned in by_person.values():  # different persons on one event never count as a link
            for a, b in pairwise(owned):
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[rb] = ra
    return {k: f"{truth[k]}#{find(k)}" for k in parent}


class WireEvent(NamedTuple):
    """A valid simulated touchpoint as the identity stage receives it (PII hashed)."""

    event_id: str
    time: int  # epoch ms
    identifiers: list[tuple[str, str]]


def wire_events(simulation: Simulation, pii_key: bytes, country_code: str = "39") -> Iterator[WireEvent]:
    """Every event the SDK accepts, hashed exactly as producers send it, in arrival order."""
    preparer = EventPreparer(ProducerConfig("localhost:9092", pii_key, default_country_code=country_code))
    for event in simulation:
        if not event.valid:
            continue
        try:
            record, _ = preparer.record(event.payload)
        except InvalidEventError:
            continue
        ids = [(i["type"], i["value"]) for i in record["identifiers"]]
        yield WireEvent(str(record["event_id"]), to_ms(record["event_time"]), ids)


def truth_keys(
    truth: GroundTruth, hasher: PiiHashing, policy: IdentityPolicy = DEFAULT_POLICY
) -> dict[str, str]:
    """Ground truth keyed like the identity state: ``"type:value"`` -> true person id."""
    hashed = truth.hashed(hasher.email, hasher.phone)
    return {key_of(t, v, policy): person for (t, v), person in hashed.items()}
