"""Shared test helpers (plain functions, classes and constants; fixtures live in the conftest.py files).

Imported as `from helpers import ...` (pytest.ini puts tests/ on sys.path). A real Pulseboard server in a
subprocess (LiveServer), a worker process (Worker), a throwaway redis-server (RedisServer), WebSocket
reading helpers, and the helpers browser tests share. Integration tests talk to the server exactly as users
do: over HTTP and WebSocket on a free local port, with a throwaway DATA_DIR. Nothing here is mocked.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "test-admin-pass"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


APP = [sys.executable, str(ROOT / "app.py")]
GUNICORN = [sys.executable, "-m", "gunicorn", "app:server"]      # reads gunicorn.conf.py
WORKER = [sys.executable, "-m", "services.runtime.worker"]


class LiveServer:
    """`python app.py` (or another web command, e.g. GUNICORN, possibly behind a prefix such as
    `ip netns exec <ns>`) on a free port of `host`; can be stopped and started again on the same port
    and data."""

    def __init__(self, data_dir: Path, command: list[str] = APP, host: str = "127.0.0.1", **env):
        self.command = command
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self.origin = self.url
        self.data_dir = data_dir
        self.env = {**os.environ, "PORT": str(self.port), "HOST": host, "DATA_DIR": str(data_dir),
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
        """SIGTERM, as kill, systemd and docker stop: both servers end gracefully on it. Not SIGINT: a
        process started from a background job (a CI runner's) inherits SIGINT ignored."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
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
    """`python -m services.runtime.worker` (or `command`: the same behind a prefix such as `ip netns exec
    <ns>`, which execs it, so the process is still the worker) with the given environment; ready once it
    says it is consuming."""

    def __init__(self, data_dir: Path, command: list[str] = WORKER, **env):
        self.command = command
        self.data_dir = data_dir
        self.env = {**os.environ, "DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
                    **{k: str(v) for k, v in env.items()}}
        self.log_path = data_dir / f"worker-{free_port()}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "Worker":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=open(self.log_path, "a"),
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
    `host`: the one address it listens on (without a password, so keep it a private one).
    """

    def __init__(self, workdir: Path, persistent: bool = False, host: str = "127.0.0.1"):
        self.host = host
        self.port = free_port(host)
        self.url = f"redis://{host}:{self.port}/0"
        self.workdir = workdir
        self.persistent = persistent
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        durability = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", self.host,
                                      "--protected-mode", "no", "--save", "", *durability, "--dir", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
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




# --- browser tests (the `browser` fixture itself is in browser/conftest.py) ---

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STATUS = "[data-testid=live-status]"
KPI = "[data-testid=kpi-value]"


def wait_for(predicate, timeout, what, page=None):
    """Poll `predicate` until it is truthy; a timeout names `what` and, given the `page`, where it was."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{page_state(page)}" if page is not None else ""))


def page_state(page) -> str:
    """Where a page stands, for a failure message: its address, its socket badge and its text."""
    try:
        badge = page.locator(STATUS).first.inner_text(timeout=1000) if page.locator(STATUS).count() else "no badge"
        return f"page {page.url} ({badge}):\n{page.inner_text('body', timeout=1000)[:1500]}"
    except Exception as exc:      # noqa: BLE001 - a description must never hide the real failure
        return f"page {page.url} (state unreadable: {exc})"


def logged_in_page(browser, server, path="/", context=None, **options):
    """A new page (in `context`, if given), logged in as admin through the login form, at `path`; and
    the list its console errors go to."""
    options = {"viewport": {"width": 1400, "height": 1000}, **options}
    page = context.new_page() if context is not None else browser.new_page(**options)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    def server_error(r):            # a 5xx, with the end of the server's log: a one-off 500 explains itself
        log = getattr(server, "log_path", None)
        tail = log.read_text(errors="replace")[-4000:] if log is not None and log.exists() else "(no server log)"
        return f"HTTP {r.status} {r.request.method} {r.url}\n{tail}"
    page.on("response", lambda r: errors.append(server_error(r)) if r.status >= 500 else None)
    page.goto(server.url + path)
    page.fill("#username", "admin")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("#login-submit")
    return page, errors


def status(page):
    return page.inner_text(STATUS).strip()


# --- the alerts API and gunicorn workers (integration and distributed tests) ---

def alerts_of(session, server, **params):
    r = session.get(server.url + "/api/alerts", params=params)
    assert r.status_code == 200, r.text
    return r.json()["alerts"]


