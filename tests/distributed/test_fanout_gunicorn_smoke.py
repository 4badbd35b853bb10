"""bench/fanout.py runs end to end against one gunicorn gevent web worker fed through Redis (a tiny run)."""
import subprocess
import sys

from helpers import ROOT


def test_fanout_bench_gunicorn_quick_run():
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "fanout.py"), "--quick", "--mode", "gunicorn"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    figures = dict(item.split("=", 1) for item in run.stdout.strip().splitlines()[-1].split())
    assert figures["mode"] == "gunicorn" and figures["clients_connected"] == "10"
    assert float(figures["frames_per_client_s"]) > 0 and float(figures["processed_events_s"]) > 0
