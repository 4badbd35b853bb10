"""The browser half of the history benchmark (issue 13): picking "7 d" on the Live page of a server that
holds the stored history, in headless Chromium, timed from the click to the chart drawn with the range.

Called by bench/history.py after the API queries, on the same server and data (10,000,000 events), so the
figure is what an analyst waits for on a week-old busy deployment. Each run switches to "1 h" first and
waits for that chart, then clicks "7 d": the page fetches the range from the API and draws it.

Figures per run: the wall time click -> drawn (performance.now() in the page), the renderer's own timing
(`window.pulseTimings.live`: the request and the points), the longest task while it happened, and how late
a zero-delay timer ran right after (the tab stays responsive when that is small).
"""
from __future__ import annotations

import shutil
import tempfile

import numpy as np

OBSERVE_LONGEST = """() => { window.__longest = 0;
    new PerformanceObserver(list => list.getEntries().forEach(e => { window.__longest = Math.max(window.__longest, e.duration); }))
      .observe({type: 'longtask'}); }"""
PICK = """label => { window.__longest = 0; window.__t1 = 0; window.__t0 = performance.now();
    Array.from(document.querySelectorAll('[data-testid=view-range] label')).find(l => l.textContent === label).click(); }"""
DRAWN = """key => (document.getElementById('live-chart').getAttribute('data-rendered') || '').startsWith(key + ':')
    && (window.__t1 = window.__t1 || performance.now())"""
TIMER_LAG = "() => new Promise(done => { const t = performance.now(); setTimeout(() => done(performance.now() - t), 0); })"


def pick(page, label: str, key: str) -> None:
    page.evaluate(PICK, label)
    page.wait_for_function(DRAWN, arg=key, timeout=30_000)


def seven_days(url: str, username: str, password: str, runs: int = 5) -> dict:
    """Sign in, open Live, then `runs` times: "1 h", then "7 d" timed."""
    from playwright.sync_api import sync_playwright
    home = tempfile.mkdtemp(prefix="pulseboard-history-browser-")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"], env={"HOME": home})
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(url + "/")
            page.fill("#username", username)
            page.fill("#password", password)
            page.click("#login-submit")
            page.wait_for_function("() => document.querySelector('[data-testid=live-status]')?.innerText.trim() === 'Live'",
                                   timeout=30_000)
            page.evaluate(OBSERVE_LONGEST)
            elapsed, fetch, points, longest, lag = [], [], [], [], []
            for _ in range(runs):
                pick(page, "1 h", "1h")
                pick(page, "7 d", "7d")
                elapsed.append(page.evaluate("window.__t1 - window.__t0"))
                timing = page.evaluate("window.pulseTimings.live")
                if timing.get("range") != "7d":
                    raise SystemExit(f"FAILED: the chart drawn was not the 7 d range: {timing}")
                fetch.append(timing["fetch_ms"])
                points.append(timing["points"])
                lag.append(page.evaluate(TIMER_LAG))
                longest.append(page.evaluate("window.__longest"))
        finally:
            browser.close()
    shutil.rmtree(home, ignore_errors=True)
    print(f"  7 d in the browser: {[round(e) for e in elapsed]} ms click -> drawn", flush=True)
    return {"runs": runs, "points": points[-1], "drawn_ms_p50": round(float(np.median(elapsed)), 1),
            "drawn_ms_max": round(max(elapsed), 1), "request_ms_p50": round(float(np.median(fetch)), 1),
            "longest_task_ms_max": round(max(longest), 1), "timer_lag_ms_max": round(max(lag), 1)}