def wait_for_alerts(session, server, count, timeout=60, **params):
    """At least `count` alerts (from the real pipeline) matching `params`, newest first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = alerts_of(session, server, limit=500, **params)
        if len(found) >= count:
            return found
        time.sleep(0.3)
    raise AssertionError(f"fewer than {count} alerts within {timeout}s")


def act(session, server, alert_id, action):
    return session.post(f"{server.url}/api/alerts/{alert_id}/{action}", json={})


def ws_per_worker(web: LiveServer, count: int, channels: list[str]) -> dict:
    """Open sockets until `count` different gunicorn workers answered; one subscribed socket each."""
    session, sockets = web.session(), {}
    for _ in range(40):
        ws = web.ws(session)
        name = recv_json(ws)["worker"]
        if name in sockets:
            ws.close()
            continue
        ws.send(json.dumps({"type": "subscribe", "channels": channels}))
        recv_until(ws, lambda m: m["type"] == "subscribed")
        sockets[name] = ws
        if len(sockets) == count:
            return sockets
    raise AssertionError(f"only reached workers {sorted(sockets)}")


# --- the `system` channel (integration and distributed tests) ---

NUMBER = (int, float)
# every figure of the System page: key -> type (docs/PROTOCOL.md, system_update)
FIGURES = {
    "mode": str, "connections": int, "connections_by_channel": dict, "processes": dict,
    "events_in_per_s": NUMBER, "events_out_per_s": NUMBER, "rate_window_s": NUMBER,
    "ingest_lag_s": NUMBER, "ingest_lag_basis": str,
    "last_score_ms": NUMBER, "avg_score_ms": NUMBER, "last_score_ms_per_event": NUMBER,
    "avg_score_ms_per_event": NUMBER, "queue_depth": int, "queue_capacity": int,
    "frames_sent": int, "messages_merged": int, "points_coalesced": int, "resyncs": int,
    "frames_encoded": int, "frames_shared": int,
    "rejected": dict, "rejected_total": int, "rejected_requests": dict,
    "redis": dict, "background_cache": dict, "memory_rss_bytes": int, "cpu_percent": NUMBER,
}


def check_figures(stats: dict) -> None:
    for key, kind in FIGURES.items():
        assert key in stats, f"system_update lacks {key}"
        assert isinstance(stats[key], kind), f"{key} is {stats[key]!r}"
    assert stats["memory_rss_bytes"] > 0 and stats["processes"]
    assert all({"role", "rss_bytes", "cpu_percent"} <= p.keys() for p in stats["processes"].values())
    assert stats["redis"]["status"] and stats["background_cache"]["kind"] in ("diskcache", "celery")


def bad_post_then_system_update(server: LiveServer) -> dict:
    """Post an invalid event and a duplicate to POST /api/v1/iot, then read the system channel until
    an update counts them."""
    from services.security.apikeys import ApiKeyStore
    from services.storage.db import Database
    key = ApiKeyStore(Database(server.data_dir / "pulseboard.db")).create("stats-producer")[1]
    good = {"event_id": uuid.uuid4().hex, "timestamp": datetime.now(timezone.utc).isoformat(), "store": 3,
            "dept": 7, "weekly_sales": 1500.0, "temperature": 40.0, "is_holiday": 0}
    url, headers = server.url + "/api/v1/iot", {"X-API-Key": key, "Content-Type": "application/json"}
    assert requests.post(url, data=json.dumps(dict(good, weekly_sales="lots")), headers=headers).status_code == 422
    assert requests.post(url, data=json.dumps(good), headers=headers).status_code == 202
    assert requests.post(url, data=json.dumps(good), headers=headers).json()["duplicates"] == 1
    assert requests.post(url, data="{not json", headers=headers).status_code == 400
    session = server.session()
    ws = server.ws(session)
    ws.send(json.dumps({"type": "subscribe", "channels": ["system"]}))

    def counted(message):
        updates = [m["stats"] for m in message.get("messages", []) if m["type"] == "system_update"]
        return updates and "duplicate" in updates[-1]["rejected"] and updates[-1]["connections_by_channel"]["system"]
    frame = recv_until(ws, counted, timeout=20)
    ws.close()
    return [m["stats"] for m in frame["messages"] if m["type"] == "system_update"][-1]


# --- Dash callbacks over HTTP (integration and distributed tests) ---

def dash_callback(session, srv, output_prefix, trigger, values):
    """POST a Dash callback by hand, as a script bypassing the page would: the callback whose outputs start
    with `output_prefix`, fired by `trigger` (its value from `values`, else 1, a click), `values` for the rest."""
    deps = session.get(srv.url + "/_dash-dependencies").json()
    dep = next(d for d in deps if d["output"].lstrip(".").startswith(output_prefix))

    def item(spec):
        key = f"{spec['id']}.{spec['property']}"
        value = values.get(key, 1) if key == trigger else values.get(key)
        return {"id": spec["id"], "property": spec["property"], "value": value}
    outputs = [dict(zip(("id", "property"), o.split(".", 1))) for o in dep["output"].strip(".").split("...")]
    if not dep["output"].startswith(".."):          # a single output goes as itself, not as a list of one
        outputs = outputs[0]
    body = {"output": dep["output"], "outputs": outputs, "inputs": [item(i) for i in dep["inputs"]],
            "state": [item(s) for s in dep["state"]], "changedPropIds": [trigger]}
    return session.post(srv.url + "/_dash-update-component", json=body)


# --- the Flask test client ---

def log_in(client, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    """Sign `client` in through the login form (CSRF token from GET /api/csrf, as scripts do); returns the
    session's new CSRF token, which the client then also sends as X-CSRFToken."""
    token = client.get("/api/csrf").get_json()["csrf_token"]
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    token = client.get("/api/csrf").get_json()["csrf_token"]      # signing in started a new session
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    return token
