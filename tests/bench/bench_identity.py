"""Identity stage throughput on one worker, beside Faust's own ceiling and a plain reader.

    python -m tests.bench.bench_identity --customers 1000 --days 7 --json out.json

Fresh topics (unique prefix, ``--partitions`` each) are filled once with the simulator's valid
touchpoints, sent through the producer SDK (PII hashed, one topic per channel). Then, in the same
run and on the same topics, each reading everything from the beginning with its own group:

- read+decode: a confluent-kafka consumer reading every touchpoint topic and decoding every value
  with ``Codec.decode`` (best of ``--rounds``);
- no-op Faust: :mod:`tests.bench.faust_noop`, a real worker process whose one agent iterates the
  touchpoint topics and does nothing;
- the identity stage: ``omnijourney worker`` with ``OMNIJOURNEY_STAGES=identity`` and
  ``OMNIJOURNEY_IDENTITY_STAGE=strongest`` (stopped ``--max-seconds`` after its first event if
  not done by then), then ``=stitch`` (whose touchpoints hop over the routing topic: its clock
  runs until every touchpoint is resolved, never capped).

A worker's clock runs from its first event to its last (see :mod:`tests.bench.stage_workers`;
the time to committed lag 0 on every input topic, the routing topic included, is in the JSON as
``lag0_rate``); each stage also gets a row of touchpoints per CPU-second of its process beside
the no-op worker's, which the neighbours' load on a shared machine moves far less.

Memory per identifier: the stitch worker's RSS growth (after the run minus when it answered
``/health``) less the stateless strongest worker's growth on the same touchpoints, divided by
the live keys of its ``identity-identifiers`` changelog; the baseline is those keys' own size
(key + latest value). At the default size the growth is mostly RocksDB write buffers and
allocator slack, so read it as an upper bound, not a slope.

Goals (issue 4): the stage at 70% or more of the no-op Faust agent, and 20,000 touchpoints/s per
worker. Not collected by pytest; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path
from typing import Any

from schemas.codec import Codec
from tests.bench.stage_common import (
    Corner,
    changelog_keys,
    common_arguments,
    corner_settings,
    log,
    new_corner,
    produce_payloads,
    read_all,
    row,
    temp_base,
    valid_payloads,
)
from tests.bench.stage_workers import (
    Counted,
    Run,
    counter,
    describe,
    measure,
    measure_noop,
    stage_progress,
    stage_rows,
    start_noop_worker,
    start_py_spy,
    start_stage_worker,
    stop_py_spy,
)

GOAL_RATIO, GOAL_RATE = 0.70, 20_000


def done_counters(variant: str) -> list[Counted]:
    """Touchpoints resolved or dead-lettered, by the counters of the variant's agents."""
    intake, output = (
        ("identity-intake", "identity-route") if variant == "stitch" else ("identity", "identity")
    )
    return [
        counter("stage_events_out", stage=output, output="resolved"),
        counter("dead_letters", stage=intake),
    ]


def distinct_identifiers(values: list[bytes]) -> int:
    decode = Codec().decode
    return len({(i["type"], i["value"]) for v in values for i in decode(v).record["identifiers"]})


def run_stage(
    corner: Corner, variant: str, events: int, lag_topics: list[str], args: argparse.Namespace
) -> Run:
    """One identity worker (``variant``: strongest or stitch) from the beginning of the topics."""
    worker = start_stage_worker(corner, variant, stages="identity", identity_stage=variant)
    spy = start_py_spy(worker, args.py_spy / f"identity-{variant}.txt") if args.py_spy else None
    try:
        # Stitching is never capped: its intake runs ahead and fills the routing topic with first
        # hops, so resolved touchpoints come late in the run and a count at a cap would mislead.
        cap = 0.0 if variant == "stitch" else args.max_seconds
        run = measure(worker, events, stage_progress(done_counters(variant)), lag_topics, cap)
    finally:
        stop_py_spy(spy)
        corner.stop_services()
    log(f"identity {variant}: {describe(run, 'touchpoints')}")
    return run


