"""The shared-database benchmarks run end to end (the figures themselves are in docs/BENCHMARKS.md): the
Live snapshot bench on a small table, and one distributed pipeline run on PostgreSQL with an alert storm
(what bench/shared_database.py repeats and compares)."""
import json
import subprocess
import sys

from helpers import ROOT


def test_live_snapshot_bench_quick_run_reports_every_shape(postgres):
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "live_snapshot.py"), "--quick"],
                         capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    for shape in ("snapshot (latest 20 + KPIs)", "reconnect (+50 missed alerts)", "filtered (store 5, dept 3)",
                  "AlertStore.recent(20), in process"):
        assert shape in run.stdout, run.stdout
    assert "snapshot p99" in run.stdout.splitlines()[-1]


def test_a_storm_run_on_postgresql_stores_the_storm_as_alerts(postgres, tmp_path):
    out = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "redis_pipeline.py"), "--quick", "--storm", "300",
                          "--database-url", postgres.new_database(), "--json", str(out)],
                         capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["database"] == "postgresql" and figures["storm_offered_per_s"] >= 290
    # every storm reading is CRITICAL, so each one is an alert once the stream is drained (the rate over the
    # short quick phase only shows that they are stored while the storm runs: a 2 s window on a busy host)
    assert figures["refused"] == 0, figures
    assert figures["storm_alerts_stored"] == figures["storm_readings_offered"] > 0, figures
    assert figures["alerts_stored_per_s"] > 0, figures
    assert figures["end_to_end_events_per_s"] > 0
