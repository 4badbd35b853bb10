"""Restart storm (issue 14): stop the web server under 500 live dashboards and start it again.

    .venv/bin/python bench/restart_storm.py --clients 500                    # embedded (python app.py)
    .venv/bin/python bench/restart_storm.py --clients 500 --mode gunicorn    # one gunicorn gevent worker + Redis
    .venv/bin/python bench/restart_storm.py --quick                          # smoke run: 20 clients

The clients (bench/storm_clients.py, asyncio in --client-procs processes) reconnect as the Live page
does: jittered exponential backoff, a snapshot asked for on `subscribed` and again after 3 s without one,
REST polling from the 4th failure in a row. The server is stopped as an operator would (Ctrl-C / SIGTERM)
once every client is connected and has had --warmup s of frames, and started again at once with the same
DATA_DIR (sessions are kept server-side, so the same cookies sign the sockets in again).

Prints the reconnect timeline (clients back per second after the new server answered), connection
attempts per second, every HTTP status the clients met, snapshots per client after the restart (socket
and REST), and the new server's CPU per second. Exits 1 ("FAILED: ...") if fewer clients connected than
asked, any was not back within --within s of the server answering, any request got a 5xx, or a client
got more than one socket snapshot after the restart.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout_server import Deployment, Sampler, sign_in_users, tear_down  # noqa: E402  (bench/fanout_server.py)
from storm_clients import client_process  # noqa: E402  (bench/storm_clients.py)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("embedded", "gunicorn"), default="embedded")
    p.add_argument("--clients", type=int, default=500)
    p.add_argument("--rate", type=float, default=1000, help="SIM_RATE: events/s the simulator offers")
    p.add_argument("--warmup", type=float, default=10, help="seconds of frames before the stop")
    p.add_argument("--within", type=float, default=60, help="every client must be back this many s after the server answers")
    p.add_argument("--client-procs", type=int, default=None, help="client processes (default 1 per 250 sockets, 1-4)")
    p.add_argument("--per-user", type=int, default=50, help="sockets per bench user")
    p.add_argument("--settle", type=float, default=None,
                   help="stop watching this many s after every client is back (default: watch --within s)")
    p.add_argument("--no-deflate", action="store_true")
    p.add_argument("--quick", action="store_true", help="smoke run: 20 clients, 300 events/s")
    args = p.parse_args(argv)
    if args.quick:
        args.clients, args.rate, args.warmup, args.per_user = 20, 300, 3, 10
    args.client_procs = args.client_procs or max(1, min(4, math.ceil(args.clients / 250)))
    return args


def per_second(times: list[float], start: float, seconds: int) -> list[int]:
    counts = Counter(int(t - start) for t in times if start <= t < start + seconds)
    return [counts.get(i, 0) for i in range(seconds)]


def storm_figures(logs: list[list], stopped_at: float, up_at: float, within: float) -> dict:
    """From every socket's log: when it was back (its first open after the stop), what it met on the way."""
    back, statuses, snapshots, asked_again, polls_ok, attempts = [], Counter(), Counter(), 0, Counter(), []
    close_codes = Counter()
    for log in logs:
        after = [(t, what, detail) for t, what, detail in log if t >= stopped_at]
        close_codes.update(str(detail) for _, what, detail in after[:1] if what == "closed")
        opens = [t for t, what, _ in after if what == "open"]
        if opens:
            back.append(opens[0])
        for t, what, detail in after:
            if what in ("refused", "poll"):
                statuses[f"{what} {detail}"] += 1
            if what in ("refused", "open"):
                attempts.append(t)
        snapshots[sum(1 for _, what, _ in after if what == "snapshot")] += 1
        asked_again += sum(1 for _, what, _ in after if what == "asked_again")
        polls_ok[sum(1 for _, what, detail in after if what == "poll" and detail == 200)] += 1
    horizon = int(within) + 1
    latest = max(back) - up_at if back else None
    return {
        "clients_back": len(back), "clients_back_within": sum(1 for t in back if t - up_at <= within),
        "last_back_after_up_s": round(latest, 1) if latest is not None else None,
        "back_per_second_after_up": per_second(back, up_at, horizon),
        "back_before_up": sum(1 for t in back if t < up_at),
        "attempts_per_second_from_stop": per_second(attempts, stopped_at, int(up_at - stopped_at) + horizon),
        "close_codes_at_the_stop": dict(close_codes),
        "http_statuses": dict(sorted(statuses.items())),
        "server_errors": sum(n for k, n in statuses.items() if k.split()[-1].isdigit() and int(k.split()[-1]) >= 500),
        "socket_snapshots_per_client": dict(sorted(snapshots.items())),
        "snapshot_asked_again": asked_again,
        "rest_snapshots_per_client": dict(sorted(polls_ok.items())),
    }


