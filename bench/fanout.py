"""Fan-out benchmark (issue 14): many live dashboards on ONE web process.

    .venv/bin/python bench/fanout.py --mode embedded --clients 1000 --rate 5000
    .venv/bin/python bench/fanout.py --mode gunicorn --clients 1000 --rate 5000
    .venv/bin/python bench/fanout.py --idle 2000 --active 10 --rate 500      # idle sockets vs 10 active ones
    .venv/bin/python bench/fanout.py --quick                                  # smoke run

Server: `--mode embedded` is `python app.py` with the built-in simulator at SIM_RATE=--rate feeding the
in-process pipeline; `--mode gunicorn` is a throwaway redis-server, ONE gunicorn gevent web worker
(WEB_CONCURRENCY=1) and one `python -m services.runtime.worker`, whose leader runs the simulator at
SIM_RATE into the stream. Clients (bench/fanout_clients.py): asyncio + `websockets` in --client-procs
processes, `--per-user` sockets per bench user (each user signs in once; the server's WS_MAX_PER_USER is
raised to that), each socket offering permessage-deflate as browsers do, subscribed to
iot/alerts/kpis/health. Latency = frame arrival - admission time of the newest point in the frame.

Phases: start, sign in, pipeline running with no client for --warmup s (RSS before), clients connect,
--warmup s, --duration s measured (with --idle: first the active clients alone, then the idle ones
connect and the same window again), clients close, --settle s, RSS after. Exits 1 ("FAILED: ...") if
fewer sockets connected than asked, any ended early, or the pipeline fell behind: over a window it processed
fewer events than were offered (admitted by the simulator) by more than --margin of them and more than one
second's worth (the backlog grew).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout_clients import start_client_processes  # noqa: E402  (bench/fanout_clients.py)
from fanout_server import (Deployment, Monitor, Sampler, cookie_of, cpu_percent, profile, sign_in_users,  # noqa: E402
                           tear_down)  # noqa: E402

FRAMES_TARGET, P99_TARGET_MS, KB_PER_CONN_TARGET, RSS_RETURN_PCT = 9.0, 250.0, 50.0, 10.0


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("embedded", "gunicorn"), default="embedded")
    p.add_argument("--clients", "--active", dest="clients", type=int, default=100, help="active dashboards")
    p.add_argument("--idle", type=int, default=0, help="idle sockets (subscribed to `system` only) besides them")
    p.add_argument("--rate", type=float, default=5000, help="SIM_RATE: events/s the simulator offers")
    p.add_argument("--duration", type=float, default=20, help="measured seconds (per window)")
    p.add_argument("--warmup", type=float, default=5, help="seconds before each measured window")
    p.add_argument("--settle", type=float, default=5, help="seconds after the sockets closed before RSS after")
    p.add_argument("--client-procs", type=int, default=None, help="client processes (default 1 per 250 sockets, 1-4)")
    p.add_argument("--per-user", type=int, default=50, help="sockets per bench user")
    p.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate")
    p.add_argument("--margin", type=float, default=0.02, help="the backlog may grow by this share of what was offered")
    p.add_argument("--profile", type=Path, default=None, help="py-spy the web process over the window; raw stacks here")
    p.add_argument("--quick", action="store_true", help="smoke run: 10 clients, 300 events/s, short phases")
    p.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                   help="set in the server processes' environment only (e.g. PYTHONMALLOC=malloc); repeatable")
    args = p.parse_args(argv)
    try:
        args.server_env = dict(item.split("=", 1) for item in args.server_env)
    except ValueError:
        p.error("--server-env takes NAME=VALUE")
    if args.quick:
        args.clients, args.rate, args.duration, args.warmup, args.settle, args.per_user = 10, 300, 3, 1.5, 1, 5
        args.idle = min(args.idle, 10)
    total = args.clients + args.idle
    args.client_procs = args.client_procs or max(1, min(4, math.ceil(total / 250)))
    return args


# -- figures from the clients' records ------------------------------------------------------------------

def window_figures(records: list[dict], t0: float, t1: float, roles=("active", "idle")) -> dict:
    """Frames per client per second and latency of the newest point, per role, over [t0, t1)."""
    out = {}
    for role in roles:
        rates, lat = [], []
        for r in records:
            if r["role"] != role or not r["connected"]:
                continue
            arrivals = np.frombuffer(r["arrivals"])
            inside = (arrivals >= t0) & (arrivals < t1)
            rates.append(inside.sum() / (t1 - t0))
            lat.append(np.frombuffer(r["latencies"])[inside])
        if not rates:
            continue
        rates = np.array(rates)
        lat = np.concatenate(lat) * 1000
        lat = lat[~np.isnan(lat)]
        figures = {"clients": len(rates), "frames_per_client_s_mean": round(float(rates.mean()), 2),
                   "frames_per_client_s_min": round(float(rates.min()), 2),
                   "frames_per_client_s_p1": round(float(np.percentile(rates, 1)), 2)}
        if role == "active":
            figures["clients_below_9_fps"] = int((rates < FRAMES_TARGET).sum())
            pct = (lambda q: round(float(np.percentile(lat, q)), 1)) if len(lat) else (lambda q: None)
            figures.update(latency_ms_p50=pct(50), latency_ms_p99=pct(99),
                           latency_ms_max=round(float(lat.max()), 1) if len(lat) else None,
                           frames_with_points=int(len(lat)))
        out[role] = figures
    return out


def client_cpu(reports: list[dict], t0: float, t1: float) -> float:
    """CPU % of all client processes together over [t0, t1] (100 = one core)."""
    total = 0.0
    for rep in reports:
        cpu = rep["cpu"]
        times = np.array([t for t, _ in cpu])
        used = np.array([c for _, c in cpu])
        total += float(np.interp(t1, times, used) - np.interp(t0, times, used))
    return round(total / (t1 - t0) * 100, 1)


def pipeline_figures(updates: list[tuple[float, dict]]) -> dict:
    """Events/s admitted (offered) and processed between the first and last system_update of a window, and
    how many more were admitted than processed meanwhile (the backlog's growth)."""
    if len(updates) < 2:
        return {"offered_events_s": None, "processed_events_s": None, "processed_share": None, "backlog_growth": None}
    (a_at, a), (b_at, b) = updates[0], updates[-1]
    span = b_at - a_at
    offered, processed = b["accepted"] - a["accepted"], b["processed"] - a["processed"]
    return {"offered_events_s": round(offered / span), "processed_events_s": round(processed / span),
            "processed_share": round(processed / offered, 3) if offered else None,
            "backlog_growth": offered - processed, "queue_depth_end": b.get("queue_depth"), "span_s": round(span, 1)}


def fell_behind(figures: dict, margin: float) -> bool:
    """The pipeline did not keep up: the backlog grew by more than `margin` of what was offered and by more
    than one second of events (a micro-batch in flight and the queue between batches are not lag)."""
    if figures["backlog_growth"] is None:
        return True
    offered = figures["offered_events_s"] * figures["span_s"]
    return figures["backlog_growth"] > max(margin * offered, figures["offered_events_s"])


def median_rss(samples: list[tuple]) -> int | None:
    return int(np.median([s[1] for s in samples])) if samples else None


# -- the run --------------------------------------------------------------------------------------------

def run(args) -> int:
    total = args.clients + args.idle
    workdir = Path(tempfile.mkdtemp(prefix="pulseboard-fanout-"))
    deployment = Deployment(args.mode, args.rate, total, args.per_user, workdir, args.server_env)
    summary: dict = {"mode": args.mode, "server_env": args.server_env,
                     "clients_asked": args.clients, "idle_asked": args.idle,
                     "rate_nominal": args.rate, "client_procs": args.client_procs,
                     "deflate": not args.no_deflate, "per_user": args.per_user}
    failures: list[str] = []
    procs, sampler, monitor = [], None, None
    try:
        started = time.monotonic()
        deployment.start()
        summary["startup_s"] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        admin, cookies = sign_in_users(deployment.url, math.ceil(total / args.per_user))
        summary["users"], summary["sign_in_s"] = len(cookies), round(time.monotonic() - started, 1)
        monitor = Monitor(deployment.url, cookie_of(admin))
        monitor.start()
        from fanout_server import wait_until
        wait_until(lambda: monitor.latest().get("processed", 0) > 0, 90, "the pipeline to process events")
        sampler = Sampler(deployment.web_pid, deployment.other_pids())
        print(f"web process {deployment.web_pid} ({deployment.url}), logs in {workdir}", file=sys.stderr, flush=True)
        sampler.start()
        time.sleep(args.warmup)
        now = time.time()
        rss_before = median_rss(sampler.within(now - min(3, args.warmup), now)) or sampler.sample()[1]
        summary["rss_before_mb"] = round(rss_before / 2**20, 1)
        summary["threads_before"] = sampler.samples[-1][2]

        # sockets: user i//per_user; spread round-robin over the processes, active ones first
        roles = ["active"] * args.clients + ["idle"] * args.idle
        plan = [(cookies[i // args.per_user], role) for i, role in enumerate(roles)]
        open_idle, stop, status, results = start_client_processes(plan, args.client_procs, deployment.url,
                                                                  not args.no_deflate, procs)

        def connected(role: str, procs_with_role: int) -> tuple[int, list]:
            count, reasons, deadline = 0, [], time.monotonic() + 120 + total * 0.1
            for _ in range(procs_with_role):
                _, _, _, n, why = status.get(timeout=max(1.0, deadline - time.monotonic()))
                count, reasons = count + n, reasons + why
            return count, sorted(set(reasons))

        with_role = lambda role: sum(1 for k in range(args.client_procs)       # noqa: E731
                                     if any(r == role for _, r in plan[k::args.client_procs]))
        t_connect = time.monotonic()
        summary["clients_connected"], reasons = connected("active", with_role("active"))
        summary["connect_s"] = round(time.monotonic() - t_connect, 1)
        windows = []
        prof_thread, prof_result = None, {}

        def measure(name: str) -> None:
            nonlocal prof_thread
            t0 = time.time() + args.warmup
            time.sleep(args.warmup)
            if args.profile and prof_thread is None:
                prof_thread = threading.Thread(target=lambda: prof_result.update(
                    profile(deployment.web_pid, args.duration, args.profile) or {}), daemon=True)
                prof_thread.start()
            time.sleep(args.duration)
            windows.append((name, t0, t0 + args.duration))

        measure("active_only" if args.idle else "window")
        if args.idle:
            open_idle.set()
            summary["idle_connected"], more = connected("idle", with_role("idle"))
            reasons = sorted(set(reasons + more))
            measure("with_idle")
        if summary["clients_connected"] < args.clients or summary.get("idle_connected", 0) < args.idle:
            failures.append(f"asked for {args.clients} active + {args.idle} idle sockets, only "
                            f"{summary['clients_connected']} + {summary.get('idle_connected', 0)} connected"
                            + (f" ({'; '.join(reasons[:3])})" if reasons else ""))
        last = windows[-1]
        in_last = sampler.within(last[1], last[2])
        rss_connected = median_rss(in_last)
        connections = summary["clients_connected"] + summary.get("idle_connected", 0)
        summary["rss_connected_mb"] = round(rss_connected / 2**20, 1)
        summary["rss_max_mb"] = round(max(s[1] for s in in_last) / 2**20, 1)
        summary["rss_per_connection_kb"] = round((rss_connected - rss_before) / max(1, connections) / 1024, 1)
        summary["threads_connected"] = max(s[2] for s in in_last)

        stop.set()
        reports = [results.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(30)
        closed_at = time.time()
        wait_until(lambda: monitor.latest().get("connections", 99) <= 1 and monitor.updates[-1][0] > closed_at,
                   60, "the server to count the sockets closed", interval=0.5)
        summary["close_s"] = round(time.time() - closed_at, 1)
        time.sleep(args.settle)
        now = time.time()
        rss_after = median_rss(sampler.within(now - min(3, args.settle + 1), now))
        summary["rss_after_mb"] = round(rss_after / 2**20, 1)
        summary["rss_after_vs_before_pct"] = round((rss_after - rss_before) / rss_before * 100, 1)
        summary["threads_after"] = sampler.samples[-1][2]

        records = [s for rep in reports for s in rep["sockets"]]
        ended = sorted({r["ended"] for r in records if r["ended"]})
        if ended:
            failures.append(f"{sum(1 for r in records if r['ended'])} sockets ended before the end: {'; '.join(ended[:3])}")
        for name, t0, t1 in windows:
            cpu, others = cpu_percent(sampler.within(t0, t1))
            roles = ("active",) if name == "active_only" else ("active", "idle")
            figures = {**window_figures(records, t0, t1, roles), **pipeline_figures(
                [(at, s) for at, s in monitor.updates if t0 <= at <= t1])}
            figures.update(server_cpu_pct=cpu, other_cpu_pct=others, client_cpu_pct=client_cpu(reports, t0, t1))
            summary[name] = figures
            if fell_behind(figures, args.margin):
                failures.append(f"{name}: the pipeline processed {figures['processed_events_s']} events/s of "
                                f"{figures['offered_events_s']} offered (backlog grew by {figures['backlog_growth']})")
        if prof_result:
            summary["profile"] = prof_result
    finally:
        tear_down(deployment, procs, monitor, sampler)
    report(summary, args)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def report(summary: dict, args) -> None:
    """The whole summary as JSON, the target checks in words, and one key=value line of the main figures."""
    print(json.dumps(summary, indent=2))
    main = summary.get("with_idle") or summary.get("window") or {}
    active = main.get("active", {})
    lines = [
        f"frames >= {FRAMES_TARGET:g}/s for every client: min {active.get('frames_per_client_s_min')} "
        f"({active.get('clients_below_9_fps')} below)",
        f"p99 event -> frame <= {P99_TARGET_MS:g} ms: {active.get('latency_ms_p99')} ms",
        f"RSS per connection <= {KB_PER_CONN_TARGET:g} KB: {summary.get('rss_per_connection_kb')} KB",
        f"RSS back within {RSS_RETURN_PCT:g} % after close: {summary.get('rss_after_vs_before_pct')} %",
        f"pipeline keeps up: processed {main.get('processed_events_s')} of {main.get('offered_events_s')} "
        f"events/s offered (nominal {args.rate:g})",
    ]
    print("\n".join("  " + line for line in lines))
    flat = {"mode": summary["mode"], "clients_connected": summary.get("clients_connected"),
            "idle_connected": summary.get("idle_connected", 0),
            "offered_events_s": main.get("offered_events_s"), "processed_events_s": main.get("processed_events_s"),
            "frames_per_client_s": active.get("frames_per_client_s_mean"),
            "frames_per_client_s_min": active.get("frames_per_client_s_min"),
            "latency_ms_p50": active.get("latency_ms_p50"), "latency_ms_p99": active.get("latency_ms_p99"),
            "latency_ms_max": active.get("latency_ms_max"),
            "rss_before_mb": summary.get("rss_before_mb"), "rss_connected_mb": summary.get("rss_connected_mb"),
            "rss_per_connection_kb": summary.get("rss_per_connection_kb"),
            "rss_after_mb": summary.get("rss_after_mb"), "threads_connected": summary.get("threads_connected"),
            "server_cpu_pct": main.get("server_cpu_pct"), "client_cpu_pct": main.get("client_cpu_pct")}
    print(" ".join(f"{k}={v}" for k, v in flat.items()))


if __name__ == "__main__":
    sys.exit(run(parse_args()))
