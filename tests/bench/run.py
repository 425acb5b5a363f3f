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


def run_all(only: list[str]) -> list[dict[str, Any]]:
    results = []
    for path in sorted(HERE.glob("bench_*.py")):
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


def table(results: list[dict[str, Any]]) -> str:
    header = f"{'figure':28} {'value':>14} {'baseline':>14} {'ratio':>7}  unit / baseline"
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r['name']:28} {r['value']:>14,.0f} {r['baseline']:>14,.0f} {r['ratio']:>7.2f}  "
            f"{r['unit']} / {r.get('baseline_name', 'baseline')}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("only", nargs="*", help="benchmark names (default: all)")
    args = parser.parse_args(argv)
    results = run_all(args.only)
    print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
