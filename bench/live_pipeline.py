"""Live pipeline benchmark: sustained events/s through the in-process pipeline with N real
WebSocket clients, event -> client-frame latency, and the naive one-event-at-a-time baseline.

    .venv/bin/python bench/live_pipeline.py                 # 20,000 ev/s, 100 clients, 20 s
    .venv/bin/python bench/live_pipeline.py --quick         # small smoke run
    .venv/bin/python bench/live_pipeline.py --rate 30000 --clients 1
    .venv/bin/python bench/live_pipeline.py --history off --no-baseline   # without the event history

bench/history.py runs this script with `--history on` and `off` in one run to compare them.

The server (Flask + Dash + /ws, the real Runtime with the simulator off) runs in this process on a
loopback port; a feeder thread puts events into the ingest queue at `--rate`. The clients run in a
separate process (so their CPU is not charged to the server's interpreter): each logs in with the
shared session cookie, subscribes to iot/alerts/kpis and timestamps every frame on arrival. Latency
of a point = arrival time of the frame that carries it - the event's own timestamp (set by the
feeder when it enqueues the event), so it covers queueing, batching, scoring, aggregation,
fan-out, coalescing and the socket. Frames carry at most the newest 100 points by design, so
latency is measured on the points that are delivered.

All clients are one user: the bench raises the server's socket caps (WS_MAX_PER_USER, WS_MAX_CONNECTIONS)
to `--clients`, and exits 1 ("asked for N clients, only M connected") if fewer than asked connect.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from frames import free_port, measured_frames  # noqa: E402  (bench/frames.py)

PASSWORD = "bench-password-1"


# -- clients (separate process) -----------------------------------------------------------------

def _why(exc: Exception) -> str:
    """A short reason: a refused handshake's status and body (never its headers: they carry the cookie)."""
    status = getattr(exc, "status_code", None)
    if status is not None:
        body = getattr(exc, "resp_body", b"") or b""
        body = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
        return f"HTTP {status} {body.strip()[:200]}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _client(url: str, cookie: str, origin: str, stop_at: float, measure_from: float, out: list,
            failures: list) -> None:
    latencies, frames = [], 0
    try:
        for arrived, points in measured_frames(url, cookie, origin, stop_at):
            if arrived >= measure_from:
                frames += 1
                latencies.extend(points)
    except Exception as exc:      # noqa: BLE001 - refused or dropped: counted and named, not a thread traceback
        failures.append(_why(exc))
        return
    out.append((frames, latencies))


def clients_main(n: int, url: str, cookie: str, origin: str, stop_at: float, measure_from: float, queue) -> None:
    out: list = []
    failures: list = []
    threads = [threading.Thread(target=_client, args=(url, cookie, origin, stop_at, measure_from, out, failures))
               for _ in range(n)]
    for t in threads:
        t.start()
        time.sleep(0.01)
    for t in threads:
        t.join()
    frames = [f for f, _ in out]
    latencies = np.array([x for _, lat in out for x in lat])
    queue.put({"connected": len(out), "failures": failures, "frames": frames, "latencies": latencies})


# -- server side (this process) -------------------------------------------------------------------

def baseline(history: list[dict], events: list[dict], singles: int = 2000) -> tuple[float, float]:
    """(events/s scoring one at a time, events/s in batches of 1,000) on a fresh, equally warmed ModelBank."""
    from services.scoring.models import ModelBank
    bank = ModelBank(seed=0)
    bank.warm_up(history)
    started = time.perf_counter()
    for event in events[:singles]:
        bank.score([event])
    single = singles / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(0, len(events), 1000):
        bank.score(events[i:i + 1000])
    batched = len(events) / (time.perf_counter() - started)
    return single, batched


