"""Soak benchmark (issue 14): full load for half an hour, watched for anything that grows.

    .venv/bin/python bench/soak.py                              # 30 min, 10,000 events/s, 200 clients, embedded
    .venv/bin/python bench/soak.py --mode gunicorn --json soak-gunicorn.json --chart docs/soak-gunicorn.png
    .venv/bin/python bench/soak.py --minutes 2 --warmup-minutes 0.5 --interval 20 --rate 2000 --clients 50
    .venv/bin/python bench/soak.py --quick --chart /tmp/soak.png  # 60 s smoke run (tests/browser/test_soak_smoke.py)
    .venv/bin/python bench/soak_chart.py --from-json soak.json --out docs/soak.png   # re-chart a saved run

Not in CI (it takes --minutes); the 60 s `--quick` version is. What runs is bench/fanout.py's deployment
(`--mode embedded`: `python app.py` with the simulator at SIM_RATE=--rate; `--mode gunicorn`: redis-server,
one gevent web worker, one pipeline worker) and its asyncio clients (bench/fanout_clients.py, subscribed
to iot/alerts/kpis/health, in spawned processes), plus ONE headless Chromium signed in as the admin on the
Live page (bench/soak_watch.py). Phases: start, sign in, pipeline running, clients connect, Chromium
opens the Live page and shows points, then --minutes of soak cut into intervals of --interval seconds;
the first --warmup-minutes (5: the rolling KPI window fills for 300 s, so memory grows by design until
then) are recorded and charted but not judged. One row per interval (the JSON's
`intervals`; a progress line on stderr as each ends): web process RSS (median, max), open fds and threads
(min, max: a leak raises the floor, a request in flight only the max), server / client / Chromium CPU,
frames per client per second and event -> frame p50/p99 (from the clients' records), events/s offered
and processed (the `system` channel), the page's JS heap after a forced GC, its long-task ms per second
and main-thread busy share (CDP and a PerformanceObserver).

Verdicts (exit 1 with `FAILED: ...` lines when one is missed), first judged interval against the last:
RSS growth <= --rss-growth-pct (5 %) on medians; fd and thread floors grow by at most --flat-tolerance
(2); JS heap after GC grows <= --heap-growth-pct (10 %); long tasks < --long-task-ms (300) ms/s in every
judged interval; no ERROR / CRITICAL / Traceback line in the deployment's logs (workdir/*.log, shutdown
included) and no console or page error in Chromium; the page stayed Live (no reload, badge `Live` at
every sample); every client connected and none ended early; the pipeline kept up over the judged span
(bench/fanout.py's rule). --quick (60 s: 20 s warm-up + 4 rows of 10 s, 1,000 events/s, 20 clients)
keeps these checks but with bounds for catastrophes only (RSS 25 %, heap 50 %, long tasks 900 ms/s): it
proves the machinery on a busy CI machine, the full run judges the server. The chart (bench/soak_chart.py)
goes to --chart (docs/soak.png; none with --quick unless asked) and the whole summary to --json.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import client_cpu, fell_behind, pipeline_figures, window_figures  # noqa: E402
from fanout_clients import start_client_processes  # noqa: E402
from fanout_server import (PASSWORD, Deployment, Monitor, cookie_of, cpu_percent, sign_in_users,  # noqa: E402
                           tear_down, wait_until)
from soak_watch import LivePage, SoakSampler, chromium_cpu, interval_figures, launch, scan_logs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("embedded", "gunicorn"), default="embedded")
    p.add_argument("--minutes", type=float, default=30, help="soak length, warm-up included")
    p.add_argument("--warmup-minutes", type=float, default=5,
                   help="first minutes recorded but not judged (5: the rolling KPI window is 300 s)")
    p.add_argument("--interval", type=float, default=60, help="seconds per row (and chart point)")
    p.add_argument("--rate", type=float, default=10000, help="SIM_RATE: events/s the simulator offers")
    p.add_argument("--clients", type=int, default=200, help="asyncio dashboards (besides the Chromium)")
    p.add_argument("--per-user", type=int, default=50, help="sockets per bench user")
    p.add_argument("--client-procs", type=int, default=None, help="client processes (default 1 per 250 sockets)")
    p.add_argument("--no-deflate", action="store_true", help="clients do not offer permessage-deflate")
    p.add_argument("--browser-every", type=float, default=10, help="seconds between plain reads of the page")
    p.add_argument("--margin", type=float, default=0.02, help="backlog growth allowed, share of offered")
    p.add_argument("--rss-growth-pct", type=float, default=5.0)
    p.add_argument("--heap-growth-pct", type=float, default=10.0)
    p.add_argument("--long-task-ms", type=float, default=300.0, help="long-task ms per second, every interval")
    p.add_argument("--flat-tolerance", type=int, default=2, help="fds/threads floor may grow by this many")
    p.add_argument("--chart", type=Path, default=None, help="PNG of the curves (default docs/soak.png)")
    p.add_argument("--no-chart", action="store_true")
    p.add_argument("--json", type=Path, default=None, help="write the whole summary here")
    p.add_argument("--quick", action="store_true", help="60 s smoke run: 20 clients, 1,000 events/s, 10 s rows, "
                   "bounds for catastrophes only (RSS 25 %%, heap 50 %%, long tasks 900 ms/s)")
    args = p.parse_args(argv)
    if args.quick:
        args.minutes, args.warmup_minutes, args.interval, args.rate, args.clients = 1, 20 / 60, 10, 1000, 20
        args.per_user, args.browser_every = 10, 5
        args.rss_growth_pct, args.heap_growth_pct = max(args.rss_growth_pct, 25.0), max(args.heap_growth_pct, 50.0)
        args.long_task_ms = max(args.long_task_ms, 900.0)
    elif args.chart is None:
        args.chart = ROOT / "docs" / "soak.png"
    if args.no_chart:
        args.chart = None
    args.n_intervals = max(1, round(args.minutes * 60 / args.interval))
    args.n_warmup = math.ceil(args.warmup_minutes * 60 / args.interval - 1e-9)
    if args.n_intervals - args.n_warmup < 2:
        p.error("need at least two intervals after the warm-up (--minutes, --warmup-minutes, --interval)")
    args.client_procs = args.client_procs or max(1, min(4, math.ceil(args.clients / 250)))
    return args


# -- the soak itself -------------------------------------------------------------------------------------

def soak(args, live: LivePage, sampler: SoakSampler, monitor: Monitor, t0: float, cpu_marks: list) -> None:
    """Pace the run: a plain page read every --browser-every s, a read after a forced GC at each interval's
    end (the GC is main-thread work: once per interval keeps it out of the long-task figure), and a
    progress line per interval from what is known before the clients report."""
    cpu_marks.append((t0, chromium_cpu()))
    live.sample(-1, gc=True)
    for i in range(args.n_intervals):
        a, b = t0 + i * args.interval, t0 + (i + 1) * args.interval
        k = 1
        while a + k * args.browser_every < b - 0.5:
            live.wait(a + k * args.browser_every - time.time())
            live.sample(i)
            k += 1
        live.wait(b - time.time())
        cpu_marks.append((time.time(), chromium_cpu()))
        live.sample(i, gc=True)
        row = interval_row(args, i, t0, sampler, monitor, live.samples, cpu_marks)
        r = row.get
        print(f"[{i + 1}/{args.n_intervals}{' warm-up' if r('warmup') else ''}] {r('t_min'):g} min: RSS {r('rss_mb')} "
              f"MB, fds {r('fds_min')}-{r('fds_max')}, threads {r('threads_min')}-{r('threads_max')}, server CPU "
              f"{r('server_cpu_pct')} %, pipeline {r('processed_events_s')} of {r('offered_events_s')} ev/s, JS heap "
              f"{r('heap_live_mb')} MB, long tasks {r('long_task_ms_s')} ms/s, Chromium CPU {r('browser_cpu_pct')} %",
              file=sys.stderr, flush=True)


def interval_row(args, i: int, t0: float, sampler: SoakSampler, monitor: Monitor, page_samples: list,
                 cpu_marks: list, records: list | None = None, reports: list | None = None) -> dict:
    """Everything about interval i; the client figures only once the clients have reported."""
    a, b = t0 + i * args.interval, t0 + (i + 1) * args.interval
    samples = sampler.within(a, b)
    extra = [e for e in sampler.extra if a <= e[0] <= b]
    mb = lambda v: round(v / 2**20, 1)      # noqa: E731
    row = {"i": i, "t_min": round((b - t0) / 60, 3), "seconds": args.interval, "warmup": i < args.n_warmup}
    if samples:
        rss, threads = [s[1] for s in samples], [s[2] for s in samples]
        row.update(rss_mb=mb(np.median(rss)), rss_mb_max=mb(max(rss)), threads_min=min(threads),
                   threads_max=max(threads))
    if extra:
        fds = [e[1] for e in extra]
        row.update(fds_min=min(fds), fds_max=max(fds), others={
            name: {"rss_mb": mb(np.median([e[2][name][0] for e in extra if name in e[2]])),
                   "fds_min": min(e[2][name][1] for e in extra if name in e[2]),
                   "threads_min": min(e[2][name][2] for e in extra if name in e[2])}
            for name in sampler.others if any(name in e[2] for e in extra)})
    cpu, others = cpu_percent(samples)
    row.update(server_cpu_pct=cpu, other_cpu_pct=others, browser_cpu_pct=None)
    if len(cpu_marks) > i + 1:      # marks: the soak's start, then each interval's end
        (ta, ca), (tb, cb) = cpu_marks[i], cpu_marks[i + 1]
        row["browser_cpu_pct"] = round((cb - ca) / (tb - ta) * 100, 1)
    pipe = pipeline_figures([(at, s) for at, s in monitor.updates if a <= at <= b])
    row.update({k: pipe.get(k) for k in ("offered_events_s", "processed_events_s", "backlog_growth",
                                         "queue_depth_end")})
    if records is not None:
        active = window_figures(records, a, b, ("active",)).get("active", {})
        row.update(frames_per_client_s=active.get("frames_per_client_s_mean"),
                   frames_per_client_s_min=active.get("frames_per_client_s_min"),
                   latency_ms_p50=active.get("latency_ms_p50"), latency_ms_p99=active.get("latency_ms_p99"),
                   latency_ms_max=active.get("latency_ms_max"), client_cpu_pct=client_cpu(reports, a, b))
    row.update(interval_figures(page_samples, i))
    return row


def run(args) -> int:
    from playwright.sync_api import sync_playwright
    workdir = Path(tempfile.mkdtemp(prefix="pulseboard-soak-"))
    deployment = Deployment(args.mode, args.rate, args.clients, args.per_user, workdir)
    summary: dict = {"mode": args.mode, "rate_nominal": args.rate, "clients_asked": args.clients,
                     "minutes": args.minutes, "warmup_minutes": args.warmup_minutes, "interval_s": args.interval,
                     "client_procs": args.client_procs, "per_user": args.per_user, "deflate": not args.no_deflate,
                     "workdir": str(workdir), "other_processes": []}
    failures: list[str] = []
    procs, sampler, monitor, live, reports, cpu_marks = [], None, None, None, [], []
    with sync_playwright() as pw:
        browser = None
        try:
            started = time.monotonic()
            deployment.start()
            summary["startup_s"] = round(time.monotonic() - started, 1)
            admin, cookies = sign_in_users(deployment.url, math.ceil(args.clients / args.per_user))
            monitor = Monitor(deployment.url, cookie_of(admin))
            monitor.start()
            wait_until(lambda: monitor.latest().get("processed", 0) > 0, 90, "the pipeline to process events")
            sampler = SoakSampler(deployment.web_pid, deployment.other_pids())
            summary["other_processes"] = sorted(sampler.others)
            sampler.start()
            print(f"web process {deployment.web_pid} ({deployment.url}), logs in {workdir}", file=sys.stderr,
                  flush=True)

            plan = [(cookies[i // args.per_user], "active") for i in range(args.clients)]
            open_idle, stop, status, results = start_client_processes(plan, args.client_procs, deployment.url,
                                                                      not args.no_deflate, procs)
            connected, reasons = 0, []
            for _ in procs:      # each process reports once all its sockets are open or refused
                _, _, _, n, why = status.get(timeout=120 + args.clients * 0.1)
                connected, reasons = connected + n, reasons + why
            summary["clients_connected"] = connected
            if connected < args.clients:
                failures.append(f"asked for {args.clients} clients, only {connected} connected"
                                + (f" ({'; '.join(sorted(set(reasons))[:3])})" if reasons else ""))

            browser = launch(pw)
            live = LivePage(browser, deployment.url, "admin", PASSWORD).open()
            t0 = time.time()
            summary["soak_started_s"] = round(time.monotonic() - started, 1)
            soak(args, live, sampler, monitor, t0, cpu_marks)
            summary["soak_ended_s"] = round(time.monotonic() - started, 1)
            summary["console_errors"] = {"errors": len(live.console_errors), "first": live.console_errors[:8]}
            marks = {p.name: p.stat().st_size for p in workdir.glob("*.log")}
            live.close()
            stop.set()
            reports = [results.get(timeout=300) for _ in procs]
            for proc in procs:
                proc.join(30)
        finally:
            tear_down(deployment, procs, monitor, sampler)
        summary["log_errors"] = scan_logs(workdir, end=marks)
        summary["shutdown_log_errors"] = scan_logs(workdir, start=marks)
        records = [s for rep in reports for s in rep["sockets"]]
        ended = sorted({r["ended"] for r in records if r["ended"]})
        if ended:
            failures.append(f"{sum(1 for r in records if r['ended'])} sockets ended before the end: "
                            f"{'; '.join(ended[:3])}")
        if monitor.error:
            failures.append(f"the monitor's socket failed: {monitor.error}")
        rows = [interval_row(args, i, t0, sampler, monitor, live.samples, cpu_marks, records, reports)
                for i in range(args.n_intervals)]
        summary["intervals"] = rows
        judged_from, t_end = t0 + args.n_warmup * args.interval, t0 + args.n_intervals * args.interval
        overall = pipeline_figures([(at, s) for at, s in monitor.updates if judged_from <= at <= t_end])
        summary["pipeline"] = overall
        summary["latency"] = window_figures(records, judged_from, t_end, ("active",)).get("active", {})
        summary["client_cpu_pct"] = client_cpu(reports, judged_from, t_end) if reports else None
        if fell_behind(overall, args.margin):
            failures.append(f"the pipeline processed {overall['processed_events_s']} events/s of "
                            f"{overall['offered_events_s']} offered after the warm-up (backlog grew by "
                            f"{overall['backlog_growth']})")
        lines, missed = verdicts(summary, rows, args)
        summary["verdicts"], summary["failures"] = lines, failures + missed
        if args.chart is not None and rows:
            from soak_chart import write_png
            summary["chart"] = str(write_png(summary, args.chart, browser))
        summary["finished_s"] = round(time.monotonic() - started, 1)
        browser.close()
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=1))
    report(summary)
    for failure in summary["failures"]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if summary["failures"] else 0


# -- verdicts ---------------------------------------------------------------------------------------------

def growth_pct(first, last) -> float | None:
    return round((last - first) / first * 100, 1) if first and last is not None else None


def verdicts(summary: dict, rows: list[dict], args) -> tuple[list[str], list[str]]:
    """The target checks in words (first judged interval against the last), and those missed."""
    judged = [r for r in rows if not r["warmup"]]
    first, last = judged[0], judged[-1]
    span = f"minute {first['t_min']:g} -> {last['t_min']:g}"
    lines, missed = [], []

    def check(ok: bool, text: str) -> None:
        lines.append(("ok      " if ok else "MISSED  ") + text)
        if not ok:
            missed.append(text)

    rss = growth_pct(first.get("rss_mb"), last.get("rss_mb"))
    check(rss is not None and rss <= args.rss_growth_pct, f"web RSS growth after warm-up <= {args.rss_growth_pct:g} %: "
          f"{rss} % ({first.get('rss_mb')} -> {last.get('rss_mb')} MB, interval medians, {span})")
    for name in summary.get("other_processes", []):
        if name == "redis":        # its memory is the stream's backlog, judged by the pipeline check
            continue
        a, b = (first.get("others") or {}).get(name, {}), (last.get("others") or {}).get(name, {})
        g = growth_pct(a.get("rss_mb"), b.get("rss_mb"))
        check(g is not None and g <= args.rss_growth_pct, f"{name} RSS growth <= {args.rss_growth_pct:g} %: {g} % "
              f"({a.get('rss_mb')} -> {b.get('rss_mb')} MB)")
    tol = args.flat_tolerance
    for what, key in (("open fds", "fds"), ("threads", "threads")):
        lo0, lo1 = first.get(f"{key}_min"), last.get(f"{key}_min")
        check(lo0 is not None and lo1 is not None and lo1 - lo0 <= tol,
              f"{what} flat (floor grows <= {tol}): floor {lo0} -> {lo1}, max {first.get(f'{key}_max')} -> "
              f"{last.get(f'{key}_max')}")
    heap = growth_pct(first.get("heap_live_mb"), last.get("heap_live_mb"))
    check(heap is not None and heap <= args.heap_growth_pct, f"Live page JS heap growth (after GC) <= "
          f"{args.heap_growth_pct:g} %: {heap} % ({first.get('heap_live_mb')} -> {last.get('heap_live_mb')} MB; "
          f"DOM nodes {first.get('dom_nodes')} -> {last.get('dom_nodes')})")
    long_tasks = [(r.get("long_task_ms_s"), r["t_min"]) for r in judged]
    worst = max(long_tasks, key=lambda v: -1 if v[0] is None else v[0])
    check(all(v is not None and v < args.long_task_ms for v, _ in long_tasks),
          f"Live page long tasks < {args.long_task_ms:g} ms/s in every interval: worst {worst[0]} ms/s "
          f"(minute {worst[1]:g}), mean {round(np.mean([v or 0 for v, _ in long_tasks]), 1)}")
    logs, shutdown, console = summary["log_errors"], summary["shutdown_log_errors"], summary["console_errors"]
    check(logs["errors"] == 0 and shutdown["errors"] == 0,
          f"no error in the server logs: {logs['errors']} during the run, {shutdown['errors']} at shutdown "
          f"({logs['warnings'] + shutdown['warnings']} warnings)" + "".join(f"\n          {e}" for e in
                                                                             (logs["first"] + shutdown["first"])[:5]))
    check(console["errors"] == 0, f"no console or page error in Chromium: {console['errors']}"
          + "".join(f"\n          {e[:200]}" for e in console["first"][:5]))
    not_live = sorted({s for r in rows for s in r.get("status_not_live", [])})
    reloaded = any(r.get("reloaded") for r in rows)
    check(not not_live and not reloaded, f"the Live page stayed Live: badge otherwise {not_live or 'never'}, "
          f"{'reloaded' if reloaded else 'never reloaded'}")
    return lines, missed


def report(summary: dict) -> None:
    """The whole summary as JSON, the verdicts in words, the recorded (not judged) figures, and one
    key=value line of the main figures."""
    print(json.dumps(summary, indent=1))
    print("\n".join("  " + line for line in summary.get("verdicts", [])))
    pipe, lat = summary.get("pipeline", {}), summary.get("latency", {})
    print(f"  recorded: pipeline processed {pipe.get('processed_events_s')} of {pipe.get('offered_events_s')} "
          f"events/s offered (nominal {summary['rate_nominal']:g}); frames/client/s "
          f"{lat.get('frames_per_client_s_mean')} (min {lat.get('frames_per_client_s_min')}); event -> frame p50 "
          f"{lat.get('latency_ms_p50')} ms, p99 {lat.get('latency_ms_p99')} ms; client CPU "
          f"{summary.get('client_cpu_pct')} %")
    rows = [r for r in summary.get("intervals", []) if not r["warmup"]]
    if rows:
        first, last = rows[0], rows[-1]
        flat = {"mode": summary["mode"], "clients_connected": summary.get("clients_connected"),
                "offered_events_s": pipe.get("offered_events_s"), "processed_events_s": pipe.get("processed_events_s"),
                "rss_first_mb": first.get("rss_mb"), "rss_last_mb": last.get("rss_mb"),
                "rss_growth_pct": growth_pct(first.get("rss_mb"), last.get("rss_mb")),
                "fds_first": first.get("fds_min"), "fds_last": last.get("fds_min"),
                "threads_first": first.get("threads_min"), "threads_last": last.get("threads_min"),
                "heap_first_mb": first.get("heap_live_mb"), "heap_last_mb": last.get("heap_live_mb"),
                "heap_growth_pct": growth_pct(first.get("heap_live_mb"), last.get("heap_live_mb")),
                "long_task_ms_s_max": max((r.get("long_task_ms_s") or 0) for r in rows),
                "latency_ms_p99": lat.get("latency_ms_p99"), "frames_per_client_s": lat.get("frames_per_client_s_mean"),
                "log_errors": summary["log_errors"]["errors"] + summary["shutdown_log_errors"]["errors"],
                "console_errors": summary["console_errors"]["errors"], "client_cpu_pct": summary.get("client_cpu_pct")}
        print(" ".join(f"{k}={v}" for k, v in flat.items()))


if __name__ == "__main__":
    sys.exit(run(parse_args()))
