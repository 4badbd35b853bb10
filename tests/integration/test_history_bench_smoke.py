"""The history benchmark runs end to end (bench/history.py --quick: both pipeline runs, a small stored
history, the three query shapes over HTTP, an export and "7 d" picked in Chromium; the figures themselves
are in docs/BENCHMARKS.md)."""
import subprocess
import sys

from helpers import ROOT


def test_history_bench_quick_run_reports_every_figure():
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "history.py"), "--quick"],
                         capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    figures = dict(item.split("=", 1) for item in run.stdout.strip().splitlines()[-1].split())
    assert set(figures) == {"throughput_ratio", "live_p99_ms", "week_one_store_p95_ms", "day_all_stores_p95_ms",
                            "hour_raw_one_dept_p95_ms", "export_rows_per_s", "export_rss_growth_mb",
                            "browser_seven_days_ms_max"}
    assert float(figures["throughput_ratio"]) > 0 and int(figures["export_rows_per_s"]) > 0
    assert '"rows": 10000' in run.stdout                      # the export streamed every row asked for
