"""``python -m producers.simulator``: generate without sending, to inspect a run or time the generator.

Prints the summary and the generation rate (wall and CPU), and writes ground truth if asked. The
pipeline's own entry point is ``omnijourney produce``; this one needs no broker.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from producers.simulator.generator import simulate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m producers.simulator", description=__doc__)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--invalid-share", type=float, default=0.005)
    parser.add_argument("--no-scenarios", action="store_true")
    parser.add_argument("--truth", help="write ground truth JSON to this path")
    args = parser.parse_args(argv)
    sim = simulate(args.customers, args.days, args.seed, None, args.invalid_share, not args.no_scenarios)
    wall, cpu = time.perf_counter(), time.process_time()
    n = sum(1 for _ in sim)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(sim.summary().render())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(
        f"generated {n:,} events in {wall:.2f} s wall ({n / wall:,.0f} ev/s), "
        f"{cpu:.2f} s CPU ({n / cpu:,.0f} ev/s); peak RSS {peak_mb} MB",
        file=sys.stderr,
    )
    if args.truth:
        print(f"ground truth: {sim.write_ground_truth(args.truth)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