def measure_all(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    """Fill the topics once, then every side on them; returns what the rows are made of."""
    payloads = valid_payloads(args.customers, args.days, args.seed)
    corner = new_corner("id", args.partitions, base, args.worker_env)
    try:
        events = produce_payloads(corner_settings(corner), payloads)
        del payloads
        log(f"{events:,} touchpoints produced to {corner.prefix}touchpoints.*")
        sources = corner.topics.all_touchpoints
        gc.collect()
        reads = [read_all(sources, events, decode=True) for _ in range(args.rounds)]
        decode_rate = max(rate for rate, _ in reads)
        identifiers = distinct_identifiers(reads[0][1])
        del reads
        log(f"read+decode: {decode_rate:,.0f} touchpoints/s; {identifiers:,} distinct identifiers")
        noop = measure_noop(start_noop_worker(corner, sources), events, sources)
        corner.stop_services()
        log(
            f"no-op Faust agent: {noop.rate:,.0f} touchpoints/s "
            f"({noop.seconds:.1f}s, {noop.cpu_us:.0f} us CPU each)"
        )
        strongest = run_stage(corner, "strongest", events, sources, args)
        stitch = run_stage(corner, "stitch", events, [*sources, corner.topics.identity_routing], args)
        keys, key_bytes = changelog_keys(f"{corner.tag}-stitch-identity-identifiers-changelog")
    finally:
        corner.remove()
    return {
        "events": events,
        "decode_rate": decode_rate,
        "identifiers": identifiers,
        "noop": noop,
        "strongest": strongest,
        "stitch": stitch,
        "keys": keys,
        "key_bytes": key_bytes,
    }


def memory_row(m: dict[str, Any]) -> dict[str, Any]:
    """RSS per identifier of the stitching state, beside the state's own bytes per identifier.

    The stitch worker's growth (RSS after the run minus RSS when it answered /health) less the
    strongest worker's growth on the same touchpoints (no state: buffers, caches, imports warmed
    by the first events), over the live keys of its identifiers changelog.
    """
    stitch, strongest, keys = m["stitch"], m["strongest"], m["keys"]
    growth = stitch.rss_after - stitch.rss_ready
    stateless = strongest.rss_after - strongest.rss_ready
    per_id = (growth - stateless) / keys if keys else 0.0
    return row(
        "identity_stitch_bytes_per_id", per_id, m["key_bytes"], "RSS bytes/identifier",
        "changelog bytes/identifier (key+value)", identifiers_in_state=keys,
        identifiers_in_input=m["identifiers"], stitch_rss_growth=growth, strongest_rss_growth=stateless,
        stitch_events=stitch.events, stitch_ended=stitch.ended,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common_arguments(parser)
    args = parser.parse_args(argv)
    if args.py_spy:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    with temp_base("bench-identity-") as tmp:
        m = measure_all(args, Path(tmp))

    noop, keys = m["noop"], m["keys"]
    common = {
        "events": m["events"],
        "partitions": args.partitions,
        "goal_ratio": GOAL_RATIO,
        "goal_rate": GOAL_RATE,
    }
    results = [
        *stage_rows("identity_stitch", m["stitch"], noop, m["decode_rate"], "touchpoints", **common),
        *stage_rows("identity_strongest", m["strongest"], noop, m["decode_rate"], "touchpoints", **common),
        memory_row(m),
    ]
    for r in results[:-1]:
        print(
            f"{r['name']}: {r['value']:,.0f} {r['unit']}; {r['baseline_name']} {r['baseline']:,.0f}; "
            f"ratio {r['ratio']:.2f} (goals: {GOAL_RATIO:.2f} of no-op, {GOAL_RATE:,} touchpoints/s)"
        )
    mem = results[-1]
    print(
        f"identity state: {keys:,} identifiers, {mem['value']:,.0f} RSS bytes each beyond a stateless worker "
        f"({mem['baseline']:,.0f} bytes of changelog each); {m['events']:,} touchpoints, "
        f"{args.partitions} partitions"
    )
    if args.json:
        args.json.write_text(json.dumps(results) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
