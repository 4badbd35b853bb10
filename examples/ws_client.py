"""A small Pulseboard WebSocket client: log in, subscribe, print live updates, run a calculation.

    .venv/bin/python examples/ws_client.py --url http://127.0.0.1:8050 --username admin --password …
    .venv/bin/python examples/ws_client.py --seconds 10 --calculation monte_carlo
    .venv/bin/python examples/ws_client.py --api-key pb_…       # a producer key instead of a user

Needs nothing beyond `pip install -r requirements.txt`: HTTP through the standard library (urllib, with a
cookie jar for the session) and the socket through `simple-websocket`'s client (the server's own WebSocket
library). It asks `POST /api/token` for a single-use ticket (with the session cookie from POST /login, or
with an API key) and opens `/ws?ticket=…` with no cookie. Every message is described in docs/PROTOCOL.md.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import simple_websocket

CALCULATIONS = {
    "npv": {"cash_flows": [300_000, 400_000, 500_000], "discount_rate": 0.1, "initial_investment": 1_000_000},
    "monte_carlo": {"cash_flows": [150_000] * 10, "scenarios": 1_000_000, "seed": 42,
                    "discount_rate": {"dist": "normal", "mean": 0.08, "std": 0.02},
                    "initial_investment": {"dist": "triangular", "low": 800_000, "mode": 950_000, "high": 1_300_000}},
}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A login answers 302 on success: kept as the answer instead of followed."""

    def redirect_request(self, *args, **kwargs):
        return None


class Http:
    """A tiny HTTP session on the standard library: a cookie jar, default headers, JSON in and out."""

    def __init__(self, url: str, headers: dict | None = None):
        self.url, self.headers = url, dict(headers or {})
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  NoRedirect())

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict]:
        """(status, JSON body or {}) of one request; a 4xx/5xx answer is returned, not raised."""
        data = urllib.parse.urlencode(form).encode() if form is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(self.url + path, data=data, headers=self.headers, method=method)
        try:
            with self.opener.open(req, timeout=30) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        try:
            return status, json.loads(body or b"{}")
        except ValueError:
            return status, {}


def login(url: str, username: str, password: str) -> Http:
    session = Http(url)
    token = session.request("GET", "/api/csrf")[1]["csrf_token"]       # the login form's CSRF token
    status, _ = session.request("POST", "/login", {"username": username, "password": password, "csrf_token": token})
    if status != 302:
        raise SystemExit(f"login failed ({status}): check the username and password")
    return session


class Client(simple_websocket.Client):
    """simple-websocket's client, also reading the frames that came in with the handshake's response.
    The server sends `welcome` at once, often in the same TCP read as its 101; simple-websocket 1.1
    leaves such frames unread until the server sends something more (here: never, until the client
    subscribes after the welcome). Its reader thread starts after `handshake`, so this is race-free."""

    def handshake(self):
        super().handshake()
        self.connected = self._handle_events()


def connect(url: str, session: Http) -> simple_websocket.Client:
    """Open the socket with a ticket (valid once, for 60 s): no cookie on the socket itself."""
    status, body = session.request("POST", "/api/token")
    if status != 200:
        raise SystemExit(f"no ticket ({status}): {body.get('error')}")
    return Client.connect(url.replace("http", "ws", 1) + body["ws_path"], headers={"Origin": url})


def describe(m: dict) -> str | None:
    kind = m["type"]
    if kind == "kpi_update":
        k = m["kpis"]
        return f"kpi_update      events={k['event_count']} avg={k['avg_weekly_sales']} anomalies={k['anomaly_count']}"
    if kind in ("alert", "alert_triggered"):
        return f"{kind:<15} #{m['id']} {m['priority']} {m['message']}"
    if kind == "calculation_update":
        return f"calculation     {m['calculation_id']} {m['status']} {m['progress']}% {m['message']}"
    if kind == "market_update":
        return f"market_update   discount_rate={m['values']['discount_rate']:.4f}"
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8050")
    p.add_argument("--username", default="admin")
    p.add_argument("--password", default=os.environ.get("PULSE_PASSWORD"), help="or set PULSE_PASSWORD")
    p.add_argument("--api-key", default=os.environ.get("PULSE_API_KEY"), help="connect as this API key instead")
    p.add_argument("--seconds", type=float, default=5.0, help="how long to print live updates")
    p.add_argument("--calculation", choices=sorted(CALCULATIONS), default="monte_carlo")
    args = p.parse_args(argv)
    url = args.url.rstrip("/")
    if args.api_key:
        session = Http(url, {"X-API-Key": args.api_key})
    elif args.password:
        session = login(url, args.username, args.password)
    else:
        p.error("--password (or PULSE_PASSWORD), or --api-key, is required")
    ws = connect(url, session)
    welcome = json.loads(ws.receive(timeout=10))
    print(f"connected as {welcome['user']} ({welcome['role']}, tenant {welcome['tenant']})")
    ws.send(json.dumps({"type": "subscribe", "channels": ["kpis", "alerts", "market", "calculations"]}))
    ws.send(json.dumps({"type": "calculate", "calculation_id": "example-1", "calculation_type": args.calculation,
                        "parameters": CALCULATIONS[args.calculation]}))
    deadline, finished = time.monotonic() + max(args.seconds, 1.0), None
    while time.monotonic() < deadline or finished is None:
        if time.monotonic() > deadline + 60:
            print("the calculation did not finish in time", file=sys.stderr)
            return 1
        text = ws.receive(timeout=1.0)           # None when nothing came within the second
        if text is None:
            continue
        frame = json.loads(text)
        for m in frame["messages"] if frame["type"] == "batch" else [frame]:
            line = describe(m)
            if line:
                print(line, flush=True)
            if m["type"] == "calculation_update" and m["status"] in ("completed", "failed"):
                finished = m
    if finished["status"] == "completed":
        print("result:", json.dumps({k: v for k, v in finished["result"].items() if k not in ("histogram", "curve")}))
    ws.close()
    return 0 if finished["status"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
