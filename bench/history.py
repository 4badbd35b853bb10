"""History benchmark (issue 13): what keeping every scored event costs the live pipeline, and how fast
the history answers and exports with 10,000,000 stored events.

    .venv/bin/python bench/history.py                        # everything, on SQLite (about 20-40 minutes)
    .venv/bin/python bench/history.py --quick                # smoke run (both parts side by side; figures mean nothing)
    .venv/bin/python bench/history.py --keep /tmp/hist10m    # generate once into that folder, reuse it after
    .venv/bin/python bench/history.py --postgres             # the stored-history part on a throwaway PostgreSQL
    .venv/bin/python bench/history.py --skip-pipeline        # only the stored-history part (or --skip-store)

1. Pipeline: bench/live_pipeline.py (the real Runtime behind the real server, real WebSocket clients), run
   as a subprocess with `--history off` and `--history on` (the default writer: HISTORY_WRITER=auto, a
   child process; `live_pipeline.py --history thread` runs the thread writer) alternately in this run: saturated throughput
   (`--sat-rate`, 1 client; offered above what even the run without history takes, or it warns) and the
   live p99 at 10,000 events/s with 100 clients.
2. Generate: `--events` retail events (45 stores x 80 depts, `--days` days up to now), written by the
   product's own HistoryWriter.write (services.history.blocks, then SqlHistoryStore.write), 200,000 per
   write, into a database the product's migrations created. At 14.5 events/s over 8 days a block holds
   about 19 events (one store's minute): a low-rate deployment, the hardest shape for block reads. Raw is
   kept for all of it (the server runs with HISTORY_RAW_HOURS covering the data).
3. Queries: `python app.py` on that database (SIMULATOR=off), real HTTP with an X-API-Key, `--calls` calls
   per shape after 3 warm-up calls, each call's wall time: a 7-day chart for one store, a 24 h chart for
   all stores, a 1 h raw range for one dept (automatic bucket: the answer's bucket is reported).
4. Export: GET /api/v1/history/export.csv of the newest `--export-rows` raw rows, read as it streams;
   rows/s and the server process's RSS growth (psutil, sampled every 50 ms).
5. Browser (bench/history_browser.py, Debian's chromium): on the same server, signed in on the Live page,
   "1 h" then "7 d" five times; click -> chart drawn with the range, the longest task, a timer's lag.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import requests  # noqa: E402

from helpers import ADMIN_PASSWORD, LiveServer  # noqa: E402  (tests/helpers.py: `python app.py` on a free port)
from history_browser import seven_days  # noqa: E402

STORES, DEPTS, CHUNK = 45, 80, 200_000
TARGETS = {"throughput_ratio": 0.90, "live_p99_ms": 150, "week_one_store_p95_ms": 150, "day_all_stores_p95_ms": 300,
           "hour_raw_one_dept_p95_ms": 100, "export_rows_per_s": 200_000, "export_rss_growth_mb": 50,
           "browser_seven_days_ms_max": 1500}


# -- 1. the live pipeline with history on and off ---------------------------------------------------------

def pipeline_run(history: str, rate: float, clients: int, duration: float, warmup: float) -> dict:
    """One bench/live_pipeline.py run; its figures (the `key=value` line it ends with)."""
    command = [sys.executable, str(ROOT / "bench" / "live_pipeline.py"), "--history", history, "--no-baseline",
               "--rate", str(rate), "--clients", str(clients), "--duration", str(duration), "--warmup", str(warmup)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    if run.returncode != 0:
        raise RuntimeError(f"live_pipeline.py --history {history} failed:\n{run.stderr[-2000:]}")
    figures = dict(item.split("=", 1) for item in run.stdout.strip().splitlines()[-1].split())
    return {k: _number(v) for k, v in figures.items()}


def _number(text: str):
    try:
        return float(text) if "." in text or "e" in text else int(text)
    except ValueError:
        return None if text == "None" else text


def pipeline(args) -> dict:
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    for history in ["off", "on"] * args.rounds:          # alternately, so drift on the machine hits both
        runs[history].append(pipeline_run(history, args.sat_rate, 1, args.duration, args.warmup))
        print(f"  saturated, history {history}: {runs[history][-1]['sustained_events_per_s']} events/s", flush=True)
    mean = {h: sum(r["sustained_events_per_s"] for r in rs) / len(rs) for h, rs in runs.items()}
    out = {"sat_offered_per_s": args.sat_rate, "sat_events_per_s_off": round(mean["off"]),
           "sat_events_per_s_on": round(mean["on"]), "throughput_ratio": round(mean["on"] / mean["off"], 3),
           "sat_runs_off": [r["sustained_events_per_s"] for r in runs["off"]],
           "sat_runs_on": [r["sustained_events_per_s"] for r in runs["on"]],
           "history_dropped_at_saturation": sum(r.get("history_dropped", 0) for r in runs["on"])}
    if mean["off"] >= 0.97 * args.sat_rate and not args.quick:    # off took all it was offered: not saturated
        print(f"  WARNING: with history off the pipeline processed {mean['off']:,.0f} of {args.sat_rate:,.0f} offered "
              "events/s: it was not saturated, so the ratio overstates; raise --sat-rate", flush=True)
        out["off_not_saturated"] = True
    for history in ("off", "on"):
        live = (runs[history][-1] if args.quick           # --quick: the figures of the runs above
                else pipeline_run(history, args.live_rate, args.live_clients, args.duration, args.warmup))
        print(f"  {args.live_rate:g} events/s, {args.live_clients} clients, history {history}: "
              f"p99 {live['latency_ms_p99']} ms", flush=True)
        out[f"live_{history}"] = {k: live.get(k) for k in ("sustained_events_per_s", "clients_connected",
                                                            "latency_ms_p50", "latency_ms_p99", "latency_ms_max",
                                                            "history_written", "history_pending", "history_dropped")}
    out["live_p99_ms"] = out["live_on"]["latency_ms_p99"]
    return out


# -- 2. ten million events, written by the product ---------------------------------------------------------

def generate(db, count: int, start: float, end: float, seed: int = 1) -> float:
    """`count` retail events evenly over [start, end) of received time, each with an event timestamp a few
    seconds earlier; written CHUNK at a time. Returns seconds taken."""
    from services.history.store import IsoStamps, SqlHistoryStore
    from services.history.writer import HistoryWriter
    from services.scoring.models import Scores
    writer, stamp, rng = HistoryWriter(SqlHistoryStore(db)), IsoStamps(), np.random.default_rng(seed)
    step, began = (end - start) / count, time.perf_counter()
    for first in range(0, count, CHUNK):
        n = min(CHUNK, count - first)
        received = start + (np.arange(first, first + n) + 0.5) * step
        lag = rng.uniform(0.05, 5.0, n)
        stores, depts = rng.integers(1, STORES + 1, n).tolist(), rng.integers(1, DEPTS + 1, n).tolist()
        sales = np.round(rng.lognormal(9.5, 0.8, n), 2).tolist()
        risk = rng.integers(0, 100, n)
        events = [{"profile": "retail", "event_id": f"h{first + i}", "timestamp": stamp(r - g), "store": s,
                   "dept": d, "weekly_sales": v, "temperature": 55.5, "is_holiday": 0, "fuel_price": 3.1,
                   "cpi": 211.2, "unemployment": 7.9, "_entry": f"{int(r * 1000)}-0"}
                  for i, (r, g, s, d, v) in enumerate(zip(received.tolist(), lag.tolist(), stores, depts, sales))]
        scores = Scores(risk >= 85, risk / 100, risk, ["HIGH" if x >= 60 else "LOW" for x in risk.tolist()],
                        (risk % 4).tolist(), np.zeros(n), np.zeros(n), np.zeros(n), 1)
        writer.write([("default", events, scores, end)])         # what the writer thread does, not started
        if first // CHUNK % 5 == 4:
            done = first + n
            print(f"  {done:,} events ({done / (time.perf_counter() - began):,.0f}/s)", flush=True)
    return time.perf_counter() - began


def prepared(args, target) -> tuple[dict, bool]:
    """The data's description, generated now (fresh, or a --keep folder whose data differs) or reused."""
    from sqlalchemy import event
    from services.storage.db import Database
    marker = Path(args.data_dir) / "history-bench.json"
    wanted = {"events": args.events, "days": args.days, "backend": "postgresql" if args.postgres else "sqlite"}
    if marker.exists() and not args.postgres:
        found = json.loads(marker.read_text())
        if {k: found.get(k) for k in wanted} == wanted:
            return found, False
    end = math.floor(time.time() / 60) * 60
    db = Database(target)
    if db.dialect == "sqlite":       # generating only: a 1 GB page cache and no fsync (the measured server has neither)
        event.listen(db.engine, "connect", lambda conn, _: conn.executescript(
            "PRAGMA cache_size=-1000000; PRAGMA synchronous=OFF;"))
        db.engine.dispose()
    seconds = generate(db, args.events, end - args.days * 86400, end)
    db.dispose()
    info = {**wanted, "start": end - args.days * 86400, "end": end, "generate_s": round(seconds, 1),
            "generate_events_per_s": round(args.events / seconds)}
    marker.write_text(json.dumps(info))
    return info, True


