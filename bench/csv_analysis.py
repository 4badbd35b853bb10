"""Offline CSV analysis benchmark (issue 3).

    .venv/bin/python bench/csv_analysis.py            # 421,570-row Walmart-shaped file
    .venv/bin/python bench/csv_analysis.py --big      # also a 2,000,000-row file (memory and limits)
    .venv/bin/python bench/csv_analysis.py --browser  # also drop -> KPIs visible in headless Chromium

Prints, for the same file in one run: the floor (pandas read_csv + the same KPI group-bys, nothing
else) and our paths: parse (sniff, field-count scan, read, typing, validation), parse + KPIs +
chart data, and the full report (with IsolationForest anomalies, segments and risk). Each is the
best of `--repeat` runs. With --big, a child process analyses a 2,000,000-row file under the
default limits and reports its peak memory (or the limit message if refused).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from services.analysis import AnalysisError, analyze, compute_kpis, load_csv  # noqa: E402
from services.analysis.charts import chart_data  # noqa: E402
from services.analysis.kpis import period_totals  # noqa: E402
from services.analysis.synthetic import generate_walmart_csv  # noqa: E402


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def floor(path):
    df = pd.read_csv(path)
    sales = df["Weekly_Sales"]
    sales.agg(["mean", "max", "min", "std", "count"])
    sales[df["IsHoliday"]].mean()
    sales.groupby(df["Date"]).sum()
    sales.groupby(df["Store"]).agg(["sum", "mean"])


def kpis_and_charts(path):
    parsed = load_csv(path)
    totals = period_totals(parsed.df, parsed.mapping)
    compute_kpis(parsed.df, parsed.mapping, totals)
    chart_data(parsed.df, parsed.mapping, totals)


def child_big(path):
    """Run in a child process so its peak RSS is its own."""
    try:
        parsed = load_csv(path)
        report = analyze(parsed)
        outcome = f"analysed {report['rows']:,} rows"
    except AnalysisError as exc:
        outcome = f"refused: {exc.message}"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"outcome": outcome, "peak_rss_mb": round(peak_mb)}))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=421_570)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="also try a 2,000,000-row file")
    parser.add_argument("--browser", action="store_true", help="time drop -> KPIs in headless Chromium")
    parser.add_argument("--child-big", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_big:
        child_big(args.child_big)
        return 0
    with tempfile.TemporaryDirectory(prefix="pulseboard-csv-bench-") as tmp:
        path = generate_walmart_csv(Path(tmp) / "walmart.csv", rows=args.rows)
        size_mb = path.stat().st_size / 2**20
        t_floor = best(lambda: floor(path), args.repeat)
        t_parse = best(lambda: load_csv(path), args.repeat)
        t_kpis = best(lambda: kpis_and_charts(path), args.repeat)
        t_full = best(lambda: analyze(load_csv(path)), args.repeat)
        print(f"file rows={args.rows} size_mb={size_mb:.1f}")
        print(f"floor_read_csv_plus_groupbys_s={t_floor:.3f}")
        print(f"ours_parse_s={t_parse:.3f} ratio={t_parse / t_floor:.2f}x")
        print(f"ours_parse_kpis_charts_s={t_kpis:.3f} ratio={t_kpis / t_floor:.2f}x")
        print(f"ours_full_report_s={t_full:.3f} ratio={t_full / t_floor:.2f}x (adds anomalies, segments, risk)")
        if args.big:
            big = generate_walmart_csv(Path(tmp) / "big.csv", stores=45, depts=99, weeks=449, rows=2_000_000)
            out = subprocess.run([sys.executable, __file__, "--child-big", str(big)], capture_output=True, text=True)
            print(f"big_file rows=2000000 size_mb={big.stat().st_size / 2**20:.1f} {out.stdout.strip() or out.stderr[-500:]}")
        if args.browser:
            for label, csv_path in [("walmart", path)] + ([("big", big)] if args.big else []):
                seconds, responsive = browser_drop_to_kpis(csv_path, Path(tmp) / f"srv-{label}")
                print(f"browser_{label}_drop_to_kpis_s={seconds:.2f} page_responsive_during_upload={responsive}")
    return 0


def browser_drop_to_kpis(csv_path: Path, data_dir: Path) -> tuple[float, bool]:
    """Seconds from choosing the file to the Rows KPI showing the full count, in real Chromium."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from conftest import ADMIN_PASSWORD, LiveServer
    from playwright.sync_api import sync_playwright
    expected = f"{sum(1 for _ in open(csv_path, 'rb')) - 1:,}"
    server = LiveServer(data_dir, SIMULATOR="off").start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server.url + "/analysis")
            page.fill("#username", "admin")
            page.fill("#password", ADMIN_PASSWORD)
            page.click("#login-submit")
            page.wait_for_selector("[data-testid=upload-zone]")
            with page.expect_file_chooser() as chooser:
                page.click("[data-testid=upload-zone]")
            started = time.monotonic()
            chooser.value.set_files(str(csv_path))
            responsive = True
            rows_kpi = "#analysis-kpi-count"
            while page.inner_text(rows_kpi).strip() != expected:
                probe = time.monotonic()
                page.evaluate("1 + 1")                      # the tab answers script while uploading
                responsive &= time.monotonic() - probe < 0.5
                if time.monotonic() - started > 120:
                    raise RuntimeError("KPIs did not appear within 120 s")
                time.sleep(0.02)
            elapsed = time.monotonic() - started
            browser.close()
    finally:
        server.stop()
    return elapsed, responsive


if __name__ == "__main__":
    sys.exit(main())
