"""The alert workflow against a real server: REST acknowledge/resolve, filters, live alert_update, reconnect."""
import json
import time

import pytest

from helpers import LiveServer, act, alerts_of, recv_json, recv_until, wait_for_alerts

BOB = ("bob-other", "password123")          # an analyst of another tenant


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("alerts"), SIM_RATE=50, SIM_ANOMALY_RATE=0.2).start()
    from services.storage.db import Database
    from services.security.users import UserStore
    UserStore(Database(srv.data_dir / "pulseboard.db")).create(*BOB, role="analyst", tenant="other")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin(server):
    return server.session()


@pytest.fixture(scope="module")
def bob(server):
    return server.session(*BOB)


def subscribed(server, session, channels=("alerts",)):
    ws = server.ws(session)
    assert recv_json(ws)["type"] == "welcome"
    ws.send(json.dumps({"type": "subscribe", "channels": list(channels)}))
    recv_until(ws, lambda m: m["type"] == "subscribed")
    return ws


def messages(ws, seconds):
    """Every message in the batch frames received during `seconds`."""
    out, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            frame = recv_json(ws, max(0.1, deadline - time.monotonic()))
        except Exception:   # nothing more within the time left
            break
        out += frame.get("messages", []) if frame["type"] == "batch" else []
    return out


def test_acknowledge_then_resolve_records_who_and_when(server, admin):
    alert = wait_for_alerts(admin, server, 1, status="open")[0]
    assert alert["status"] == "open" and alert["acknowledged_by"] is None
    r = act(admin, server, alert["id"], "acknowledge")
    assert r.status_code == 200
    acked = r.json()
    assert acked["id"] == alert["id"] and acked["status"] == "acknowledged"
    assert acked["acknowledged_by"] == "admin" and acked["acknowledged_at"].endswith("Z")
    assert act(admin, server, alert["id"], "acknowledge").json() == acked           # repeating changes nothing
    resolved = act(admin, server, alert["id"], "resolve").json()
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == "admin" and resolved["resolved_at"]
    assert resolved["acknowledged_by"] == "admin"
    stored = [a for a in alerts_of(admin, server, limit=500, status="resolved") if a["id"] == alert["id"]]
    assert stored == [resolved]


def test_acknowledging_a_resolved_alert_is_a_conflict(server, admin):
    alert = wait_for_alerts(admin, server, 1, status="open")[0]
    assert act(admin, server, alert["id"], "resolve").json()["acknowledged_by"] is None   # open -> resolved directly
    r = act(admin, server, alert["id"], "acknowledge")
    assert r.status_code == 409 and r.json()["code"] == "conflict" and "resolved" in r.json()["error"]
    assert act(admin, server, alert["id"], "resolve").status_code == 200                  # resolve again: fine


def test_an_analyst_may_act_too(server, admin):
    from services.storage.db import Database
    from services.security.users import UserStore
    UserStore(Database(server.data_dir / "pulseboard.db")).create("ann", "password123", role="analyst")
    ann = server.session("ann", "password123")
    alert = wait_for_alerts(admin, server, 1, status="open")[0]
    assert act(ann, server, alert["id"], "acknowledge").json()["acknowledged_by"] == "ann"


def test_another_tenants_alert_is_a_404_like_a_missing_one(server, admin, bob):
    alert = wait_for_alerts(admin, server, 1, status="open")[0]
    for action in ("acknowledge", "resolve"):
        theirs, missing = act(bob, server, alert["id"], action), act(bob, server, 2**62, action)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["code"] == missing.json()["code"] == "not_found"
    assert [a for a in alerts_of(admin, server, limit=500) if a["id"] == alert["id"]][0]["status"] == "open"
    assert all(a["id"] != alert["id"] for a in alerts_of(bob, server, limit=500))


@pytest.mark.parametrize("path", ["/api/alerts/abc/acknowledge", "/api/alerts/-3/resolve",
                                  "/api/alerts/99999999999999999999999/resolve", "/api/alerts/1/close"])
def test_bad_ids_and_actions_are_json_404s(server, admin, path):
    r = admin.post(server.url + path, json={})
    assert r.status_code == 404 and r.json()["error"]