# -- 3 and 4. the API over real HTTP ---------------------------------------------------------------------

def timed(session, url: str, params: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    r = session.get(url, params=params, timeout=120)
    elapsed = time.perf_counter() - started
    r.raise_for_status()
    return elapsed * 1000, r.json()


def percentiles(ms: list[float]) -> dict:
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "max_ms": round(max(ms), 1), "calls": len(ms)}


def iso(epoch: float) -> str:
    from services.history.store import iso as product_iso
    return product_iso(epoch)


def queries(base: str, session, info: dict, calls: int) -> dict:
    end, url, out = info["end"], base + "/api/v1/history", {}
    shapes = {   # name -> call k's parameters
        "week_one_store": lambda k: {"from": iso(end - 7 * 86400), "to": iso(end), "store": 1 + k % STORES},
        "day_all_stores": lambda k: {"from": iso(end - 86400 - k * 60), "to": iso(end - k * 60)},
        "hour_raw_one_dept": lambda k: {"from": iso(end - 3600 - k * 600), "to": iso(end - k * 600),
                                        "dept": 1 + k % DEPTS},
    }
    for name, params in shapes.items():
        for k in range(3):
            timed(session, url, params(k))                   # warm-up: connections, caches
        ms, answers = [], []
        for k in range(calls):
            elapsed, answer = timed(session, url, params(k))
            ms.append(elapsed)
            answers.append(answer)
        out[name] = {**percentiles(ms), "bucket": answers[-1]["bucket"],
                     "points": round(sum(len(a["series"]) for a in answers) / len(answers))}
        print(f"  {name}: {out[name]}", flush=True)
    return out


