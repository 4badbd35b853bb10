"""Main-thread cost of the Live page in headless Chromium: long tasks (> 50 ms) per second.

    .venv/bin/python bench/live_page.py                 # SIM_RATE 2 and 10, 3 runs each
    .venv/bin/python bench/live_page.py --rates 10 --runs 1 --seconds 5
    .venv/bin/python bench/live_page.py --rates 10000 --runs 1 --seconds 15 --profile   # + where the time goes

A page that spends most of each second in long tasks answers clicks late (Playwright's clicks timed
out on it) and drains laptop batteries; the figure is what the browser's own PerformanceObserver
reports, after the page has settled for 6 s. Needs Debian's chromium (tests/run.sh installs it).
`--profile` also samples the page with Chromium's JS profiler (CDP `Profiler`) over the same seconds and
prints the functions that took the most main-thread time, per second, by themselves and with what they
called (minified names, with their script and position).
"""
from __future__ import annotations

import argparse
import collections
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from conftest import ADMIN_PASSWORD, LiveServer  # noqa: E402

OBSERVE = ("() => { window.__longTasks = []; new PerformanceObserver(l => l.getEntries().forEach("
           "e => window.__longTasks.push(e.duration))).observe({entryTypes: ['longtask']}); }")


def hot_functions(profile: dict, seconds: float, top: int = 15) -> list[str]:
    """Lines "ms/s self, ms/s total, function script:line:column", most self time first."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {child: n["id"] for n in profile["nodes"] for child in n.get("children", [])}

    def name(node_id):
        f = nodes[node_id]["callFrame"]
        script = f["url"].rsplit("/", 1)[-1].split("?")[0]
        return f"{f['functionName'] or '(anonymous)'} {script}:{f['lineNumber']}:{f['columnNumber']}"
    own, total = collections.Counter(), collections.Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"]):
        own[name(sample)] += delta
        seen, node = set(), sample
        while node is not None:
            if name(node) not in seen:
                seen.add(name(node))
                total[name(node)] += delta
            node = parent.get(node)
    return [f"{own[k] / 1000 / seconds:7.1f} {total[k] / 1000 / seconds:7.1f}  {k}" for k, _ in own.most_common(top)]


def measure(rate: float, seconds: float, profile: bool = False) -> dict:
    from playwright.sync_api import sync_playwright
    server = LiveServer(Path(tempfile.mkdtemp()), SIM_RATE=rate).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server.url + "/")
            page.fill("#username", "admin")
            page.fill("#password", ADMIN_PASSWORD)
            page.click("#login-submit")
            page.wait_for_selector("text=updated", timeout=30000)
            page.wait_for_timeout(6000)
            cdp = page.context.new_cdp_session(page) if profile else None
            if cdp is not None:
                cdp.send("Profiler.enable")
                cdp.send("Profiler.start")
            page.evaluate(OBSERVE)
            page.wait_for_timeout(seconds * 1000)
            tasks = page.evaluate("window.__longTasks")
            hot = hot_functions(cdp.send("Profiler.stop")["profile"], seconds) if cdp is not None else []
            browser.close()
    finally:
        server.stop()
    return {"rate": rate, "long_task_ms_per_s": sum(tasks) / seconds, "long_tasks": len(tasks),
            "longest_ms": max(tasks, default=0.0), "hot": hot}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[2.0, 10.0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--profile", action="store_true", help="print where the main thread's time went")
    args = parser.parse_args()
    for rate in args.rates:
        for _ in range(args.runs):
            r = measure(rate, args.seconds, args.profile)
            print(f"SIM_RATE {r['rate']:>4g}: {r['long_task_ms_per_s']:6.0f} ms of long tasks per second "
                  f"({r['long_tasks']} tasks, longest {r['longest_ms']:.0f} ms)", flush=True)
            if r["hot"]:
                print("   ms/s self  total  function (top by self time)", *r["hot"], sep="\n", flush=True)
            time.sleep(0.5)


if __name__ == "__main__":
    main()
