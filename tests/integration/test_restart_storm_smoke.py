"""bench/restart_storm.py runs end to end (a tiny run: 20 reconnecting clients; the figures of 500 are in
docs/BENCHMARKS.md, "Restart storm"): the server is stopped, every socket is told 1012, and every client
is back on the new server, with one snapshot each and no 5xx."""
import json
import subprocess
import sys

from helpers import ROOT


def test_restart_storm_quick_run_brings_every_client_back():
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "restart_storm.py"), "--quick", "--within", "30",
                          "--settle", "4"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    summary = json.loads(run.stdout[:run.stdout.index("\n}") + 2])
    assert summary["clients_connected"] == summary["clients_back_within"] == 20
    assert summary["close_codes_at_the_stop"] == {"1012": 20}
    assert summary["server_errors"] == 0 and summary["socket_snapshots_per_client"] == {"1": 20}