def export(base: str, session, info: dict, rows: int, pid: int) -> dict:
    span = (info["end"] - info["start"]) * rows / info["events"]
    params = {"from": iso(info["end"] - span), "to": iso(info["end"]), "bucket": "raw"}
    process = psutil.Process(pid)
    before = process.memory_info().rss
    peak, done = [before], threading.Event()

    def sample():
        while not done.wait(0.05):
            peak.append(process.memory_info().rss)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    lines = size = 0
    with session.get(base + "/api/v1/history/export.csv", params=params, stream=True, timeout=600) as r:
        r.raise_for_status()
        first_byte = time.perf_counter() - started
        for chunk in r.iter_content(chunk_size=1 << 20):
            lines += chunk.count(b"\n")
            size += len(chunk)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return {"rows": lines - 1, "seconds": round(elapsed, 2), "rows_per_s": round((lines - 1) / elapsed),
            "mb_per_s": round(size / elapsed / 1e6, 1), "first_byte_ms": round(first_byte * 1000, 1),
            "rss_before_mb": round(before / 1e6, 1), "rss_growth_mb": round((max(peak) - before) / 1e6, 1)}


def stored_history(args) -> dict:
    cluster = None
    if args.postgres:
        from pg_cluster import PostgresCluster, pg_bin
        cluster = PostgresCluster(pg_bin()).start()
    try:
        target = cluster.new_database() if cluster else Path(args.data_dir) / "pulseboard.db"
        print(f"generating/reusing {args.events:,} events in {target}", flush=True)
        info, fresh = prepared(args, target)
        print(f"  data: {info}", flush=True)
        from services.security.apikeys import ApiKeyStore
        from services.storage.db import Database
        db = Database(target)
        key = ApiKeyStore(db).create("history-bench")[1]
        db.dispose()
        kept_hours = math.ceil((time.time() - info["start"]) / 3600) + 24      # retention keeps all of it raw
        env = {"SIMULATOR": "off", "MARKET_FEED": "off", "HISTORY_RAW_HOURS": kept_hours}
        if cluster:
            env["DATABASE_URL"] = target
        server = LiveServer(Path(args.data_dir), **env).start(timeout=120)
        try:
            session = requests.Session()
            session.headers["X-API-Key"] = key
            out = {"data": info, "fresh": fresh, "queries": queries(server.url, session, info, args.calls)}
            out["export"] = export(server.url, session, info, args.export_rows, server.proc.pid)
            print(f"  export: {out['export']}", flush=True)
            if not args.skip_browser:
                out["browser"] = seven_days(server.url, "admin", ADMIN_PASSWORD, runs=2 if args.quick else 5)
        finally:
            server.stop()
        return out
    finally:
        if cluster:
            cluster.stop()


