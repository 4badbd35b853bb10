"""bench/fanout.py runs end to end in embedded mode (a tiny run; the figures are in docs/BENCHMARKS.md; the
gunicorn mode starts redis-server: distributed/test_fanout_gunicorn_smoke.py)."""
import subprocess
import sys

from helpers import ROOT

FIGURES = ("clients_connected", "offered_events_s", "processed_events_s", "frames_per_client_s", "latency_ms_p50",
           "latency_ms_p99", "latency_ms_max", "rss_before_mb", "rss_per_connection_kb", "rss_after_mb",
           "threads_connected", "server_cpu_pct", "client_cpu_pct")


def test_fanout_bench_quick_run_reports_every_figure():
    # 10 sockets over 2 users (--quick: 5 per user) and 2 client processes
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "fanout.py"), "--quick", "--client-procs", "2"],
                         capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    figures = dict(item.split("=", 1) for item in run.stdout.strip().splitlines()[-1].split())
    for key in FIGURES:
        assert key in figures and figures[key] != "None", key
    assert figures["clients_connected"] == "10"
    assert float(figures["frames_per_client_s"]) > 0 and float(figures["processed_events_s"]) > 0
