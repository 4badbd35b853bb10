"""Tenant settings and tickets in distributed mode: the leader worker follows an admin's data source,
the workers level risk with the tenant's thresholds, and a ticket issued through Redis works once.
Real redis-server, real app process."""
import json
import subprocess
import sys
import time

import pytest
import websocket

from helpers import ROOT, LiveServer, recv_json, recv_until

THRESHOLDS = (10, 20, 30)     # acme's MEDIUM, HIGH, CRITICAL (defaults: 40, 60, 80)


def level(score, cuts):
    return ("LOW", "MEDIUM", "HIGH", "CRITICAL")[sum(score >= c for c in cuts)]


@pytest.fixture(scope="module")
def srv(tmp_path_factory, redis_server):
    server = LiveServer(tmp_path_factory.mktemp("tenants"), REDIS_URL=redis_server.url, SIMULATOR="off",
                        MARKET_FEED="off").start(timeout=60)
    subprocess.run([sys.executable, "-m", "services.security.users", "create", "bob", "--tenant", "acme", "--role", "admin"],
                   input="bob-password-1\n", text=True, cwd=ROOT, env=server.env, check=True, capture_output=True)
    yield server
    server.stop()


def test_the_leader_runs_a_tenants_simulator_levelled_by_its_thresholds_and_tickets_work_once(srv):
    bob = srv.session("bob", "bob-password-1")
    ticket = bob.post(srv.url + "/api/token").json()["ticket"]
    ws = srv.ws(None, origin=None, path=f"/ws?ticket={ticket}")
    assert recv_json(ws)["tenant"] == "acme"
    with pytest.raises(websocket.WebSocketBadStatusException) as again:
        srv.ws(None, origin=None, path=f"/ws?ticket={ticket}")
    assert again.value.status_code == 401
    ws.send(json.dumps({"type": "subscribe", "channels": ["iot"]}))
    recv_until(ws, lambda m: m["type"] == "subscribed")

    low, mid, high = THRESHOLDS
    assert bob.put(srv.url + "/api/v1/admin/thresholds",
                   json={"medium": low, "high": mid, "critical": high}).status_code == 200
    assert bob.put(srv.url + "/api/v1/admin/source",
                   json={"simulator": True, "rate": 200, "anomaly_rate": 0.05}).status_code == 200
    points, differing = [], []
    deadline = time.monotonic() + 60
    while len(differing) < 20 and time.monotonic() < deadline:     # scores where the two sets of levels differ
        frame = recv_json(ws, 30)
        for u in frame.get("messages", []):
            if u["type"] == "iot_update":
                points.append(u["analysis"])
                if level(u["analysis"]["risk_score"], THRESHOLDS) != level(u["analysis"]["risk_score"], (40, 60, 80)):
                    differing.append(u["analysis"])
    assert len(differing) >= 20
    assert all(p["risk_level"] == level(p["risk_score"], THRESHOLDS) for p in points)
    assert srv.session().get(srv.url + "/api/live-data").json()["points"] == []   # default tenant: no events
    bob.put(srv.url + "/api/v1/admin/source", json={"simulator": False, "rate": 200, "anomaly_rate": 0.05})
    ws.close()