# -- the run -------------------------------------------------------------------------------------------

def verdicts(figures: dict) -> dict:
    q, e = figures.get("queries", {}), figures.get("export", {})
    measured = {"throughput_ratio": figures.get("pipeline", {}).get("throughput_ratio"),
                "live_p99_ms": figures.get("pipeline", {}).get("live_p99_ms"),
                **{f"{name}_p95_ms": q[name]["p95_ms"] for name in q},
                "export_rows_per_s": e.get("rows_per_s"), "export_rss_growth_mb": e.get("rss_growth_mb"),
                "browser_seven_days_ms_max": figures.get("browser", {}).get("drawn_ms_max")}
    higher = {"throughput_ratio", "export_rows_per_s"}
    return {k: {"measured": v, "target": TARGETS[k],
                "met": (v >= TARGETS[k]) if k in higher else (v <= TARGETS[k])}
            for k, v in measured.items() if v is not None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny figures everywhere: a smoke run")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=8)
    parser.add_argument("--calls", type=int, default=60, help="timed calls per query shape")
    parser.add_argument("--export-rows", type=int, default=5_000_000)
    parser.add_argument("--keep", help="a folder to generate into once and reuse (SQLite)")
    parser.add_argument("--postgres", action="store_true", help="stored history on a throwaway PostgreSQL cluster")
    parser.add_argument("--sat-rate", type=float, default=120_000,
                        help="offered events/s for the throughput ratio (above what the pipeline takes with history off)")
    parser.add_argument("--live-rate", type=float, default=10_000)
    parser.add_argument("--live-clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=15, help="measured seconds per pipeline run")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="saturated runs per setting")
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-store", action="store_true")
    parser.add_argument("--skip-browser", action="store_true", help="no Chromium step (picking 7 d on the Live page)")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.calls, args.export_rows, args.rounds = 30_000, 5, 10_000, 1
        args.sat_rate, args.live_rate, args.live_clients, args.duration, args.warmup = 3000, 3000, 1, 1, 0.5
    scratch = tempfile.TemporaryDirectory(prefix="pulseboard-history-bench-")
    args.data_dir = args.keep or scratch.name
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    figures: dict = {}
    try:     # one after the other (each would disturb the other's figures); --quick: side by side, to be quick
        with ThreadPoolExecutor(2 if args.quick else 1) as pool:
            pipeline_job = None if args.skip_pipeline else pool.submit(pipeline, args)
            store_job = None if args.skip_store else pool.submit(stored_history, args)
            if pipeline_job:
                figures["pipeline"] = pipeline_job.result()
            if store_job:
                figures.update(store_job.result())
    finally:
        scratch.cleanup()
    figures["targets"] = verdicts(figures)
    print(json.dumps(figures, indent=2))
    print(" ".join(f"{k}={v['measured']}" for k, v in figures["targets"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
