"""bench/soak.py --quick runs end to end: 60 s of soak (20 s warm-up, then four 10 s rows) at 1,000 events/s
with 20 asyncio dashboards and one real Chromium on the Live page, charted with that Chromium.

The 30-minute soak of issue 14 is not in CI (its command and figures are in docs/BENCHMARKS.md); this proves
the machinery (every figure of every row is measured, the chart is drawn) and catches gross failures: errors
in the server's logs or the page's console, descriptors or threads that pile up, memory that runs away.
The bench itself waits on state (the pipeline processing, the sockets open, the page Live) before its clock
starts, so nothing here sleeps; its --quick bounds are for catastrophes only, as a shared CI machine slows
the page's main thread.
"""
import json
import subprocess
import sys

import pytest

from helpers import ROOT

ROW_FIGURES = ("rss_mb", "fds_min", "fds_max", "threads_min", "threads_max", "server_cpu_pct", "client_cpu_pct",
               "browser_cpu_pct", "frames_per_client_s", "latency_ms_p50", "latency_ms_p99", "offered_events_s",
               "processed_events_s", "heap_live_mb", "long_task_ms_s", "main_thread_busy_pct", "dom_nodes")


def test_soak_quick_run_measures_every_row_and_finds_nothing_growing(tmp_path):
    pytest.importorskip("playwright.sync_api")
    saved, chart = tmp_path / "soak.json", tmp_path / "soak.png"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "soak.py"), "--quick", "--json", str(saved),
                          "--chart", str(chart)], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary, _ = json.JSONDecoder().raw_decode(run.stdout)          # the printed summary comes first
    assert summary == json.loads(saved.read_text())

    rows = summary["intervals"]
    assert [r["warmup"] for r in rows] == [True, True, False, False, False, False]
    for row in rows:
        missing = [key for key in ROW_FIGURES if row.get(key) is None]
        assert not missing, (row["i"], missing)
        assert row["frames_per_client_s"] > 0 and row["processed_events_s"] > 0
        assert not row["reloaded"] and row["status_not_live"] == []
    assert summary["clients_connected"] == 20
    assert summary["log_errors"]["errors"] == 0 and summary["shutdown_log_errors"]["errors"] == 0, summary["log_errors"]
    assert summary["console_errors"]["errors"] == 0, summary["console_errors"]

    first, last = rows[2], rows[-1]                                 # the first judged row against the last
    assert last["fds_min"] - first["fds_min"] <= 2 and last["threads_min"] - first["threads_min"] <= 2
    assert (last["rss_mb"] - first["rss_mb"]) / first["rss_mb"] <= 0.25
    assert summary["failures"] == [] and all(line.startswith("ok") for line in summary["verdicts"])
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 20_000