def test_the_request_must_be_json(server, admin):
    alert = wait_for_alerts(admin, server, 1)[0]
    r = admin.post(f"{server.url}/api/alerts/{alert['id']}/acknowledge", data={"x": "1"})   # what a form sends
    assert r.status_code == 415 and r.json()["code"] == "json_required"
    r = admin.post(f"{server.url}/api/alerts/{alert['id']}/acknowledge", data="[1]",
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 415


def test_anonymous_requests_are_refused(server):
    import requests
    r = requests.post(server.url + "/api/alerts/1/acknowledge", json={})
    assert r.status_code == 401 and r.json()["error"] == "authentication required"


def test_filters_by_status_and_priority(server, admin):
    found = wait_for_alerts(admin, server, 4, status="open")
    act(admin, server, found[0]["id"], "acknowledge")
    act(admin, server, found[1]["id"], "resolve")
    for status in ("open", "acknowledged", "resolved"):
        listed = alerts_of(admin, server, status=status, limit=500)
        assert listed and all(a["status"] == status for a in listed)
    for priority in ("HIGH", "CRITICAL"):
        assert all(a["priority"] == priority for a in alerts_of(admin, server, priority=priority, limit=500))
    both = alerts_of(admin, server, status="acknowledged", priority=found[0]["priority"], limit=500)
    assert found[0]["id"] in [a["id"] for a in both]
    after = alerts_of(admin, server, after_id=0, status="resolved", limit=500)
    assert [a["id"] for a in after] == sorted(a["id"] for a in after) and found[1]["id"] in [a["id"] for a in after]


@pytest.mark.parametrize("query", ["status=closed", "status=", "priority=LOW", "priority=critical",
                                   "status=open&priority=MEDIUM"])
def test_bad_filters_are_400_json(server, admin, query):
    r = admin.get(server.url + "/api/alerts?" + query)
    assert r.status_code == 400 and ("status" in r.json()["error"] or "priority" in r.json()["error"])


def test_alert_update_reaches_the_tenants_clients_only(server, admin, bob):
    alert = wait_for_alerts(admin, server, 1, status="open")[0]
    colleague, other_tenant = subscribed(server, server.session()), subscribed(server, bob)
    acked = act(admin, server, alert["id"], "acknowledge").json()
    frame = recv_until(colleague, lambda m: m["type"] == "batch" and any(
        x["type"] == "alert_update" and x["alert"]["id"] == alert["id"] for x in m["messages"]), timeout=20)
    update = next(x for x in frame["messages"] if x["type"] == "alert_update")
    assert update["alert"] == acked and update["alert"]["type"] in ("alert", "alert_triggered")
    seen = messages(other_tenant, 2)
    assert not [m for m in seen if m["type"] == "alert_update"]
    colleague.close()
    other_tenant.close()


def test_a_reconnecting_client_gets_each_missed_alert_exactly_once(server, admin):
    ws = subscribed(server, admin)
    ws.send(json.dumps({"type": "snapshot"}))
    snap = recv_until(ws, lambda m: m["type"] == "snapshot")
    last = max(a["id"] for a in snap["alerts"])
    ws.close()                                                       # offline while alerts keep coming
    missed_meanwhile = wait_for_alerts(admin, server, 25, after_id=last)   # more than the snapshot's 20
    acted = missed_meanwhile[0]["id"]
    act(admin, server, acted, "acknowledge")                          # a status change missed too

    ws = subscribed(server, admin)
    ws.send(json.dumps({"type": "snapshot", "since_alert_id": last}))
    snap = recv_until(ws, lambda m: m["type"] == "snapshot")
    missed_ids = [a["id"] for a in snap["missed_alerts"]]
    assert missed_ids == sorted(set(missed_ids)) and all(i > last for i in missed_ids)
    assert {a["id"] for a in missed_meanwhile} <= set(missed_ids)
    assert next(a for a in snap["missed_alerts"] if a["id"] == acted)["status"] == "acknowledged"
    in_both = {a["id"]: a for a in snap["alerts"]}
    assert all(a == in_both[a["id"]] for a in snap["missed_alerts"] if a["id"] in in_both)   # merging is unambiguous
    # what the browser does: merge alerts, missed_alerts and the frames that follow, by id
    merged: dict[int, dict] = {}
    for a in snap["alerts"] + snap["missed_alerts"]:
        merged[a["id"]] = a
    for m in messages(ws, 1.5):
        if m["type"] in ("alert", "alert_triggered"):
            merged[m["id"]] = m
    assert set(missed_ids) <= set(merged)
    assert merged[acted]["status"] == "acknowledged"
    ws.close()
