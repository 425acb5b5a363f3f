"""``make bench``: run every ``bench_*.py`` here and print one table, each figure beside its baseline.

Each benchmark measures its baseline in the same run and writes ``{"name", "value", "baseline",
"ratio", "unit", ...}`` as JSON; this runner collects them into one table and one JSON file so two
runs can be compared. Benchmarks are never part of ``make test``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


# The table reads like the pipeline: producers first, the whole pipeline last.
ORDER = ("producer", "identity", "identity_logic", "journeys", "sink", "end_to_end")


def pipeline_order(path: Path) -> tuple[int, str]:
    name = path.stem.removeprefix("bench_")
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def run_all(only: list[str]) -> list[dict[str, Any]]:
    results = []
    for path in sorted(HERE.glob("bench_*.py"), key=pipeline_order):
        name = path.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        module = importlib.import_module(f"tests.bench.{path.stem}")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "result.json"
            print(f"== {name}", file=sys.stderr, flush=True)
            status = module.main(["--json", str(out)])
            if status:
                raise SystemExit(f"benchmark {name} failed with status {status}")
            result = json.loads(out.read_text())
        results.extend(result if isinstance(result, list) else [result])
    return results


# The goals the issues set, by figure; a figure without one is context for the others.
GOALS = {
    "producer": "ratio >= 0.50",
    "identity_stitch_vs_noop": "ratio >= 0.70; 20,000/s",
    "journeys_vs_noop": "ratio >= 0.70; 20,000/s",
    "journeys_card_latency_p99": "< 200 ms at 2,000/s",
    "sink_vs_consumption": "ratio >= 0.70; 100,000/s",
}


def table(results: list[dict[str, Any]]) -> str:
    """One line a figure: value, its same-run baseline, the ratio, the unit and baseline, the goal."""
    header = f"{'figure':30} {'value':>12} {'baseline':>12} {'ratio':>7}  {'goal':26} unit / baseline"
    lines = [header, "-" * (len(header) + 30)]
    for r in results:
        value, baseline = r["value"], r["baseline"]
        digits = 0 if max(abs(value), abs(baseline)) >= 100 else 1
        lines.append(
            f"{r['name']:30} {value:>12,.{digits}f} {baseline:>12,.{digits}f} {r['ratio']:>7.2f}  "
            f"{GOALS.get(r['name'], ''):26} {r['unit']} / {r.get('baseline_name', 'baseline')}"
        )
    return "\n".join(lines)


def comparison(results: list[dict[str, Any]], previous: list[dict[str, Any]]) -> str:
    """Each figure beside the same figure of an earlier run (its ``--json``): what changed."""
    before = {r["name"]: r for r in previous}
    header = f"{'figure':30} {'now':>12} {'before':>12} {'change':>8} {'ratio now':>10} {'before':>8}"
    lines = [header, "-" * len(header)]
    for r in results:
        old = before.get(r["name"])
        if old is None:
            lines.append(f"{r['name']:30} {r['value']:>12,.1f} {'-':>12}")
            continue
        change = f"{(r['value'] / old['value'] - 1) * 100:+.0f}%" if old["value"] else "-"
        lines.append(
            f"{r['name']:30} {r['value']:>12,.1f} {old['value']:>12,.1f} {change:>8} "
            f"{r['ratio']:>10.2f} {old['ratio']:>8.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--compare", type=Path, help="an earlier run's --json: print each figure beside it")
    parser.add_argument("only", nargs="*", help="benchmark names (default: all)")
    args = parser.parse_args(argv)
    previous = json.loads(args.compare.read_text()) if args.compare and args.compare.exists() else None
    results = run_all(args.only)
    print(table(results))
    if previous is not None:
        print(f"\ncompared with {args.compare}:")
        print(comparison(results, previous))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
