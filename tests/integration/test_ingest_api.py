"""POST /api/v1/iot with API keys, against a real server (simulator off, so every point is ours)."""
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

import pytest
import requests

from helpers import ROOT, LiveServer
from services.security.apikeys import ApiKeyStore
from services.storage.db import Database
from services.security.users import UserStore


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("iot"), SIMULATOR="off", IOT_RATE_LIMIT=500, IOT_MAX_BODY_KB=64).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def key(srv):
    return ApiKeyStore(Database(srv.data_dir / "pulseboard.db")).create("test-producer")[1]


def event(**changes):
    base = {"event_id": uuid.uuid4().hex, "timestamp": datetime.now(timezone.utc).isoformat(), "store": 3, "dept": 7,
            "weekly_sales": 15000.5, "temperature": 42.3, "is_holiday": 0}
    return {**base, **changes}


def post(srv, key, body, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(srv.url + "/api/v1/iot", data=data, headers={"X-API-Key": key or "",
                                                                      "Content-Type": "application/json", **headers})


def live_event_ids(srv):
    return {p["event_id"] for p in srv.session().get(srv.url + "/api/live-data").json()["points"]}


def test_accepted_events_reach_the_live_stream(srv, key):
    events = [event() for _ in range(3)]
    r = post(srv, key, events)
    assert r.status_code == 202 and r.json() == {"accepted": 3, "duplicates": 0}
    single = event()
    assert post(srv, key, single).status_code == 202
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not {e["event_id"] for e in events + [single]} <= live_event_ids(srv):
        time.sleep(0.1)
    assert {e["event_id"] for e in events + [single]} <= live_event_ids(srv)


def test_retries_are_idempotent_by_event_id(srv, key):
    e = event()
    assert post(srv, key, [e]).json() == {"accepted": 1, "duplicates": 0}
    assert post(srv, key, [e, e]).json() == {"accepted": 0, "duplicates": 2}


@pytest.mark.parametrize("bad_key", [None, "nope", "pb_00000000_wrong"])
def test_a_valid_key_is_required(srv, bad_key):
    assert post(srv, bad_key, event()).status_code == 401


@pytest.mark.parametrize("body, field", [
    ([{"timestamp": "2026-01-01T00:00:00Z", "store": 1, "dept": 1, "weekly_sales": 1, "temperature": 1,
       "is_holiday": 0}], "event_id"),
    ([event(), event(weekly_sales="lots")], "weekly_sales"),
    ('[{"event_id":"x","timestamp":"2026-01-01T00:00:00Z","store":1,"dept":1,"weekly_sales":NaN,'
     '"temperature":1,"is_holiday":0}]', "weekly_sales"),
    ([event(temperature=float("inf"))], "temperature"),
    ([event(store="3")], "store"),
])
def test_invalid_events_get_422_naming_the_field_and_nothing_is_queued(srv, key, body, field):
    if isinstance(body, list):
        body = json.dumps(body)          # Infinity/NaN are written as the bare JSON extensions
    ok_id = json.loads(body.replace("NaN", "0"))[0].get("event_id") if isinstance(body, str) else None
    r = post(srv, key, body)
    assert r.status_code == 422 and r.json()["field"] == field and field in r.json()["error"]
    if ok_id:
        time.sleep(0.2)
        assert ok_id not in live_event_ids(srv)           # all or nothing


def test_malformed_json_and_oversize_bodies(srv, key):
    assert post(srv, key, b"{not json").status_code == 400
    big = [event() for _ in range(400)]                   # ~70 KB against IOT_MAX_BODY_KB=64
    r = post(srv, key, big)
    assert r.status_code == 413 and "IOT_MAX_BODY_KB" in r.json()["error"]


def test_rate_limit_answers_429_with_retry_after(srv):
    k = ApiKeyStore(Database(srv.data_dir / "pulseboard.db")).create("bursty")[1]
    statuses = []
    for _ in range(15):          # 200 events a post against 500/s: the bucket drains whatever the machine's speed
        statuses.append(post(srv, k, [event() for _ in range(200)]).status_code)
        if statuses[-1] == 429:
            break
    assert statuses[:2] == [202, 202] and statuses[-1] == 429
    r = post(srv, k, [event() for _ in range(200)])
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_cli_creates_a_key_that_works(srv):
    env = {**os.environ, "DATA_DIR": str(srv.data_dir)}
    out = subprocess.run([sys.executable, "-m", "services.security.apikeys", "create", "cli-key"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip().splitlines()[-1].split(": ", 1)[1]
    assert post(srv, key, event()).status_code == 202
    prefix = key.split("_")[1]
    subprocess.run([sys.executable, "-m", "services.security.apikeys", "revoke", prefix], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=30)
    assert post(srv, key, event()).status_code == 401


def test_simulator_cli_posts_over_rest(srv):
    key = ApiKeyStore(Database(srv.data_dir / "pulseboard.db")).create("sim-cli")[1]
    out = subprocess.run([sys.executable, "-m", "services.simulation.simulator", "--url", srv.url, "--api-key", key,
                          "--rate", "100", "--interval", "0.2", "--duration", "1.5", "--seed", "3"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    sent = int(out.stdout.split()[1])
    assert 100 <= sent <= 200
    stats = srv.session().get(srv.url + "/api/live-data").json()["stats"]
    assert stats["processed"] >= sent


def test_admins_manage_keys_over_the_api_and_analysts_cannot(srv):
    admin = srv.session()
    created = admin.post(srv.url + "/api/v1/keys", json={"name": "from-the-api"})
    assert created.status_code == 201 and created.json()["key"].startswith("pb_")
    key, prefix = created.json()["key"], created.json()["prefix"]
    assert post(srv, key, [event()]).status_code == 202
    listed = admin.get(srv.url + "/api/v1/keys").json()["keys"]
    assert any(k["prefix"] == prefix for k in listed) and all("key" not in k for k in listed)   # shown once only
    assert admin.post(srv.url + "/api/v1/keys", json={"name": ""}).status_code == 422
    assert admin.post(srv.url + "/api/v1/keys", data="nope").status_code == 400
    UserStore(Database(srv.data_dir / "pulseboard.db")).create("ann", "analyst-pass-1")
    analyst = srv.session("ann", "analyst-pass-1")
    assert analyst.post(srv.url + "/api/v1/keys", json={"name": "x"}).status_code == 403
    assert analyst.delete(srv.url + f"/api/v1/keys/{prefix}").status_code == 403
    assert admin.delete(srv.url + f"/api/v1/keys/{prefix}").status_code == 204
    assert post(srv, key, [event()]).status_code == 401                       # revoked
    assert admin.delete(srv.url + "/api/v1/keys/nosuch").status_code == 404
