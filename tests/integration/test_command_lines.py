"""Command-line tools run as a user runs them (a subprocess each): the replay CSV generator, the
password command (the logic behind them is covered in unit/test_sensors.py and unit/test_users_config.py),
the database migrations (`python -m services.storage.migrate`, N processes starting together,
an unreachable PostgreSQL) on SQLite and PostgreSQL, and what `python app.py` says about its first admin."""
import os
import subprocess
import sys

import pytest

from helpers import ROOT, LiveServer, free_port
from services.ingest.events import validate_event
from services.security.users import UserStore
from services.simulation.replay import events_from_csv
from services.simulation.sensor import generate_sensor_csv
from services.storage.db import Database
from services.storage.migrate import head


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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_env(request, tmp_path):
    """The environment of a process using a new, empty database on each backend."""
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    if request.param == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("postgres").new_database()
    return env


def test_the_migrate_command_upgrades_and_reports_the_revision(database_env):
    run = lambda *args: subprocess.run([sys.executable, "-m", "services.storage.migrate", *args], cwd=ROOT,  # noqa: E731
                                       env=database_env, capture_output=True, text=True, timeout=120)
    before = run("current")
    assert before.returncode == 0 and f"revision none (newest: {head()})" in before.stdout, before.stderr
    upgraded = run("upgrade")
    assert upgraded.returncode == 0 and f"revision {head()} " in upgraded.stdout, upgraded.stderr
    assert run("upgrade").returncode == 0 and f"revision {head()} " in run("current").stdout


def test_processes_starting_together_migrate_once(database_env):
    script = ("import os; from services.storage.db import Database; from services.storage.migrate import upgrade; "
              "db = Database(os.environ.get('DATABASE_URL') or os.environ['DATA_DIR'] + '/pulseboard.db', migrate=False); "
              "print(upgrade(db)); db.check()")
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=database_env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outcomes = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outcomes
    assert sorted(out.strip() for out, _ in outcomes) == ["False", "False", "False", "True"]


def test_an_unreachable_postgresql_stops_the_app_with_one_line_without_the_password(tmp_path):
    url = f"postgresql+psycopg://pulse:s3cret-pw@127.0.0.1:{free_port()}/pulse"
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": url, "PORT": str(free_port()), "SIMULATOR": "off"}
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "s3cret-pw" not in done.stderr and "cannot use the database postgresql+psycopg://pulse:***@127.0.0.1" in done.stderr


def test_a_busy_port_creates_no_admin_and_prints_no_password_and_a_set_password_is_said_to_be_ignored(tmp_path):
    """The first start makes up the admin's password and shows it once; a second `python app.py` on the same
    port stops before making one (a password printed next to "cannot listen" would be lost with the admin it
    belongs to); a later start with ADMIN_PASSWORD on the same data says that it is ignored, never what it is."""
    first = LiveServer(tmp_path / "first", ADMIN_PASSWORD="", SIMULATOR="off").start()
    try:
        shown = first.log_path.read_text()
        assert "Created admin user 'admin' with password: " in shown and "ADMIN_PASSWORD ignored" not in shown
        busy_data = tmp_path / "second"
        busy_data.mkdir()
        busy = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={**first.env, "DATA_DIR": str(busy_data), "ADMIN_PASSWORD": ""})
    finally:
        first.stop()
    assert busy.returncode != 0 and f"Port {first.port} is in use" in busy.stderr, busy.stderr     # werkzeug's words
    assert "password" not in busy.stdout + busy.stderr and "Traceback" not in busy.stderr
    assert not (busy_data / "pulseboard.db").exists()           # nothing was created before the bind failed

    again = LiveServer(tmp_path / "first", ADMIN_PASSWORD="a-new-password-nobody-sees", SIMULATOR="off")
    again.log_path.write_text("")                                # this start's output only
    again.start()
    again.stop()
    said = again.log_path.read_text()
    assert "ADMIN_PASSWORD ignored: user 'admin' already exists" in said and "Created admin user" not in said
    assert "a-new-password-nobody-sees" not in said
