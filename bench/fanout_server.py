"""The server side of bench/fanout.py: the processes under test, sign-ins, and what is watched on them.

- `Deployment`: embedded (`python app.py`, the built-in simulator at SIM_RATE feeding the in-process
  pipeline) or gunicorn (a throwaway redis-server, `gunicorn app:server` with WEB_CONCURRENCY=1 — one
  gevent web worker — and one `python -m services.runtime.worker`, whose leader runs the simulator at
  SIM_RATE into the Redis stream). `web_pid` is the process that holds the sockets.
- `sign_in_users`: the admin creates bench users through the admin API (POST /api/v1/admin/users)
  and each signs in once: one session cookie per user.
- `Monitor`: one extra socket (the admin's, subscribed to `system`) keeps every system_update: the
  pipeline's `accepted` and `processed` counters and the open connection count.
- `Sampler`: RSS, threads and CPU time of the web process (and CPU of the others) twice a second.
- `profile`: py-spy on the web process for a while, summarised by own time and by total time.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import psutil
import requests
from frames import free_port  # noqa: E402  (bench/frames.py)

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-1"


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception:      # noqa: BLE001 - not up yet
            pass
        time.sleep(interval)
    raise SystemExit(f"FAILED: timed out waiting for {what}")


class Deployment:
    def __init__(self, mode: str, rate: float, sockets: int, per_user: int, workdir: Path,
                 server_env: dict[str, str] | None = None):
        self.mode, self.workdir = mode, workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}
        # The caps are raised to what the run needs (+ the monitor and some room): the defaults are
        # WS_MAX_PER_USER 10, WS_MAX_CONNECTIONS 2,000, and gunicorn's WORKER_CONNECTIONS 1,000 (gevent).
        self.env = {**os.environ, "PORT": str(self.port), "HOST": "127.0.0.1", "DATA_DIR": str(workdir / "data"),
                    "ADMIN_PASSWORD": PASSWORD, "SECRET_KEY": "bench-secret", "PYTHONUNBUFFERED": "1",
                    "SIMULATOR": "on", "SIM_RATE": f"{rate:g}", "SIM_SEED": "1",
                    "WS_MAX_PER_USER": str(max(10, per_user + 1)), "WS_MAX_CONNECTIONS": str(max(2000, sockets + 50)),
                    "WORKER_CONNECTIONS": str(max(1000, sockets + 100)), "WEB_CONCURRENCY": "1",
                    "LOG_LEVEL": "warning", **(server_env or {})}

    def _start(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "w")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def start(self) -> "Deployment":
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        if self.mode == "gunicorn":
            redis_port = free_port()
            self.env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
            self._start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--dir", str(self.workdir)])
            import redis
            wait_until(redis.Redis(port=redis_port).ping, 10, "redis-server")
            self._start("worker", [sys.executable, "-m", "services.runtime.worker"])
            wait_until(lambda: "consuming" in (self.workdir / "worker.log").read_text(), 90, "the worker")
        self.start_web()
        return self

    def start_web(self, log_name: str = "web") -> None:
        """Start the web process (again, for a restart: its log under another name) and wait until it answers."""
        cmd = ([sys.executable, "-m", "gunicorn", "app:server"] if self.mode == "gunicorn"
               else [sys.executable, str(ROOT / "app.py")])
        self._start(log_name, cmd)
        self.procs["web"] = self.procs.pop(log_name)
        wait_until(lambda: requests.get(self.url + "/login", timeout=2).status_code == 200, 90, "the web server")

    def stop_web(self, timeout: float = 60) -> None:
        """Stop the web process as an operator (or systemd, or docker stop) would: SIGTERM. Not SIGINT:
        a process started from a background job inherits SIGINT ignored."""
        proc = self.procs["web"]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout)

    @property
    def web_pid(self) -> int:
        """The process holding the sockets: app.py itself, or gunicorn's single worker (not its arbiter)."""
        proc = self.procs["web"]
        if self.mode == "gunicorn":
            children = wait_until(lambda: psutil.Process(proc.pid).children(), 30, "the gunicorn worker")
            return children[0].pid
        return proc.pid

    def other_pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items() if name != "web"}

    def log_tail(self, name: str = "web", chars: int = 2000) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def tear_down(deployment: Deployment, procs: list, *watchers) -> None:
    """Whatever failed before, never leave client processes, watcher threads or the server behind."""
    try:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for thing in watchers:
            if thing is not None:
                thing.stop()
    finally:
        deployment.stop()


# -- sessions ------------------------------------------------------------------------------------------

