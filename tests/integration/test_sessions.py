"""Sessions that really end: a saved cookie is dead after logout, on every route and the WebSocket;
logout ends one session, "sign out everywhere" and the admin end all; lifetimes and "remember me".

Most of it in-process (Flask's test client); the socket and the cross-process rules against a real
server, since they need a real upgrade and the hub."""
import json

import pytest
import requests
import websocket

from helpers import close_frame, log_in, recv_json, recv_until
from services.web.runtime_access import get_runtime

ROUTES = [("get", "/api/alerts"), ("get", "/api/live-data"), ("post", "/api/token"), ("get", "/_dash-layout"),
          ("get", "/api/v1/uploads")]


def cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, saved: str):
    """A new client carrying only a copy of a cookie, as an attacker who stole it would."""
    thief = app.test_client()
    thief.set_cookie("session", saved)
    return thief


def test_a_saved_cookie_is_dead_after_logout_on_every_route(app, logged_in_client):
    saved = cookie(logged_in_client)
    for method, path in ROUTES:
        assert getattr(replay(app, saved), method)(path).status_code == 200, path
    r = logged_in_client.post("/logout", data={"csrf_token": logged_in_client.csrf})
    assert r.status_code == 302
    for method, path in ROUTES:
        r = getattr(replay(app, saved), method)(path)
        assert r.status_code == 401 and "error" in r.get_json(), path
    r = replay(app, saved).get("/ws", headers={"Origin": "http://localhost"})
    assert r.status_code == 401                               # refused before any upgrade
    assert replay(app, saved).get("/").status_code == 302     # pages send it to the login form


def test_logout_ends_this_session_only_and_everywhere_ends_all(app):
    laptop, phone = app.test_client(), app.test_client()
    laptop_csrf, _ = log_in(laptop), log_in(phone)
    assert laptop.post("/logout", data={"csrf_token": laptop_csrf}).status_code == 302
    assert laptop.get("/api/live-data").status_code == 401 and phone.get("/api/live-data").status_code == 200
    laptop_csrf = log_in(laptop)
    del laptop.environ_base["HTTP_X_CSRFTOKEN"]                  # a cross-site form carries no valid token
    assert laptop.post("/logout/everywhere", data={"csrf_token": "forged"}).status_code == 400
    assert laptop.get("/api/live-data").status_code == 200 and phone.get("/api/live-data").status_code == 200
    assert laptop.post("/logout/everywhere", data={"csrf_token": laptop_csrf}).status_code == 302
    assert laptop.get("/api/live-data").status_code == 401 and phone.get("/api/live-data").status_code == 401


def test_sessions_end_after_their_idle_and_absolute_lifetimes(app, logged_in_client):
    runtime = get_runtime(app)
    real = runtime.sessions.clock
    start = real()
    try:
        runtime.sessions.clock = lambda: start + runtime.sessions.idle_seconds - 120
        assert logged_in_client.get("/api/live-data").status_code == 200        # used in time: lives on
        runtime.sessions.clock = lambda: start + 2 * runtime.sessions.idle_seconds - 180
        assert logged_in_client.get("/api/live-data").status_code == 200
        runtime.sessions.clock = lambda: start + runtime.sessions.max_seconds
        assert logged_in_client.get("/api/live-data").status_code == 401         # however busy, it ends
    finally:
        runtime.sessions.clock = real
    assert logged_in_client.get("/api/live-data").status_code == 401             # and stays ended


def test_remember_me_is_off_by_default(app):
    plain, kept = app.test_client(), app.test_client()
    log_in(plain)
    token = kept.get("/api/csrf").get_json()["csrf_token"]
    r = kept.post("/login", data={"username": "admin", "password": get_runtime(app).config.admin_password,
                                  "csrf_token": token, "remember": "on"})
    assert r.status_code == 302
    assert plain.get_cookie("session").expires is None                  # gone when the browser closes
    assert kept.get_cookie("session").expires is not None               # kept for SESSION_MAX_DAYS
    assert 'name="remember"' in plain.get("/login").get_data(as_text=True)


def test_an_admin_signs_a_user_out_everywhere_and_an_analyst_cannot(app, logged_in_client):
    r = logged_in_client.post("/api/v1/admin/users", json={"username": "ann", "password": "ann-password-1"})
    ann_id = r.get_json()["id"]
    ann = app.test_client()
    log_in(ann, "ann", "ann-password-1")
    assert ann.post(f"/api/v1/admin/users/{ann_id}/sign-out").status_code == 403
    assert logged_in_client.post(f"/api/v1/admin/users/{ann_id}/sign-out").status_code == 200
    assert ann.get("/api/live-data").status_code == 401
    assert logged_in_client.post("/api/v1/admin/users/999/sign-out").status_code == 404
    audit = logged_in_client.get("/api/v1/admin/audit").get_json()["entries"]
    assert audit[0]["action"] == "user.sign_out" and audit[0]["target"] == "ann"


# -- against a real server: the socket, and sessions shared by every web process -------------------

def test_a_saved_cookie_cannot_open_a_socket_after_logout_and_the_open_one_closes(server):
    s = server.session()
    saved = s.cookies.get("session")
    ws = server.ws(s)
    recv_json(ws)
    ws.send(json.dumps({"type": "subscribe", "channels": ["kpis"]}))
    recv_until(ws, lambda m: m["type"] == "subscribed")
    other = server.session()                                    # the same user on another device
    theirs = server.ws(other)
    recv_json(theirs)
    theirs.send(json.dumps({"type": "subscribe", "channels": ["kpis"]}))
    assert s.post(server.url + "/logout", data={"csrf_token": s.csrf}, allow_redirects=False).status_code == 302
    assert close_frame(ws, timeout=10)[:2] == (4001, "signed out")
    stolen = requests.Session()
    stolen.cookies.set("session", saved)
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        server.ws(stolen)
    assert info.value.status_code == 401
    assert stolen.post(server.url + "/api/token").status_code == 401
    recv_until(theirs, lambda m: m["type"] == "batch")         # the other device streams on
    theirs.close()


def test_a_ticket_dies_with_the_session_it_was_issued_in(server):
    s = server.session()
    ticket = s.post(server.url + "/api/token").json()["ticket"]
    s.post(server.url + "/logout", data={"csrf_token": s.csrf}, allow_redirects=False)
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        server.ws(origin=None, path=f"/ws?ticket={ticket}")
    assert info.value.status_code == 401
