"""Identity stitching logic without a broker: speed, 1-vs-N-partition identity, precision and recall.

    python tests/bench/bench_identity_logic.py --customers 10000 --days 30 --json out.json

Measured: the partitioned protocol (every hop, link, union and relabel handled as the Faust agent
will, state in dicts) over a simulated month, single process, one partition, in arrival order.
Baseline: the same identity map computed in one batch by :func:`identity_map_of` (no messages,
no partitions): the price of partitioning is the ratio. Then the run is repeated with
``--partitions`` partitions on a shuffled input and the two maps must be identical; both are
scored against ground truth (pairwise precision and recall of "same person").

Events are generated and hashed before the clock starts. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from pathlib import Path

from producers.pii import PiiHasher
from producers.simulator import simulate
from streams.identity.guards import screen
from streams.identity.hops import start
from streams.identity.inmemory import PartitionedRun
from streams.identity.reference import identity_map_of
from streams.identity.score import linkable_truth, pairwise_scores, truth_keys, wire_events

PII_KEY = b"identity-bench-key-0123456789abcdef"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--json", type=Path, help="write the result here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    simulation = simulate(args.customers, args.days, seed=args.seed)
    events = list(wire_events(simulation, PII_KEY))
    truth = truth_keys(simulation.ground_truth, PiiHasher(PII_KEY, "39"))
    linkable = linkable_truth(truth, (screen(e.identifiers).keys for e in events))
    messages = [start(e.event_id, e.time, e.identifiers) for e in events]
    print(f"{len(events):,} events generated in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    gc.collect()
    gc.freeze()

    clock = time.perf_counter()
    batch = identity_map_of((e.event_id, e.time, e.identifiers) for e in events)
    baseline = len(events) / (time.perf_counter() - clock)

    clock = time.perf_counter()
    single = PartitionedRun(1, seed=args.seed).run(messages)
    value = len(events) / (time.perf_counter() - clock)
    single_map = single.identity_map()

    shuffled = list(messages)
    random.Random(args.seed).shuffle(shuffled)
    clock = time.perf_counter()
    many = PartitionedRun(args.partitions, seed=args.seed + 1).run(shuffled)
    many_rate = len(events) / (time.perf_counter() - clock)
    identical = many.identity_map() == single_map == batch

    linked = pairwise_scores(single_map, linkable)
    raw = pairwise_scores(single_map, truth)
    merges = sum(c.kind == "merge" for c in single.changes)
    result = {
        "name": "identity_logic",
        "value": round(value, 1),
        "baseline": round(baseline, 1),
        "ratio": round(value / baseline, 3),
        "unit": "events/s",
        "events": len(events),
        "messages_per_event": round(single.delivered / len(events), 2),
        "partitions": args.partitions,
        "partitioned_events_per_s": round(many_rate, 1),
        "identical_maps": identical,
        "precision": linked.precision,
        "recall": linked.recall,
        "recall_vs_full_truth": raw.recall,
        "precision_vs_full_truth": raw.precision,
        "scored_identifiers": linked.identifiers,
        "persons": len(set(single_map.values())),
        "merges": merges,
    }
    print(
        f"partitioned logic {value:,.0f} events/s (batch reference {baseline:,.0f}); "
        f"{args.partitions} partitions {many_rate:,.0f} events/s; identical maps: {identical}; "
        f"precision {linked.precision:.6f} recall {linked.recall:.6f} "
        f"(vs full truth: precision {raw.precision:.6f} recall {raw.recall:.4f})"
    )
    if args.json:
        args.json.write_text(json.dumps(result) + "\n", encoding="utf-8")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
