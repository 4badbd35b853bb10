"""The live and finance benchmarks run end to end (tiny runs; the figures themselves are in docs/BENCHMARKS.md;
the Redis pipeline bench, which starts redis-server and gunicorn: distributed/test_redis_bench_smoke.py)."""
import subprocess
import sys

from helpers import ROOT


def test_live_pipeline_bench_quick_run_reports_every_figure():
    # more clients than the per-user socket cap (WS_MAX_PER_USER, 10): the bench must raise it for them all
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "live_pipeline.py"), "--quick", "--clients", "12"],
                         capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    last = run.stdout.strip().splitlines()[-1]
    figures = dict(item.split("=", 1) for item in last.split())
    for key in ("sustained_events_per_s", "latency_ms_p50", "latency_ms_p99", "baseline_single_event_per_s",
                "speedup_vs_single", "frames_per_client_per_s", "clients_connected"):
        assert key in figures
    assert figures["clients_connected"] == "12"
    assert float(figures["sustained_events_per_s"]) > 0 and int(figures["points_received"]) > 0


def test_finance_bench_runs():
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "finance.py"), "--quick"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "seconds=" in run.stdout and "updates_per_s=" in run.stdout
