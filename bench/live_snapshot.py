"""Live snapshot benchmark (issue 12): how fast the Live page's snapshot (the latest 20 alerts + the live KPIs,
what every socket gets on connect and GET /api/live-data returns) answers with 1,000,000 alerts stored.

    .venv/bin/python bench/live_snapshot.py                    # PostgreSQL, 1,000,000 alerts (about 3 minutes)
    .venv/bin/python bench/live_snapshot.py --database sqlite  # the same on SQLite in DATA_DIR
    .venv/bin/python bench/live_snapshot.py --quick            # smoke run (figures mean nothing)

What runs: a throwaway PostgreSQL cluster with production durability (or SQLite), migrated by the product; the
alerts written by the product's AlertStore.save (multi-row inserts of 2,000, as the workers store them):
80 % retail over 45 stores x 80 depts, 20 % sensor over 50 assets, 90 % of them resolved; a throwaway
redis-server and one gunicorn gevent web worker (distributed mode, as deployed with PostgreSQL), with a
model worker that has processed a few thousand events so the KPIs are real. Then, over real HTTP with a
signed-in session, `--calls` sequential calls of each shape after 20 warm-up calls, each call's wall time:
  - snapshot: GET /api/live-data (the latest 20 alerts + KPIs)               target p99 <= 20 ms
  - reconnect: GET /api/live-data?since_alert_id=<newest - 50> (+ the 50 alerts missed)
  - filtered: GET /api/live-data?store=5&dept=3 (a filtered dashboard: its alerts and its own KPIs)
and the store's own query (AlertStore.recent, in this process) for the database's share of the time.
"""
from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402

from helpers import GUNICORN, WORKER, LiveServer, RedisServer, Worker  # noqa: E402
from pg_cluster import PostgresCluster, pg_bin  # noqa: E402

P99_TARGET_MS, BATCH = 20, 20_000


def fill(db, count: int, seed: int = 1) -> float:
    """`count` alerts through AlertStore.save, 20,000 per call; seconds taken."""
    from sqlalchemy import update
    from services.storage.alerts import AlertStore
    from services.storage.schema import alerts as table
    store, rng, began = AlertStore(db), random.Random(seed), time.perf_counter()
    for first in range(0, count, BATCH):
        batch = []
        for i in range(first, min(count, first + BATCH)):
            common = {"event_id": f"a{i}", "priority": "CRITICAL" if rng.random() < 0.3 else "HIGH",
                      "timestamp": f"2026-11-{1 + i * 30 // count:02d}T10:00:00.000Z", "risk_score": rng.randint(60, 100),
                      "message": "Sales 4.2x the usual for this store/department", "why": "weekly_sales 84,000 vs ~20,000"}
            if rng.random() < 0.8:
                batch.append({**common, "profile": "retail", "store": rng.randint(1, 45), "dept": rng.randint(1, 80)})
            else:
                asset = f"pump-{rng.randint(1, 50):02d}"
                batch.append({**common, "profile": "sensor", "asset_id": asset, "sensor_id": f"{asset}-vibr",
                              "sensor_type": "vibration"})
        store.save("default", batch)
        if first // BATCH % 10 == 9:
            print(f"  {first + len(batch):,} alerts ({(first + len(batch)) / (time.perf_counter() - began):,.0f}/s)",
                  flush=True)
    with db.connect() as conn:          # most alerts of a long-running deployment are closed
        conn.execute(update(table).where(table.c.id % 10 != 0).values(status="resolved", resolved_by="admin",
                                                                        resolved_at="2026-11-30T10:00:00.000Z"))
    return time.perf_counter() - began


def timed_calls(session, url: str, params: dict, calls: int) -> np.ndarray:
    for _ in range(20):
        session.get(url, params=params, timeout=10).raise_for_status()
    ms = []
    for _ in range(calls):
        started = time.perf_counter()
        r = session.get(url, params=params, timeout=10)
        ms.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
    return np.array(ms)


def report(name: str, ms: np.ndarray) -> dict:
    figures = {q: round(float(np.percentile(ms, q)), 2) for q in (50, 95, 99)}
    print(f"{name:<34} p50 {figures[50]:>6.2f} ms  p95 {figures[95]:>6.2f} ms  p99 {figures[99]:>6.2f} ms  "
          f"max {ms.max():.2f} ms  ({len(ms)} calls)", flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.alerts, args.calls = 20_000, 200
    from services.storage.alerts import AlertStore
    from services.storage.db import Database
    work = Path(tempfile.mkdtemp(prefix="pulseboard-snapshot-bench-"))
    cluster = redis = web = worker = None
    try:
        if args.database == "postgresql":
            bin_dir = pg_bin()
            if bin_dir is None:
                raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) are not installed: tests/run.sh installs them")
            cluster = PostgresCluster(bin_dir, durable=True).start()
            url = cluster.new_database()
            db, env = Database(url), {"DATABASE_URL": url}
        else:
            db, env = Database(work / "data" / "pulseboard.db"), {}
        print(f"storing {args.alerts:,} alerts in {args.database}", flush=True)
        seconds = fill(db, args.alerts)
        print(f"  stored in {seconds:.1f} s ({args.alerts / seconds:,.0f} alerts/s)", flush=True)
        redis = RedisServer(work / "redis").start()
        env |= {"REDIS_URL": redis.url, "SECRET_KEY": "bench-secret", "WEB_CONCURRENCY": "1", "SIMULATOR": "off"}
        web = LiveServer(work / "data", command=GUNICORN, **env).start(timeout=60)
        worker = Worker(work / "data", command=WORKER, **env).start()
        session = web.session()
        posted = subprocess.run([sys.executable, "-m", "services.simulation.simulator", "--redis", redis.url,
                                 "--rate", "2000", "--duration", "2", "--seed", "3"],
                                capture_output=True, text=True, timeout=120, cwd=ROOT)
        if posted.returncode != 0:
            raise SystemExit(f"the simulator could not send events:\n{posted.stderr[-2000:]}")
        deadline = time.monotonic() + 60
        while session.get(web.url + "/api/live-data").json()["kpis"].get("event_count", 0) < 3000:
            if time.monotonic() > deadline:
                raise SystemExit("the worker did not process the simulator's events within 60 s")
            time.sleep(0.5)
        store = AlertStore(db)
        newest = store.recent("default", 1)[0]["id"]
        base = web.url + "/api/live-data"
        figures = {
            "snapshot": report("snapshot (latest 20 + KPIs)", timed_calls(session, base, {}, args.calls)),
            "reconnect": report("reconnect (+50 missed alerts)",
                                timed_calls(session, base, {"since_alert_id": newest - 50}, args.calls)),
            "filtered": report("filtered (store 5, dept 3)",
                               timed_calls(session, base, {"store": 5, "dept": 3}, args.calls // 4)),
        }
        ms = []
        for _ in range(args.calls):
            started = time.perf_counter()
            store.recent("default", 20)
            ms.append((time.perf_counter() - started) * 1000)
        figures["store_query"] = report("AlertStore.recent(20), in process", np.array(ms))
        ok = figures["snapshot"][99] <= P99_TARGET_MS
        print(f"{'met    ' if ok else 'NOT MET'}  snapshot p99 {figures['snapshot'][99]} ms with "
              f"{args.alerts:,} alerts (target <= {P99_TARGET_MS} ms)")
        return 0
    finally:
        for part in (worker, web, redis):
            if part is not None:
                part.stop()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
