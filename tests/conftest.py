"""Shared fixtures: a real Pulseboard server in a subprocess, logged-in HTTP sessions, WS clients.

Integration tests talk to the server exactly as users do: over HTTP and WebSocket on a free local
port, with a throwaway DATA_DIR. Nothing here is mocked.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "test-admin-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


APP = [sys.executable, str(ROOT / "app.py")]
GUNICORN = [sys.executable, "-m", "gunicorn", "app:server"]      # reads gunicorn.conf.py
WORKER = [sys.executable, "-m", "services.runtime.worker"]


class LiveServer:
    """`python app.py` (or another web command, e.g. GUNICORN) on a free port; can be stopped and
    started again on the same port and data."""

    def __init__(self, data_dir: Path, command: list[str] = APP, **env):
        self.command = command
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.origin = self.url
        self.data_dir = data_dir
        self.env = {**os.environ, "PORT": str(self.port), "HOST": "127.0.0.1", "DATA_DIR": str(data_dir),
                    "ADMIN_PASSWORD": ADMIN_PASSWORD, "SIM_SEED": "11", "PYTHONUNBUFFERED": "1",
                    **{k: str(v) for k, v in env.items()}}
        self.log_path = data_dir / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "LiveServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/login", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:    # not listening yet, or still loading the app
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def session(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> requests.Session:
        """A logged-in requests session (through the login form, CSRF token included); its `csrf`
        attribute holds the token for form posts such as uploads and logout."""
        s = requests.Session()
        s.csrf = login_token(s, self.url)
        r = s.post(self.url + "/login", data={"username": username, "password": password, "csrf_token": s.csrf},
                   allow_redirects=False)
        assert r.status_code == 302, r.text
        s.csrf = s.get(self.url + "/api/csrf").json()["csrf_token"]    # signing in started a new session
        s.headers["X-CSRFToken"] = s.csrf
        return s

    def ws(self, session: requests.Session | None = None, origin: str | None = "same", path: str = "/ws", **kwargs):
        """A websocket-client connection (raises WebSocketBadStatusException when refused); `path` may
        carry a query (`/ws?ticket=...`)."""
        headers = {}
        if session is not None:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        origin = self.origin if origin == "same" else origin
        return websocket.create_connection(self.url.replace("http", "ws") + path, origin=origin,
                                           suppress_origin=origin is None, timeout=10, **headers, **kwargs)


def recv_json(ws, timeout: float = 10) -> dict:
    ws.settimeout(timeout)
    return json.loads(ws.recv())


def recv_until(ws, predicate, timeout: float = 10) -> dict:
    """Read messages until one satisfies `predicate`; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = recv_json(ws, max(0.1, deadline - time.monotonic()))
        if predicate(message):
            return message
    raise AssertionError("no matching message within timeout")


class Worker:
    """`python -m services.runtime.worker` with the given environment; ready once it says it is consuming."""

    def __init__(self, data_dir: Path, **env):
        self.data_dir = data_dir
        self.env = {**os.environ, "DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
                    **{k: str(v) for k, v in env.items()}}
        self.log_path = data_dir / f"worker-{free_port()}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "Worker":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(WORKER, cwd=ROOT, env=self.env, stdout=open(self.log_path, "a"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()[-3000:]}")
            if "consuming" in self.log_path.read_text():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"worker did not start:\n{self.log_path.read_text()[-3000:]}")

    @property
    def name(self) -> str:
        return f"worker-{socket.gethostname()}-{self.proc.pid}"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(5)


def close_frame(ws, timeout=10):
    """(code, reason, types of the messages before it)."""
    ws.settimeout(timeout)
    seen = []
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big"), data[2:].decode(), seen
        if opcode == websocket.ABNF.OPCODE_TEXT:
            seen.append(json.loads(data)["type"])


def login_token(session: requests.Session, url: str) -> str:
    """The CSRF token of the login form (and the session cookie that goes with it)."""
    page = session.get(url + "/login").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


class RedisServer:
    """A throwaway redis-server on a free port; can be stopped and started again.

    `persistent`: an append-only file fsynced on every write, so a stop/start keeps everything
    acknowledged (the production setting the outage test needs); otherwise nothing is kept.
    """

    def __init__(self, workdir: Path, persistent: bool = False):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.persistent = persistent
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        durability = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      *durability, "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    srv = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("server"), SIM_RATE=50).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin(server) -> requests.Session:
    return server.session()