class Feeder(threading.Thread):
    """Puts copies of pre-generated events into the queue at `rate`/s, each with a fresh id and time."""

    def __init__(self, queue, pool: list[dict], rate: float, stop_at: float):
        super().__init__(name="bench-feeder", daemon=True)
        self.queue, self.pool, self.rate, self.stop_at = queue, pool, rate, stop_at
        self.offered = 0
        self.refused = 0

    def run(self) -> None:
        from services.timestamps import format_timestamp
        from services.ingest.queue import QueueFull
        start = time.monotonic()
        n = 0
        while time.time() < self.stop_at:
            due = int((time.monotonic() - start) * self.rate) - self.offered
            if due > 0:
                ts = format_timestamp(datetime.now(timezone.utc))
                batch = []
                for _ in range(due):
                    e = dict(self.pool[n % len(self.pool)])
                    e["event_id"] = f"b{n}"
                    e["timestamp"] = ts
                    batch.append(e)
                    n += 1
                try:
                    self.queue.put(batch)
                except QueueFull:
                    self.refused += len(batch)
                self.offered += due
            time.sleep(0.005)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20000, help="offered events per second")
    parser.add_argument("--clients", type=int, default=None, help="WebSocket clients (default 100; --quick: 10)")
    parser.add_argument("--duration", type=float, default=20, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5, help="seconds before measuring")
    parser.add_argument("--quick", action="store_true", help="2,000 ev/s, 10 clients (unless --clients), 5 s")
    parser.add_argument("--history", choices=("on", "off", "thread"), default="on",
                        help="keep the event history (HISTORY; 'thread': HISTORY_WRITER=thread, in the pipeline's process)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-event-at-a-time baseline")
    args = parser.parse_args(argv)
    if args.quick:
        args.rate, args.duration, args.warmup = 2000, 5, 2
    if args.clients is None:
        args.clients = 10 if args.quick else 100

    import logging

    import requests
    from werkzeug.serving import make_server

    from app import create_app
    from services.config import Config
    from services.web.runtime_access import get_runtime
    from services.ingest.events import validate_event
    from services.simulation.retail import RetailSimulator

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    sim = RetailSimulator(seed=1)
    history = [validate_event(e) for e in sim.history(2000)]
    pool = [sim.next_event() for _ in range(5000)]
    single, batched = ((None, None) if args.no_baseline
                       else baseline(history, [validate_event(e) for e in pool] * 4, 300 if args.quick else 2000))

    tmp = tempfile.TemporaryDirectory(prefix="pulseboard-bench-")
    port = free_port()
    # Every client logs in as the same admin from one process: raise the per-user and per-process socket
    # caps (WS_MAX_PER_USER, default 10; WS_MAX_CONNECTIONS) to what was asked, or only 10 would connect.
    defaults = Config()
    config = Config(data_dir=Path(tmp.name), port=port, admin_password=PASSWORD, simulator=False, sim_seed=1,
                    history=args.history != "off", history_writer="thread" if args.history == "thread" else "auto",
                    ws_max_per_user=max(defaults.ws_max_per_user, args.clients),
                    ws_max_connections=max(defaults.ws_max_connections, args.clients + 10))
    server = create_app(config)
    runtime = get_runtime(server)
    runtime.backend.models.warm_up(history)
    httpd = make_server("127.0.0.1", port, server, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    runtime.start()

    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    token = session.get(base + "/api/csrf").json()["csrf_token"]
    session.post(base + "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token},
                 allow_redirects=False)
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())

    now = time.time()
    connect_time = max(1.0, args.clients * 0.03)
    measure_from = now + connect_time + args.warmup
    stop_at = measure_from + args.duration
    results = mp.get_context("spawn").Queue()
    clients = mp.get_context("spawn").Process(
        target=clients_main, args=(args.clients, f"ws://127.0.0.1:{port}/ws", cookie, base, stop_at,
                                   measure_from, results))
    clients.start()
    time.sleep(connect_time)
    feeder = Feeder(runtime.backend.queue, pool, args.rate, stop_at)
    feeder.start()

    time.sleep(max(0.0, measure_from - time.time()))
    processed0, offered0, t0 = runtime.backend.pipeline.stats.processed, feeder.offered, time.monotonic()
    max_depth = 0
    conn_stats = runtime.connections.stats()
    while time.time() < stop_at - 0.5:
        time.sleep(0.25)
        max_depth = max(max_depth, len(runtime.backend.queue))
        conn_stats = runtime.connections.stats()     # while every client is still connected
    time.sleep(max(0.0, stop_at - time.time()))
    elapsed = time.monotonic() - t0
    processed = runtime.backend.pipeline.stats.processed - processed0
    offered = feeder.offered - offered0
    depth_end = len(runtime.backend.queue)
    writer = runtime.backend.history
    history_stats = writer.stats() if writer is not None else {}

    report = results.get(timeout=60)
    clients.join(10)
    runtime.stop()
    httpd.shutdown()
    tmp.cleanup()

    lat = report["latencies"] * 1000
    frames = np.array(report["frames"], dtype=float) / args.duration
    pct = (lambda q: float(np.percentile(lat, q))) if len(lat) else (lambda q: float("nan"))
    summary = {
        "offered_events_per_s": round(offered / elapsed),
        "sustained_events_per_s": round(processed / elapsed),
        "clients_connected": report["connected"],
        "frames_per_client_per_s": round(float(frames.mean()), 2) if len(frames) else 0,
        "points_received": int(len(lat)),
        "latency_ms_p50": round(pct(50), 1), "latency_ms_p99": round(pct(99), 1),
        "latency_ms_max": round(float(lat.max()), 1) if len(lat) else None,
        "queue_depth_max": max_depth, "queue_depth_end": depth_end, "refused": feeder.refused,
        "points_coalesced_total": conn_stats["points_coalesced"],
        "baseline_single_event_per_s": single and round(single), "batched_scoring_per_s": batched and round(batched),
        "speedup_vs_single": single and round(processed / elapsed / single, 1),
        "history": args.history,
        **{f"history_{k}": history_stats[k] for k in ("written", "pending", "dropped", "errors", "last_flush_ms")
           if k in history_stats},
    }
    print(json.dumps(summary, indent=2))
    print(" ".join(f"{k}={v}" for k, v in summary.items()))
    if report["connected"] < args.clients:     # the figures above are not for the load that was asked
        reasons = sorted(set(report["failures"]))
        print(f"FAILED: asked for {args.clients} clients, only {report['connected']} connected"
              + (f" ({'; '.join(reasons[:3])})" if reasons else ""), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
