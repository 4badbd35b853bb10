"""What bench/soak.py watches: the one real browser on the Live page, the server processes, their logs.

`SoakSampler` adds open file descriptors (and the other processes of gunicorn mode) to
bench/fanout_server.py's Sampler; `scan_logs` finds ERROR / CRITICAL / Traceback lines; `chromium_cpu` is
the browser's CPU time (a load generator on the same 2 cores must be shown not to be the bottleneck).

`LivePage` is headless Chromium signed in as the admin on the Live page, read through CDP. Why a real
browser: a leak in the page (DOM nodes, listeners, points kept forever) or a main thread that falls behind
the stream only shows in a browser that stays open; the asyncio clients parse no frame. What it reads,
every `sample()`:

- `Runtime.getHeapUsage` (CDP): the JS heap in use and Blink's own (DOM) heap, read at the call;
  `Performance.getMetrics`: TaskDuration (cumulative seconds of main-thread tasks), Nodes,
  JSEventListeners, Documents, the heap's total size. With `gc=True`, `HeapProfiler.collectGarbage` runs
  first, so the heap read is what is still reachable (the heap saw-tooths with GC; only the floor says
  leak). The forced GC is itself main-thread work, so it is done once per interval, not at every read.
- Long tasks: a PerformanceObserver for `longtask` (tasks over 50 ms), installed by `add_init_script`
  before any page script runs, sums their durations into `window.__soak`; the bench reads the running
  total and takes differences, so nothing is lost between reads.
- The socket badge (`Live`, `Reconnecting…`, ...) and `performance.timeOrigin` (a new value means the
  page was reloaded, which resets the counters and would hide a leak).
- Console errors and uncaught page errors, from the moment the page opens.

Playwright's sync API is bound to the thread that started it: every method here runs on the caller's
thread (bench/soak.py's main thread), and `page.wait_for_timeout` paces the run so Playwright keeps
delivering console events meanwhile.
"""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import psutil

from fanout_server import Sampler  # noqa: E402  (bench/fanout_server.py)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback \(most recent call last\)")
WARNING_LINE = re.compile(r"\bWARNING\b")
STATUS = "[data-testid=live-status]"
POINTS = "[data-testid=points-body] tr"
METRICS = ("JSHeapTotalSize", "TaskDuration", "Nodes", "JSEventListeners", "Documents")
LONG_TASKS = """
window.__soak = {ms: 0, count: 0, longest: 0};
try {
  new PerformanceObserver(list => list.getEntries().forEach(e => {
    window.__soak.ms += e.duration; window.__soak.count += 1;
    window.__soak.longest = Math.max(window.__soak.longest, e.duration);
  })).observe({type: 'longtask', buffered: true});
} catch (e) { window.__soak.unsupported = String(e); }
"""
READ = """() => {
  const s = window.__soak || {}, longest = s.longest === undefined ? null : s.longest;
  if (window.__soak) { window.__soak.longest = 0; }      // the longest task since the previous read
  return {long_ms: s.ms === undefined ? null : s.ms, long_count: s.count === undefined ? null : s.count,
          longest_ms: longest, origin: performance.timeOrigin,
          status: (document.querySelector('[data-testid=live-status]') || {}).innerText || null};
}"""
LIVE = f"""() => {{
  const badge = document.querySelector('{STATUS}');
  return badge && badge.innerText.trim() === 'Live' && document.querySelectorAll('{POINTS}').length > 0;
}}"""