def _signed_in(url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(url + "/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = session.post(url + "/login", data={"username": username, "password": password, "csrf_token": token},
                     allow_redirects=False, timeout=60)
    if r.status_code != 302:
        raise SystemExit(f"FAILED: could not sign in as {username}: HTTP {r.status_code}")
    return session


def cookie_of(session: requests.Session) -> str:
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


def sign_in_users(url: str, count: int) -> tuple[requests.Session, list[str]]:
    """The admin's session, and one session cookie for each of `count` bench users (created through the
    admin API; scrypt makes each creation and sign-in cost ~0.1 s of server CPU, before anything is measured)."""
    admin = _signed_in(url, "admin", PASSWORD)
    admin.headers["X-CSRFToken"] = admin.get(url + "/api/csrf", timeout=30).json()["csrf_token"]
    cookies = []
    for i in range(count):
        name = f"bench{i:04d}"
        r = admin.post(url + "/api/v1/admin/users", json={"username": name, "password": PASSWORD, "role": "analyst"},
                       timeout=60)
        if r.status_code not in (201, 409):
            raise SystemExit(f"FAILED: could not create user {name}: HTTP {r.status_code} {r.text[:200]}")
        cookies.append(cookie_of(_signed_in(url, name, PASSWORD)))
    return admin, cookies


# -- watching the server -------------------------------------------------------------------------------

class Monitor(threading.Thread):
    """The admin's socket on `system`: every system_update with the server's time of it."""

    def __init__(self, url: str, cookie: str):
        super().__init__(name="bench-monitor", daemon=True)
        self.ws_url, self.origin, self.cookie = url.replace("http", "ws", 1) + "/ws", url, cookie
        self.updates: list[tuple[float, dict]] = []
        self.error: str | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        from websockets.sync.client import connect
        try:
            with connect(self.ws_url, origin=self.origin, additional_headers={"Cookie": self.cookie}, proxy=None,
                         compression=None, max_size=None, ping_interval=None, open_timeout=30) as ws:
                ws.send(json.dumps({"type": "subscribe", "channels": ["system"]}))
                while not self._halt.is_set():
                    try:
                        raw = ws.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    message = json.loads(raw)
                    for m in message.get("messages", []) if message["type"] == "batch" else []:
                        if m["type"] == "system_update":
                            at = datetime.fromisoformat(m["timestamp"].replace("Z", "+00:00")).timestamp()
                            self.updates.append((at, m["stats"]))
        except Exception as exc:        # noqa: BLE001 - reported with the results
            self.error = f"{type(exc).__name__}: {exc}"

    def latest(self) -> dict:
        return self.updates[-1][1] if self.updates else {}

    def within(self, t0: float, t1: float) -> list[dict]:
        return [s for t, s in self.updates if t0 <= t <= t1]

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


class Sampler(threading.Thread):
    """(time, rss bytes, threads, cpu seconds) of the web process, and cpu seconds of the others."""

    def __init__(self, web_pid: int, others: dict[str, int], interval: float = 0.5):
        super().__init__(name="bench-sampler", daemon=True)
        self.web = psutil.Process(web_pid)
        self.others = {name: psutil.Process(pid) for name, pid in others.items()}
        self.interval = interval
        self.samples: list[tuple[float, int, int, float, dict]] = []
        self._halt = threading.Event()

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        t = proc.cpu_times()
        return t.user + t.system

    def sample(self) -> tuple:
        with self.web.oneshot():
            row = (time.time(), self.web.memory_info().rss, self.web.num_threads(), self._cpu(self.web),
                   {name: self._cpu(p) for name, p in self.others.items() if p.is_running()})
        self.samples.append(row)
        return row

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            try:
                self.sample()
            except psutil.Error:
                return

    def within(self, t0: float, t1: float) -> list[tuple]:
        return [s for s in self.samples if t0 <= s[0] <= t1]

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def cpu_percent(samples: list[tuple]) -> tuple[float | None, dict]:
    """Web process CPU % (100 = one core) over the samples, and the other processes'."""
    if len(samples) < 2:
        return None, {}
    (t0, _, _, c0, o0), (t1, _, _, c1, o1) = samples[0], samples[-1]
    span = t1 - t0
    return round((c1 - c0) / span * 100, 1), {k: round((o1[k] - o0[k]) / span * 100, 1) for k in o1 if k in o0}


# -- profile -------------------------------------------------------------------------------------------

WAITS = ("Condition.wait ", "Event.wait ", "Thread.join ", ".select ", "sleep ")   # a thread waking up, not working
ROLES = (("_send_loop ", "ws senders"), ("_read_loop ", "ws readers (request threads)"),
         ("Base._thread ", "simple-websocket reader threads"), ("Pipeline._run ", "pipeline"),
         ("RedisHub", "Redis relay"), ("SimulatorSource._run ", "simulator"), ("Trainer", "model trainer"),
         ("process_request", "HTTP requests"))


def profile(pid: int, seconds: float, out: Path) -> dict | None:
    """py-spy (if installed) on `pid` for `seconds`; the raw collapsed stacks go to `out`. Samples whose
    innermost frame is a wait (a thread woken up and queueing for the GIL) are counted apart; the rest are
    summed by what the thread does (`roles`) and by function, own and total, as shares of those samples."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return None
    run = subprocess.run([spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "50",
                          "--nonblocking", "--format", "raw", "--output", str(out)],
                         capture_output=True, text=True, timeout=seconds + 60)
    if run.returncode != 0 or not out.exists():
        return {"error": (run.stderr or run.stdout)[-500:]}
    own, total, roles, everything, waiting = Counter(), Counter(), Counter(), 0, 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [re.sub(r" \(.*?/(site-packages|wt-[^/]+)/", " (", f) for f in stack.split(";")]
        n = int(count)
        everything += n
        if any(w in frames[-1] for w in WAITS):
            waiting += n
            continue
        own[frames[-1]] += n
        for f in set(frames):
            if "(threading.py:" not in f:      # Thread.run and friends: in every sample
                total[f] += n
        roles[next((role for key, role in ROLES if key in stack), "other")] += n
    working = everything - waiting

    def top(counter: Counter, most: int = 15) -> list:
        return [(f, round(n / working * 100, 1)) for f, n in counter.most_common(most)] if working else []
    return {"samples": everything, "waiting_pct": round(waiting / everything * 100, 1) if everything else None,
            "roles": top(roles), "own": top(own), "total": top(total, 25)}
