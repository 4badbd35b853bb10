"""bench/socket_loop.py runs end to end (a tiny run; the figures are in docs/BENCHMARKS.md, "Fan-out")."""
import subprocess
import sys

from helpers import ROOT


def test_socket_loop_bench_quick_run_reports_every_case():
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "socket_loop.py"), "--sockets", "20", "--seconds", "1"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    lines = [line for line in run.stdout.splitlines() if line.startswith("sockets=20 ")]
    assert len(lines) == 4
    for line in lines:
        figures = dict(item.split("=", 1) for item in line.split(": ", 1)[1].split())
        assert int(figures["ticks"]) > 0 and float(figures["p50_ms"]) >= 0 and int(figures["frames_shared"]) > 0
