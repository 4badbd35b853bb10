"""Security rules of issue 6 tried against a real server with real HTTP and WebSocket clients.

This module covers tenants, roles, WebSocket tickets and the admin audit trail.
The other rules have their own modules, each also against a real server: forged and missing
Origins, malformed and oversize messages (test_live_ws.py), brute-force sign-ins, missing CSRF
tokens and anonymous Dash routes (test_live_http.py), caps, floods, idle sockets and disabled users
(test_ws_hardening.py), logout closing sockets (test_live_ws.py, browser/test_live_browser.py), headers
(test_security_headers.py) and zero CSP violations on every page (browser/test_csp_browser.py). Markup in
pushed data and names showing as text in Chromium: browser/test_markup_browser.py.
"""
import json
import subprocess
import sys
import time

import pytest
import requests
import websocket

from helpers import ROOT, LiveServer, close_frame, dash_callback, recv_json, recv_until
from services.security.apikeys import ApiKeyStore
from services.storage.db import Database


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("sec"), SIM_RATE=60, SIM_ANOMALY_RATE=0.2, WS_SESSION_CHECK=0.3,
                        WS_TICKET_SECONDS=2).start()
    # A second tenant's first admin, made the documented way (password on stdin).
    subprocess.run([sys.executable, "-m", "services.security.users", "create", "bob", "--tenant", "acme", "--role", "admin"],
                   input="bob-password-1\n", text=True, cwd=ROOT, env=server.env, check=True, capture_output=True)
    admin = server.session()
    r = admin.post(server.url + "/api/v1/admin/users", json={"username": "dave", "password": "dave-password-1",
                                                            "role": "analyst"})
    assert r.status_code == 201, r.text
    server.dave_id = r.json()["id"]
    yield server
    server.stop()


def bob(srv):
    return srv.session("bob", "bob-password-1")


def dave(srv):
    return srv.session("dave", "dave-password-1")


