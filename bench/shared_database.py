"""Shared-database benchmark (issue 12): what PostgreSQL costs the distributed pipeline, compared with SQLite
in the same run, and whether an alert storm slows ingest.

    .venv/bin/python bench/shared_database.py              # 2 rounds (about 12 minutes)
    .venv/bin/python bench/shared_database.py --quick      # smoke run (figures mean nothing)

Each round runs bench/redis_pipeline.py (a throwaway redis-server, one gunicorn gevent web worker, one model
worker, a producer process, a WebSocket client; see that file) three times, in an order that alternates
between rounds so that a drift of the shared host does not favour one side:
  - `sqlite`: DATABASE_URL unset (SQLite in DATA_DIR, as the embedded default);
  - `postgresql`: DATABASE_URL on a throwaway PostgreSQL cluster with production durability (fsync on,
    synchronous commits), a new cluster (initdb) per run, removed after it and the page cache flushed
    (sync), so that no run pays for the autovacuum, the WAL and the dirty pages of the one before
    (`--shared-cluster`: one cluster for all runs, a database dropped and CHECKPOINTed after each);
  - `postgresql + storm`: the same, plus `--storm` sensor readings per second that are all CRITICAL, so
    that many alerts are stored per second on top of the events, in both measured phases;
  - `postgresql + readings`: the storm's readings, good and usual (no alerts): what the extra events cost,
    so that the storm's difference to it is what its alerts cost.
Every scored event is also written to the history (HISTORY on, the default), so the database takes one
history write and one alert insert per micro-batch, as deployed.

Figures: end-to-end events/s of the saturated phase (PostgreSQL / SQLite: target >= 0.90), and for the
storm, the alerts actually stored per second (target >= 5,000) and the events processed per second at the
fixed latency-phase rate, with and without the storm (target: every offered event processed, p99 alike).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pg_cluster import PostgresCluster, pg_bin  # noqa: E402  (tests/pg_cluster.py: initdb + pg_ctl)

STORM_TARGET, RATIO_TARGET = 5000, 0.90
# A database server is given memory and room for its write-ahead log (PostgreSQL's defaults, 128 MB of
# buffers and a checkpoint every 1 GB of WAL, are sized for a small shared machine); durability unchanged.
SERVER_SETTINGS = "-c shared_buffers=512MB -c max_wal_size=4GB -c checkpoint_timeout=15min"


def run(database_url: str | None, storm: float, args, out: Path, control: bool = False) -> dict:
    """One bench/redis_pipeline.py run; its figures."""
    command = [sys.executable, str(ROOT / "bench" / "redis_pipeline.py"), "--json", str(out),
               "--latency-rate", str(args.latency_rate), "--max-rate", str(args.max_rate),
               "--duration", str(args.duration), "--drain-entries", "20000"]
    if args.quick:
        command.append("--quick")
    if database_url:
        command += ["--database-url", database_url]
    if storm:
        command += ["--storm", str(storm)] + (["--storm-control"] if control else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"redis_pipeline.py failed ({' '.join(command[2:])}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def line(name: str, f: dict) -> str:
    return (f"{name:<20} e2e {f['end_to_end_events_per_s']:>7,} ev/s | latency phase: offered "
            f"{f['latency_phase_offered_per_s']:>6,} processed {f['latency_phase_processed_per_s']:>6,} ev/s, "
            f"p50 {f['latency_p50_ms']} p99 {f['latency_p99_ms']} ms, storm {f['storm_offered_per_s']:,}/s, "
            f"alerts stored {f['alerts_stored_per_s']:,}/s | calibration {f['calibration_ms_per_1000_before_after']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency-rate", type=float, default=10000, help="events/s of the fixed-rate phase")
    parser.add_argument("--max-rate", type=float, default=35000, help="offered events/s of the saturated phase")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--storm", type=float, default=STORM_TARGET, help="CRITICAL readings/s in the storm runs")
    parser.add_argument("--default-settings", action="store_true",
                        help="PostgreSQL with its default memory and WAL settings (the first runs recorded)")
    parser.add_argument("--shared-cluster", action="store_true",
                        help="one PostgreSQL cluster for every run (a database per run) instead of one cluster per run")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.storm = 1, 300
    bin_dir = pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) are not installed: tests/run.sh installs Debian's postgresql")
    settings = "" if args.default_settings else SERVER_SETTINGS
    shared = PostgresCluster(bin_dir, durable=True, settings=settings).start() if args.shared_cluster else None
    work = Path(tempfile.mkdtemp(prefix="pulseboard-shared-db-bench-"))
    results: dict[str, list[dict]] = {"sqlite": [], "postgresql": [], "postgresql + storm": [],
                                      "postgresql + readings": []}
    try:
        for r in range(args.rounds):
            order = list(results) if r % 2 == 0 else list(reversed(results))
            for name in order:
                cluster = None if name == "sqlite" else shared or PostgresCluster(bin_dir, durable=True, settings=settings).start()
                url = cluster.new_database() if cluster else None
                storm = args.storm if name.startswith("postgresql +") else 0
                load = os.getloadavg()[0]
                try:
                    figures = run(url, storm, args, work / f"{r}-{name[-5:]}-{len(results[name])}.json",
                                  control=name.endswith("readings"))
                finally:
                    if cluster is shared and url:   # its tables would be vacuumed during the next run
                        cluster.drop_database(url)
                    elif cluster:
                        cluster.stop()
                    os.sync()                       # the next run does not pay for this one's writeback
                results[name].append(figures)
                print(line(f"round {r + 1} {name}", figures) + f" | load before {load:.2f}", flush=True)
    finally:
        if shared:
            shared.stop()

    def median(name, key):
        return statistics.median(f[key] for f in results[name])
    sqlite, pg, storm, readings = (median(n, "end_to_end_events_per_s") for n in results)
    storm_alerts = min(f["alerts_stored_per_s"] for f in results["postgresql + storm"])
    offered = median("postgresql + storm", "latency_phase_offered_per_s")
    processed = {n: median(n, "latency_phase_processed_per_s") for n in list(results)[1:]}
    p99 = {n: median(n, "latency_p99_ms") for n in list(results)[1:]}
    summary = {
        "sqlite_e2e_median": round(sqlite), "postgresql_e2e_median": round(pg),
        "postgresql_to_sqlite": round(pg / sqlite, 3),
        "storm_alerts_stored_per_s_min": storm_alerts,
        "latency_phase_offered": round(offered),
        "latency_phase_processed_without_storm": round(processed["postgresql"]),
        "latency_phase_processed_with_storm": round(processed["postgresql + storm"]),
        "p99_ms_without_storm": p99["postgresql"], "p99_ms_with_storm": p99["postgresql + storm"],
        "storm_e2e_median": round(storm), "storm_e2e_to_postgresql": round(storm / pg, 3),
        "readings_without_alerts_e2e_median": round(readings),
        "latency_phase_processed_with_readings_without_alerts": round(processed["postgresql + readings"]),
        "p99_ms_with_readings_without_alerts": p99["postgresql + readings"],
        "storm_e2e_to_readings_without_alerts": round(storm / readings, 3),
    }
    print(json.dumps(summary, indent=2))
    verdicts = {
        f"PostgreSQL within 10 % of SQLite (>= {RATIO_TARGET})": summary["postgresql_to_sqlite"] >= RATIO_TARGET,
        f"storm stored >= {args.storm:,.0f} alerts/s": storm_alerts >= args.storm * 0.98,
        "every offered event processed during the storm (>= 98 %)": processed["postgresql + storm"] >= 0.98 * offered,
    }
    for name, ok in verdicts.items():
        print(f"{'met    ' if ok else 'NOT MET'}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
