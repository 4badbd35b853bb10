"""Monte Carlo NPV benchmark: 1,000,000 scenarios x 10 periods, time and progress updates per second.

    .venv/bin/python bench/finance.py            # 5 runs of the target size
    .venv/bin/python bench/finance.py --quick    # smoke run

Target (issue 5): <= 1 s for 1,000,000 scenarios x 10 periods, with >= 4 progress updates per
second while it runs. Inputs: normal discount rate, triangular investment, uniform growth and
cash-flow factor, a seed; the same call the page and the WebSocket `calculate` message make.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.finance import calculate  # noqa: E402

PARAMS = {"cash_flows": [150_000.0] * 10,
          "discount_rate": {"dist": "normal", "mean": 0.08, "std": 0.02},
          "initial_investment": {"dist": "triangular", "low": 800_000, "mode": 950_000, "high": 1_300_000},
          "growth": {"dist": "uniform", "low": -0.02, "high": 0.04},
          "cash_flow_factor": {"dist": "normal", "mean": 1.0, "std": 0.15}, "seed": 42}


def run(scenarios: int) -> dict:
    ticks = []
    started = time.perf_counter()
    result = calculate("monte_carlo", dict(PARAMS, scenarios=scenarios),
                       progress=lambda done, total: ticks.append(time.perf_counter() - started))
    elapsed = time.perf_counter() - started
    gaps = [b - a for a, b in zip([0.0] + ticks, ticks)]
    return {"scenarios": scenarios, "seconds": round(elapsed, 3), "progress_updates": len(ticks),
            "updates_per_s": round(len(ticks) / elapsed, 1), "longest_gap_s": round(max(gaps), 3),
            "p_negative": round(result["p_negative"], 4), "p50": round(result["p50"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    scenarios, runs = (100_000, 1) if args.quick else (1_000_000, args.runs)
    results = [run(scenarios) for _ in range(runs)]
    for r in results:
        print(json.dumps(r))
    best = min(results, key=lambda r: r["seconds"])
    print(" ".join(f"{k}={v}" for k, v in best.items()) + f" worst_seconds={max(r['seconds'] for r in results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
