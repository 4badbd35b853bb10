"""Command-line tools run as a user runs them (a subprocess each): the replay CSV generator and the
password command (the logic behind them is covered in unit/test_sensors.py and unit/test_users_config.py)."""
import os
import subprocess
import sys

from helpers import ROOT
from services.ingest.events import validate_event
from services.security.users import UserStore
from services.simulation.replay import events_from_csv
from services.simulation.sensor import generate_sensor_csv
from services.storage.db import Database


def test_sensor_csvs_replay_as_valid_readings(tmp_path):
    path = generate_sensor_csv(tmp_path / "s.csv", assets=2, hours=3)
    groups = events_from_csv(path)
    assert [offset for offset, _ in groups] == [0.0, 3600.0, 7200.0]
    events = [validate_event(e) for _, batch in groups for e in batch]
    assert len(events) == 24 and {e["sensor_type"] for e in events} == {"temperature", "vibration", "pressure", "current"}
    out = subprocess.run([sys.executable, "-m", "services.simulation.replay", str(tmp_path / "g.csv"), "--generate", "--profile",
                          "sensor", "--assets", "1", "--hours", "2"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "wrote 8 rows" in out.stdout


def test_the_command_line_sets_a_password_read_from_stdin(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    users = UserStore(Database(tmp_path / "pulseboard.db"))
    users.create("dan", "old-password-1", "admin")
    run = lambda *args, stdin: subprocess.run([sys.executable, "-m", "services.security.users", *args], input=stdin,  # noqa: E731
                                              text=True, cwd=ROOT, env=env, capture_output=True)
    done = run("passwd", "dan", stdin="new-password-1\n")
    assert done.returncode == 0 and "new-password-1" not in done.stdout + done.stderr
    assert users.authenticate("dan", "new-password-1") and users.authenticate("dan", "old-password-1") is None
    assert run("passwd", "nobody", stdin="new-password-1\n").returncode == 2
    short = run("passwd", "dan", stdin="short\n")
    assert short.returncode == 2 and "at least 8" in short.stderr