def launch(playwright):
    """Debian's Chromium (never a downloaded one), headless, as the browser tests launch it."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


class LivePage:
    """The admin's Live page (`/`, the live range by default) in its own context, and its samples:
    dicts with `at` (epoch seconds), the metrics above, `gc` (True if collected first), the long-task
    running totals, `status` and `origin`."""

    def __init__(self, browser, url: str, username: str, password: str):
        self.browser, self.url, self.username, self.password = browser, url, username, password
        self.samples: list[dict] = []
        self.console_errors: list[str] = []
        self.context = self.page = self.cdp = None

    def open(self, timeout_s: float = 90) -> "LivePage":
        """Sign in through the login form and wait until the badge says Live and points are drawn."""
        self.context = self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self.context.add_init_script(LONG_TASKS)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {e}"))
        self.page.goto(self.url + "/login?next=/", timeout=timeout_s * 1000)
        self.page.fill("#username", self.username)
        self.page.fill("#password", self.password)
        self.page.click("#login-submit")
        self.page.wait_for_function(LIVE, timeout=timeout_s * 1000, polling=250)
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable", {"timeDomain": "timeTicks"})
        return self

    def sample(self, interval: int, gc: bool = False) -> dict:
        """Read the page; the row belongs to `interval` (the one a read at its end closes)."""
        if gc:
            self.cdp.send("HeapProfiler.collectGarbage")
        metrics = {m["name"]: m["value"] for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        heap = self.cdp.send("Runtime.getHeapUsage")       # read now (getMetrics agrees; this also has Blink's)
        row = {"at": time.time(), "interval": interval, "gc": gc, **{name: metrics.get(name) for name in METRICS},
               "JSHeapUsedSize": heap["usedSize"], "embedder_heap": heap.get("embedderHeapUsedSize"),
               **self.page.evaluate(READ)}
        self.samples.append(row)
        return row

    def wait(self, seconds: float) -> None:
        """Pass time on the page (Playwright dispatches console events while it waits)."""
        if seconds > 0:
            self.page.wait_for_timeout(seconds * 1000)

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


def interval_figures(samples: list[dict], i: int) -> dict:
    """The page over interval i: live heap (JS, and Blink's DOM heap: after the forced GC at the interval's
    end), the JS heap's range over all reads, long-task ms per second, main-thread busy share, DOM nodes
    and listeners at the end.

    Rates are differences of running totals between the last read of interval i-1 (the GC read that
    closed it) and the last read of interval i, over the time between them; None if the page was reloaded
    in between (the totals restarted)."""
    before = [s for s in samples if s["interval"] == i - 1]
    inside = [s for s in samples if s["interval"] == i]
    if not inside:
        return {}
    start, end = (before[-1] if before else inside[0]), inside[-1]
    heaps = [s["JSHeapUsedSize"] for s in inside]
    collected = [s for s in inside if s["gc"]]
    span = end["at"] - start["at"]
    same_page = start["origin"] == end["origin"]
    mb = lambda v: round(v / 2**20, 2) if v is not None else None   # noqa: E731
    figures = {
        "heap_live_mb": mb(collected[-1]["JSHeapUsedSize"]) if collected else None,
        "dom_heap_live_mb": mb(collected[-1]["embedder_heap"]) if collected else None,
        "heap_min_mb": mb(min(heaps)), "heap_max_mb": mb(max(heaps)),
        "long_task_ms_s": None, "long_tasks": None,
        "longest_task_ms": round(max((s["longest_ms"] or 0) for s in inside), 1),
        "main_thread_busy_pct": None, "dom_nodes": end.get("Nodes"), "js_listeners": end.get("JSEventListeners"),
        "documents": end.get("Documents"), "status_not_live": sorted({s["status"] for s in inside
                                                                       if (s["status"] or "").strip() != "Live"}),
        "reloaded": not same_page}
    if same_page and span > 0 and end["long_ms"] is not None:
        figures["long_task_ms_s"] = round((end["long_ms"] - start["long_ms"]) / span, 1)
        figures["long_tasks"] = end["long_count"] - start["long_count"]
    if span > 0 and end["TaskDuration"] is not None and start["TaskDuration"] is not None:
        figures["main_thread_busy_pct"] = round((end["TaskDuration"] - start["TaskDuration"]) / span * 100, 1)
    return figures


# -- the server side ---------------------------------------------------------------------------------------

class SoakSampler(Sampler):
    """bench/fanout_server.py's Sampler (RSS, threads, CPU twice a second) plus what a soak needs besides:
    the web process's open file descriptors (a socket or file never closed shows nowhere else), and RSS,
    fds and threads of the other processes (gunicorn mode: the pipeline worker and redis-server).
    Kept apart in `extra`, rows of (time, web fds, {name: (rss, fds, threads)}), so the base samples keep
    the shape `cpu_percent` reads."""

    def __init__(self, web_pid: int, others: dict[str, int], interval: float = 0.5):
        super().__init__(web_pid, others, interval)
        self.extra: list[tuple[float, int, dict]] = []

    def sample(self) -> tuple:
        row = super().sample()
        others = {}
        for name, proc in self.others.items():
            try:
                with proc.oneshot():
                    others[name] = (proc.memory_info().rss, proc.num_fds(), proc.num_threads())
            except psutil.Error:
                pass
        self.extra.append((row[0], self.web.num_fds(), others))
        return row


def chromium_cpu() -> float:
    """CPU seconds of every Chromium process under this one (Playwright's driver starts them)."""
    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        try:
            if "chrom" in proc.name():
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def scan_logs(workdir: Path, start: dict | None = None, end: dict | None = None) -> dict:
    """ERROR / CRITICAL / Traceback lines (and a WARNING count) in workdir/*.log between byte offsets."""
    errors, warnings = [], 0
    for path in sorted(workdir.glob("*.log")):
        data = path.read_bytes()
        text = data[(start or {}).get(path.name, 0):(end or {}).get(path.name, len(data))].decode(errors="replace")
        for line in text.splitlines():
            if ERROR_LINE.search(line):
                errors.append(f"{path.name}: {line.strip()[:300]}")
            elif WARNING_LINE.search(line):
                warnings += 1
    return {"errors": len(errors), "first": errors[:8], "warnings": warnings}