def cpu_per_second(samples: list[tuple], start: float, seconds: int) -> list[float]:
    """The web process's CPU % (100 = one core) in each second from `start`, from the 0.5 s samples."""
    out = []
    for i in range(seconds):
        inside = [s for s in samples if start + i <= s[0] <= start + i + 1]
        if len(inside) >= 2:
            out.append(round((inside[-1][3] - inside[0][3]) / (inside[-1][0] - inside[0][0]) * 100))
    return out


def run(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="pulseboard-storm-"))
    deployment = Deployment(args.mode, args.rate, args.clients, args.per_user, workdir)
    summary: dict = {"mode": args.mode, "clients_asked": args.clients, "rate_nominal": args.rate,
                     "client_procs": args.client_procs}
    failures: list[str] = []
    procs, sampler = [], None
    try:
        deployment.start()
        _, cookies = sign_in_users(deployment.url, math.ceil(args.clients / args.per_user))
        plan = [cookies[i // args.per_user] for i in range(args.clients)]
        ctx = mp.get_context("spawn")
        stop, status, results, reopened = ctx.Event(), ctx.Queue(), ctx.Queue(), ctx.Array("i", args.client_procs)
        ws_url = deployment.url.replace("http", "ws", 1) + "/ws"
        for k in range(args.client_procs):
            proc = ctx.Process(target=client_process, args=(k, plan[k::args.client_procs], ws_url, deployment.url,
                                                              not args.no_deflate, stop, status, reopened,
                                                              results))
            proc.start()
            procs.append(proc)
        summary["clients_connected"] = sum(status.get(timeout=180 + args.clients * 0.1)[2] for _ in procs)
        if summary["clients_connected"] < args.clients:
            failures.append(f"asked for {args.clients} clients, only {summary['clients_connected']} connected")
        time.sleep(args.warmup)

        stopped_at = time.time()
        deployment.stop_web()
        summary["stop_s"] = round(time.time() - stopped_at, 2)
        started_at = time.time()
        deployment.start_web("web-restarted")
        up_at = time.time()
        summary["start_s"] = round(up_at - started_at, 2)
        print(f"server stopped in {summary['stop_s']} s, answering again {summary['start_s']} s after its start; "
              f"watching {args.within:g} s", file=sys.stderr, flush=True)
        sampler = Sampler(deployment.web_pid, {})
        sampler.start()
        watch_until = up_at + args.within
        while time.time() < watch_until:
            if args.settle is not None and sum(reopened) >= summary["clients_connected"]:
                watch_until = min(watch_until, time.time() + args.settle)     # all back: a few s for late snapshots
            time.sleep(0.2)
        stop.set()
        reports = [results.get(timeout=120) for _ in procs]
        for proc in procs:
            proc.join(30)

        logs = [s["log"] for rep in reports for s in rep["sockets"]]
        figures = storm_figures(logs, stopped_at, up_at, args.within)
        cpu = cpu_per_second(sampler.samples, up_at, int(args.within))
        figures.update(server_cpu_pct_per_second=cpu, server_cpu_pct_max=max(cpu) if cpu else None,
                       server_cpu_pct_mean=round(sum(cpu) / len(cpu)) if cpu else None,
                       client_cpu_pct=round(sum(rep["cpu"][-1][1] - rep["cpu"][0][1] for rep in reports)
                                            / (reports[0]["cpu"][-1][0] - reports[0]["cpu"][0][0]) * 100, 1))
        summary.update(figures)
        if figures["clients_back_within"] < summary["clients_connected"]:
            failures.append(f"only {figures['clients_back_within']} of {summary['clients_connected']} clients were "
                            f"back within {args.within:g} s")
        if figures["server_errors"]:
            failures.append(f"{figures['server_errors']} requests got a 5xx: {figures['http_statuses']}")
        if max(figures["socket_snapshots_per_client"], default=0) > 1:
            failures.append(f"clients got more than one snapshot: {figures['socket_snapshots_per_client']}")
    finally:
        tear_down(deployment, procs, sampler)
    print(json.dumps({k: v for k, v in summary.items() if not isinstance(v, list)}, indent=2))
    for key, values in summary.items():         # the per-second series, one line each
        if isinstance(values, list):
            print(f"{key}: {' '.join(map(str, values))}")
    timeline = summary.get("back_per_second_after_up", [])
    print(f"  back within {args.within:g} s: {summary.get('clients_back_within')} of {summary.get('clients_connected')}"
          f" (last {summary.get('last_back_after_up_s')} s after the server answered; peak "
          f"{max(timeline, default=0)} in one second)")
    print(f"  5xx: {summary.get('server_errors')}; socket snapshots per client after the restart: "
          f"{summary.get('socket_snapshots_per_client')}; server CPU max {summary.get('server_cpu_pct_max')} %")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run(parse_args()))
