"""Long command-line work shows progress to a person and a summary to everyone: replay, the simulator with
--duration and `migrate upgrade` draw a bar with the rate and the time left on stderr when it is a terminal
(a pseudo-terminal here), none with --quiet or in a pipe, and always end with one summary line on stdout."""
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from helpers import ROOT, LiveServer
from services.security.apikeys import ApiKeyStore
from services.storage.db import Database
from services.storage.migrate import head


def run(args: list[str], env: dict, on_a_terminal: bool, timeout: float = 90) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a command whose stderr is a 120-column terminal, or a pipe."""
    if not on_a_terminal:
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=follower,
                            stdin=subprocess.DEVNULL)
    os.close(follower)
    shown, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([leader], [], [], deadline - time.monotonic())[0]:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:                     # EIO: the command closed the terminal (it exited)
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    stdout = proc.stdout.read().decode()
    return proc.wait(timeout), stdout, shown.decode(errors="replace")


def test_migrate_upgrade_shows_its_revisions_on_a_terminal_and_sums_up(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    code, out, err = run([sys.executable, "-m", "services.storage.migrate", "upgrade"], env, on_a_terminal=True)
    assert code == 0, err
    assert "migrating" in err and "revision/s" in err                        # the bar, with its rate
    assert re.search(rf"upgraded from revision none to {head()}: \d+ migrations in \d+\.\d s", out), out
    code, out, err = run([sys.executable, "-m", "services.storage.migrate", "upgrade"], env, on_a_terminal=True)
    assert code == 0 and "nothing to upgrade" in out and "migrating" not in err


def test_migrate_upgrade_in_a_pipe_or_quiet_draws_no_bar(tmp_path):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "piped")}
    env.pop("DATABASE_URL", None)
    code, out, err = run([sys.executable, "-m", "services.storage.migrate", "upgrade"], env, on_a_terminal=False)
    assert code == 0 and "upgraded from revision none" in out and err == "", err
    env["DATA_DIR"] = str(tmp_path / "quiet")
    code, out, err = run([sys.executable, "-m", "services.storage.migrate", "upgrade", "--quiet"], env,
                         on_a_terminal=True)
    assert code == 0 and "upgraded from revision none" in out and "migrating" not in err, err


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("cli"), SIMULATOR="off").start()
    server.key = ApiKeyStore(Database(server.data_dir / "pulseboard.db")).create("cli-progress")[1]
    yield server
    server.stop()


def test_replay_shows_the_events_sent_and_sums_up(srv, tmp_path):
    csv_path = tmp_path / "sales.csv"
    subprocess.run([sys.executable, "-m", "services.simulation.replay", str(csv_path), "--generate", "--stores", "2",
                    "--depts", "3", "--weeks", "4"], cwd=ROOT, check=True, capture_output=True, timeout=60)
    replay = [sys.executable, "-m", "services.simulation.replay", str(csv_path), "--url", srv.url, "--api-key", srv.key,
              "--speed", str(7 * 86400 * 2)]              # weekly rows half a second apart: 1.5 s in all
    code, out, err = run(replay, dict(os.environ), on_a_terminal=True)
    assert code == 0, err
    assert "replaying" in err and "event/s" in err and "/24" in err          # count of total, rate
    assert re.search(r"<\d\d:\d\d", err), err                               # the time left
    assert re.search(rf"replayed 24 events from {re.escape(str(csv_path))} in \d+\.\d s \([\d,.]+ events/s\)", out)
    code, out, err = run([*replay, "--no-realtime", "--quiet"], dict(os.environ), on_a_terminal=True)
    assert code == 0 and "replayed 24 events" in out and "replaying" not in err


def test_the_simulator_with_a_duration_shows_how_far_it_is_and_sums_up(srv):
    simulator = [sys.executable, "-m", "services.simulation.simulator", "--url", srv.url, "--api-key", srv.key,
                 "--rate", "40", "--interval", "0.2", "--duration", "2", "--seed", "5"]
    code, out, err = run(simulator, dict(os.environ), on_a_terminal=True)
    assert code == 0, err
    assert "simulating" in err and "event/s" in err and "/80" in err and re.search(r"<\d\d:\d\d", err), err
    sent = re.search(r"sent (\d+) events \(0 duplicates\) in \d+\.\d s \([\d,.]+ events/s\)", out)
    assert sent and 40 <= int(sent.group(1)) <= 90, out
    code, out, err = run(simulator, dict(os.environ), on_a_terminal=False)
    assert code == 0 and out.startswith("sent ") and err == "", err
