"""Replay: CSV rows become valid events, time gaps are honoured, and it works against a real server."""
import subprocess
import sys

import pytest

from helpers import ROOT, LiveServer
from services.security.apikeys import ApiKeyStore
from services.storage.db import Database
from services.ingest.events import validate_event
from services.simulation.replay import events_from_csv, replay


def test_rows_become_valid_events_grouped_by_time(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("Store,Dept,Date,Weekly_Sales,IsHoliday,Temperature\n1,1,2010-02-05,10.5,FALSE,40\n"
                    "1,2,2010-02-05,11,TRUE,41\n2,1,2010-02-12,12,FALSE,\n")
    groups = events_from_csv(path)
    assert [offset for offset, _ in groups] == [0.0, 7 * 86400.0]
    first = groups[0][1]
    assert [validate_event(e)["weekly_sales"] for e in first] == [10.5, 11.0]
    assert first[1]["is_holiday"] == 1 and first[0]["event_id"].endswith("-2")
    assert validate_event(groups[1][1][0])["temperature"] == 60.0            # an empty cell still validates
    assert events_from_csv(path)[0][1][0]["event_id"] == first[0]["event_id"]      # stable ids: idempotent


def test_time_gaps_are_divided_by_speed():
    slept, now = [], [0.0]
    groups = [(0.0, [{"e": 1}]), (10.0, [{"e": 2}]), (30.0, [{"e": 3}, {"e": 4}])]

    def sleep(seconds):
        slept.append(round(seconds, 3))
        now[0] += seconds

    sent = replay(groups, lambda batch: len(batch), speed=10, sleep=sleep, clock=lambda: now[0])
    assert sent == 4 and slept == [1.0, 2.0]
    assert replay(groups, lambda b: len(b), realtime=False, sleep=lambda s: pytest.fail("slept")) == 4


def test_replay_cli_against_a_server(tmp_path):
    csv_path = tmp_path / "gen.csv"
    gen = subprocess.run([sys.executable, "-m", "services.simulation.replay", str(csv_path), "--generate", "--stores", "2",
                          "--depts", "3", "--weeks", "4"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert gen.returncode == 0 and csv_path.exists(), gen.stderr
    srv = LiveServer(tmp_path / "srv", SIMULATOR="off").start()
    try:
        key = ApiKeyStore(Database(srv.data_dir / "pulseboard.db")).create("replay")[1]
        args = [sys.executable, "-m", "services.simulation.replay", str(csv_path), "--url", srv.url, "--api-key", key,
                "--no-realtime"]
        out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "replayed 24 events" in out.stdout, out.stderr
        again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0
        stats = srv.session().get(srv.url + "/api/live-data").json()["stats"]
        assert stats["accepted"] == 24                      # the second replay was all duplicates
    finally:
        srv.stop()