def points(ws, seconds):
    """Event ids of the iot_update messages received for `seconds`."""
    ids, deadline = set(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            m = recv_json(ws, max(0.05, deadline - time.monotonic()))
        except websocket.WebSocketTimeoutException:
            break
        for u in (m["messages"] if m["type"] == "batch" else [m]):
            if u["type"] == "iot_update":
                ids.add(u["event_id"])
    return ids


def subscribe(ws, channels, **extra):
    ws.send(json.dumps({"type": "subscribe", "channels": channels, **extra}))
    recv_until(ws, lambda m: m["type"] == "subscribed")


# -- tenants ------------------------------------------------------------------------------------

def test_the_tenant_comes_from_the_session_and_each_tenant_sees_only_its_own_stream(srv):
    admin_ws, bob_ws = srv.ws(srv.session()), srv.ws(bob(srv))
    assert recv_json(admin_ws)["tenant"] == "default"
    assert recv_json(bob_ws)["tenant"] == "acme"
    subscribe(admin_ws, ["iot"])
    subscribe(bob_ws, ["iot"], tenant="default")          # naming another tenant changes nothing
    assert points(admin_ws, 2) and not points(bob_ws, 2)  # acme's simulator is off: nothing for bob
    assert bob(srv).get(srv.url + "/api/alerts").json()["alerts"] == []
    assert srv.session().get(srv.url + "/api/alerts").json()["alerts"]

    # acme's admin turns on acme's own simulator: bob's stream starts, and never carries default's events
    r = bob(srv).put(srv.url + "/api/v1/admin/source", json={"simulator": True, "rate": 30, "anomaly_rate": 0.05})
    assert r.status_code == 200, r.text
    theirs = set()
    deadline = time.monotonic() + 20
    while not theirs and time.monotonic() < deadline:
        theirs = points(bob_ws, 1)
    ours = points(admin_ws, 2)
    assert theirs and ours and not theirs & ours
    assert srv.session().get(srv.url + "/api/v1/admin/source").json()["simulator"] is True   # default's own, unchanged
    bob(srv).put(srv.url + "/api/v1/admin/source", json={"simulator": False, "rate": 30, "anomaly_rate": 0.05})
    admin_ws.close()
    bob_ws.close()


def test_ids_of_another_tenant_are_not_found(srv):
    admin, acme = srv.session(), bob(srv)
    key = admin.post(srv.url + "/api/v1/keys", json={"name": "default-gateway"}).json()
    assert acme.patch(srv.url + f"/api/v1/admin/users/{srv.dave_id}", json={"active": False}).status_code == 404
    assert acme.delete(srv.url + f"/api/v1/keys/{key['prefix']}").status_code == 404
    assert all(u["username"] != "dave" for u in acme.get(srv.url + "/api/v1/admin/users").json()["users"])
    assert all(k["prefix"] != key["prefix"] for k in acme.get(srv.url + "/api/v1/keys").json()["keys"])
    assert next(u for u in admin.get(srv.url + "/api/v1/admin/users").json()["users"] if u["id"] == srv.dave_id)["active"]
    r = requests.post(srv.url + "/api/v1/iot", json=[], headers={"X-API-Key": key["key"]})
    assert r.status_code != 401           # the key still works


# -- roles --------------------------------------------------------------------------------------

ADMIN_CALLS = [("get", "/api/v1/admin/users", None), ("post", "/api/v1/admin/users",
                                                       {"username": "eve", "password": "eve-password-1", "role": "admin"}),
               ("patch", "/api/v1/admin/users/1", {"role": "analyst"}), ("get", "/api/v1/keys", None),
               ("post", "/api/v1/keys", {"name": "sneaky"}), ("put", "/api/v1/admin/thresholds",
                                                              {"medium": 1, "high": 2, "critical": 3}),
               ("put", "/api/v1/admin/source", {"simulator": False, "rate": 1, "anomaly_rate": 0}),
               ("get", "/api/v1/admin/audit", None), ("get", "/metrics", None)]


def test_an_analyst_gets_403_from_every_admin_call_and_nothing_changes(srv):
    admin, analyst = srv.session(), dave(srv)
    before = (admin.get(srv.url + "/api/v1/admin/audit").json(), admin.get(srv.url + "/api/v1/admin/users").json(),
              admin.get(srv.url + "/api/v1/admin/thresholds").json(), admin.get(srv.url + "/api/v1/keys").json())
    for method, path, body in ADMIN_CALLS:
        r = getattr(analyst, method)(srv.url + path, json=body)
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert "error" in r.json()
    r = dash_callback(analyst, srv, "admin-users-msg.children", "admin-create-user.n_clicks",
                      {"admin-new-name.value": "mallory", "admin-new-password.value": "mallory-pass-1",
                       "admin-new-role.value": "admin"})
    assert r.status_code == 403, r.text                               # like the admin API, before anything runs
    after = (admin.get(srv.url + "/api/v1/admin/audit").json(), admin.get(srv.url + "/api/v1/admin/users").json(),
             admin.get(srv.url + "/api/v1/admin/thresholds").json(), admin.get(srv.url + "/api/v1/keys").json())
    assert after == before


def test_the_admin_page_and_its_link_are_for_admins_only(srv):
    def links(session):
        return json.dumps(session.get(srv.url + "/_dash-layout").json())
    assert '"href": "/admin"' not in links(dave(srv)) and '"href": "/analysis"' in links(dave(srv))
    assert '"href": "/admin"' in links(srv.session())


def test_every_admin_change_is_in_the_audit_log_without_secrets(srv):
    admin = srv.session()
    r = admin.post(srv.url + "/api/v1/admin/users", json={"username": "frank", "password": "frank-secret-9",
                                                         "role": "analyst"})
    frank = r.json()["id"]
    admin.patch(srv.url + f"/api/v1/admin/users/{frank}", json={"role": "admin", "password": "frank-secret-10"})
    admin.put(srv.url + "/api/v1/admin/thresholds", json={"medium": 35, "high": 55, "critical": 85})
    key = admin.post(srv.url + "/api/v1/keys", json={"name": "audited"}).json()
    admin.delete(srv.url + f"/api/v1/keys/{key['prefix']}")
    entries = admin.get(srv.url + "/api/v1/admin/audit").json()["entries"]
    actions = [(e["actor"], e["action"], e["target"]) for e in entries[:6]][::-1]
    assert actions == [("admin", "user.create", "frank"), ("admin", "user.role", "frank"),
                       ("admin", "user.password_reset", "frank"), ("admin", "thresholds.update", "risk levels"),
                       ("admin", "api_key.create", key["prefix"]), ("admin", "api_key.revoke", key["prefix"])]
    text = json.dumps(entries)
    assert "frank-secret" not in text and key["key"] not in text
    assert all(e["at"].endswith("+00:00") for e in entries)
    assert bob(srv).get(srv.url + "/api/v1/admin/audit").json()["entries"] == [
        e for e in bob(srv).get(srv.url + "/api/v1/admin/audit").json()["entries"] if e["actor"] == "bob"]
    admin.put(srv.url + "/api/v1/admin/thresholds", json={"medium": 40, "high": 60, "critical": 80})


def test_a_password_reset_signs_the_user_out_everywhere_at_once(srv):
    analyst = dave(srv)
    ws = srv.ws(analyst)
    recv_json(ws)
    subscribe(ws, ["alerts"])
    admin = srv.session()
    r = admin.patch(srv.url + f"/api/v1/admin/users/{srv.dave_id}", json={"password": "dave-password-2"})
    assert r.status_code == 200, r.text
    code, reason, _seen = close_frame(ws, timeout=10)
    assert (code, reason) == (4001, "password changed")
    assert analyst.get(srv.url + "/api/live-data").status_code == 401
    assert srv.session("dave", "dave-password-2").get(srv.url + "/api/live-data").status_code == 200
    assert admin.get(srv.url + "/api/live-data").status_code == 200       # the admin's own session is untouched
    admin.patch(srv.url + f"/api/v1/admin/users/{srv.dave_id}", json={"password": "dave-password-1"})

    # an admin who resets their own password signs in again with it, like everybody else
    gail_id = admin.post(srv.url + "/api/v1/admin/users", json={"username": "gail", "password": "gail-password-1",
                                                               "role": "admin"}).json()["id"]
    gail = srv.session("gail", "gail-password-1")
    assert gail.patch(srv.url + f"/api/v1/admin/users/{gail_id}", json={"password": "gail-password-2"}).status_code == 200
    assert gail.get(srv.url + "/api/live-data").status_code == 401
    assert srv.session("gail", "gail-password-2").get(srv.url + "/api/v1/admin/users").status_code == 200


def test_disabling_a_user_closes_their_sockets_at_once_with_4003(srv):
    analyst, admin = dave(srv), srv.session()
    ws = srv.ws(analyst)
    recv_json(ws)
    subscribe(ws, ["alerts"])
    try:
        assert admin.patch(srv.url + f"/api/v1/admin/users/{srv.dave_id}", json={"active": False}).status_code == 200
        code, reason, seen = close_frame(ws, timeout=10)
        assert (code, reason) == (4003, "account disabled") and seen[-1] == "session_ended"
        assert analyst.get(srv.url + "/api/live-data").status_code == 401
    finally:
        admin.patch(srv.url + f"/api/v1/admin/users/{srv.dave_id}", json={"active": True})


@pytest.mark.parametrize("body, field", [({"medium": 50, "high": 40, "critical": 90}, "high"),
                                         ({"medium": 0, "high": 40, "critical": 90}, "medium"),
                                         ({"medium": 10, "high": 40, "critical": "x"}, "critical")])
def test_bad_thresholds_get_422_naming_the_field(srv, body, field):
    r = srv.session().put(srv.url + "/api/v1/admin/thresholds", json=body)
    assert r.status_code == 422 and r.json()["field"] == field


# -- tickets ------------------------------------------------------------------------------------

def test_a_ticket_opens_one_socket_once_without_cookie_or_origin(srv):
    r = srv.session().post(srv.url + "/api/token")
    assert r.status_code == 200
    ticket = r.json()["ticket"]
    assert r.json()["expires_in"] <= 60
    ws = srv.ws(None, origin=None, path=f"/ws?ticket={ticket}")
    welcome = recv_json(ws)
    assert (welcome["user"], welcome["tenant"]) == ("admin", "default")
    ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as used:
        srv.ws(None, origin=None, path=f"/ws?ticket={ticket}")
    assert used.value.status_code == 401
    fresh = srv.session().post(srv.url + "/api/token").json()["ticket"]
    with pytest.raises(websocket.WebSocketBadStatusException) as forged:
        srv.ws(None, origin="http://evil.example", path=f"/ws?ticket={fresh}")
    assert forged.value.status_code == 403
    late = srv.session().post(srv.url + "/api/token").json()["ticket"]
    time.sleep(2.5)                                   # WS_TICKET_SECONDS=2 here
    with pytest.raises(websocket.WebSocketBadStatusException) as expired:
        srv.ws(None, origin=None, path=f"/ws?ticket={late}")
    assert expired.value.status_code == 401
    assert requests.post(srv.url + "/api/token").status_code == 401
    assert requests.post(srv.url + "/api/token", headers={"X-API-Key": "pb_nope_nope"}).status_code == 401
    log = srv.log_path.read_text()
    assert ticket not in log and fresh not in log and late not in log


def test_an_api_key_ticket_connects_as_the_key_and_ends_when_it_is_revoked(srv):
    record, key = ApiKeyStore(Database(srv.data_dir / "pulseboard.db")).create("ws-script", "acme")
    ticket = requests.post(srv.url + "/api/token", headers={"X-API-Key": key}).json()["ticket"]
    ws = srv.ws(None, origin=None, path=f"/ws?ticket={ticket}")
    welcome = recv_json(ws)
    assert (welcome["user"], welcome["role"], welcome["tenant"]) == ("api-key:ws-script", "analyst", "acme")
    subscribe(ws, ["alerts"])
    assert bob(srv).delete(srv.url + f"/api/v1/keys/{record.prefix}").status_code == 204
    code, _reason, _seen = close_frame(ws, timeout=10)
    assert code == 4003
