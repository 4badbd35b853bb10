"""WebSocket limits against a real server: caps, message rate, idle sockets, disabled accounts."""
import json
import time

import pytest
import websocket

from helpers import LiveServer, close_frame, recv_json, recv_until
from services.storage.db import Database
from services.security.users import UserStore


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("wsh"), SIM_RATE=20, WS_MAX_PER_USER=2, WS_MAX_CONNECTIONS=4,
                        WS_MESSAGE_RATE=2, WS_SUBSCRIBE_TIMEOUT=1, WS_SESSION_CHECK=0.3).start()
    users = UserStore(Database(server.data_dir / "pulseboard.db"))
    for name in ("bea", "cid", "dee"):
        users.create(name, f"{name}-password-1")
    server.users = users
    yield server
    server.stop()


def session(srv, name):
    return srv.session(name, f"{name}-password-1")


def subscribed(srv, s):
    ws = srv.ws(s)
    recv_json(ws)
    ws.send(json.dumps({"type": "subscribe", "channels": ["kpis"]}))
    recv_until(ws, lambda m: m["type"] == "subscribed")
    return ws


def test_connection_caps_per_user_and_per_server(srv):
    bea, cid, dee = session(srv, "bea"), session(srv, "cid"), session(srv, "dee")
    mine = [subscribed(srv, bea), subscribed(srv, bea)]
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        srv.ws(bea)
    assert info.value.status_code == 429
    theirs = [subscribed(srv, cid), subscribed(srv, cid)]             # 4 open: the server's cap
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        srv.ws(dee)
    assert info.value.status_code == 503
    for ws in mine + theirs:
        ws.close()
    time.sleep(0.5)
    subscribed(srv, dee).close()                                      # room again once they left


def test_a_flood_of_messages_is_refused_then_closed(srv):
    ws = subscribed(srv, session(srv, "bea"))
    for _ in range(8):                                                # a burst of 4 is fine at 2/s; then refusals
        ws.send(json.dumps({"type": "ping"}))
    refused = recv_until(ws, lambda m: m["type"] == "error")
    assert refused["code"] == "rate_limited"
    for _ in range(30):                                               # keep at it: closed
        ws.send(json.dumps({"type": "ping"}))
    assert close_frame(ws)[:2] == (1008, "too many messages")


def test_a_socket_that_never_subscribes_is_closed(srv):
    ws = srv.ws(session(srv, "cid"))
    assert close_frame(ws)[:2] == (1008, "idle: subscribe to a channel")


def test_disabling_an_account_ends_its_sockets_and_session(srv):
    s = session(srv, "dee")
    ws = subscribed(srv, s)
    user_id = srv.users.find("dee").id
    srv.users.set_active(user_id, False)
    try:
        started = time.monotonic()
        code, reason, seen = close_frame(ws)
        assert (code, reason) == (4003, "account disabled") and seen[-1] == "session_ended"
        assert time.monotonic() - started < 3
        assert s.get(srv.url + "/api/live-data").status_code == 401
    finally:
        srv.users.set_active(user_id, True)


def test_a_new_password_ends_the_sessions_sockets_and_tickets_made_with_the_old_one(srv):
    """Changed where nothing tells the web process (the database, as `python -m services.security.users
    passwd` does): the session check still notices within seconds."""
    s = session(srv, "cid")
    ws = subscribed(srv, s)
    ticket = s.post(srv.url + "/api/token").json()["ticket"]
    user_id = srv.users.find("cid").id
    srv.users.set_password(user_id, "cid-password-2")
    try:
        started = time.monotonic()
        code, reason, seen = close_frame(ws)
        assert (code, reason) == (4001, "signed out") and seen[-1] == "session_ended"   # its session is gone
        assert time.monotonic() - started < 3
        assert s.get(srv.url + "/api/live-data").status_code == 401
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            srv.ws(None, origin=None, path=f"/ws?ticket={ticket}")
        assert refused.value.status_code == 401
        fresh = srv.session("cid", "cid-password-2")                   # the new password signs in
        assert fresh.get(srv.url + "/api/live-data").status_code == 200
    finally:
        srv.users.set_password(user_id, "cid-password-1")
