"""The Redis pipeline benchmark runs end to end (a tiny run: a throwaway redis-server, a gunicorn web worker
and a model worker; the figures themselves are in docs/BENCHMARKS.md)."""
import subprocess
import sys

from helpers import ROOT


def test_redis_pipeline_bench_runs():
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "redis_pipeline.py"), "--quick"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "end_to_end_events_per_s=" in run.stdout and "raw_drain_events_per_s=" in run.stdout
