"""The WebSocket endpoint with real clients against a real server."""
import json
import signal
import socket
import threading
import time

import pytest
import websocket

from helpers import LiveServer, close_frame, recv_json, recv_until

ALL = ["iot", "sensors", "alerts", "kpis", "health", "system", "market", "calculations", "notifications"]


def open_subscribed(server, admin, channels=ALL, **kwargs):
    ws = server.ws(admin, **kwargs)
    assert recv_json(ws)["type"] == "welcome"
    ws.send(json.dumps({"type": "subscribe", "channels": channels}))
    assert recv_until(ws, lambda m: m["type"] == "subscribed")["channels"] == sorted(channels)
    return ws


def batches(ws, seconds):
    frames, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        m = recv_json(ws, timeout=5)
        if m["type"] == "batch":
            frames.append((time.monotonic(), m))
    return frames


def close_code(ws, timeout=10):
    ws.settimeout(timeout)
    while True:
        opcode, frame = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(frame.data[:2], "big")


def test_login_is_required(server):
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        server.ws(None)
    assert info.value.status_code == 401


@pytest.mark.parametrize("origin", ["http://evil.example", "null", None, "http://127.0.0.1:1"])
def test_foreign_or_missing_origin_is_refused_before_upgrade(server, admin, origin):
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        server.ws(admin, origin=origin)
    assert info.value.status_code == 403


def test_welcome_then_data_flows_after_subscribe(server, admin):
    ws = server.ws(admin)
    welcome = recv_json(ws)
    assert welcome["type"] == "welcome" and welcome["user"] == "admin" and set(welcome["channels"]) == set(ALL)
    ws.send(json.dumps({"type": "subscribe", "channels": ["iot", "kpis"], "id": 7}))
    assert recv_until(ws, lambda m: m["type"] == "subscribed")["id"] == 7
    seen = set()
    for _, frame in batches(ws, 3):
        seen |= {m["type"] for m in frame["messages"]}
    assert {"iot_update", "kpi_update"} <= seen
    assert "alert" not in seen and "health_update" not in seen      # not subscribed
    ws.close()


def test_frames_are_rate_limited_and_sequenced(server, admin):
    ws = open_subscribed(server, admin)
    frames = batches(ws, 3)
    assert 5 <= len(frames) <= 36                       # <= ~10/s plus margin; the server sends 50 ev/s
    seqs = [f["seq"] for _, f in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)     # the frame clock's ticks: gaps are ticks
    assert all(b - a >= 1 for a, b in zip(seqs, seqs[1:]))              # with nothing new for this socket
    points = [m for _, f in frames for m in f["messages"] if m["type"] == "iot_update"]
    assert points and {"store", "dept", "weekly_sales", "temperature", "is_holiday"} <= set(points[0]["data"])
    assert {"anomaly_detected", "anomaly_score", "risk_level", "risk_score", "cluster"} <= set(points[0]["analysis"])
    ws.close()


def test_a_stalled_client_does_not_delay_another(server, admin):
    stalled = open_subscribed(server, admin, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    # Ask for far more than the socket buffers hold (~30 KB per snapshot) and never read: the
    # server's sender for this client is now blocked in a write.
    for _ in range(300):
        stalled.send(json.dumps({"type": "snapshot"}))
    healthy = open_subscribed(server, admin)
    frames = batches(healthy, 5)                        # the stalled client reads nothing meanwhile
    gaps = [b[0] - a[0] for a, b in zip(frames, frames[1:])]
    assert len(frames) >= 15 and max(gaps) < 1.5
    stalled.close()
    healthy.close()


@pytest.mark.parametrize("payload, code", [
    ("this is not json", "invalid_json"),
    ('{"type":"launch"}', "unknown_type"),
    ('{"type":"subscribe","channels":["secrets"]}', "unknown_channel"),
    ('{"type":"subscribe","channels":"iot"}', "invalid_channels"),
    ("[1,2,3]", "invalid_message"),
])
def test_bad_input_gets_an_error_and_the_connection_stays_up(server, admin, payload, code):
    ws = server.ws(admin)
    recv_json(ws)
    ws.send(payload)
    error = recv_until(ws, lambda m: m["type"] == "error")
    assert error["code"] == code and error["reason"]
    ws.send(json.dumps({"type": "ping", "id": "still-there"}))
    assert recv_until(ws, lambda m: m["type"] == "pong")["id"] == "still-there"
    ws.close()


def test_binary_frames_are_refused_with_an_error(server, admin):
    ws = server.ws(admin)
    recv_json(ws)
    ws.send_binary(b'{"type":"ping"}')
    assert recv_until(ws, lambda m: m["type"] == "error")["code"] == "binary_not_supported"
    ws.close()


def test_oversized_message_closes_with_1009(server, admin):
    ws = open_subscribed(server, admin)
    ws.send("x" * (64 * 1024 + 1))
    assert close_code(ws) == 1009


def test_snapshot_over_ws_matches_rest_shape(server, admin):
    ws = server.ws(admin)
    recv_json(ws)
    ws.send(json.dumps({"type": "snapshot", "id": "s1"}))
    snap = recv_until(ws, lambda m: m["type"] == "snapshot")
    rest = admin.get(server.url + "/api/live-data").json()
    assert snap["id"] == "s1" and set(snap) - {"id"} == set(rest)
    assert set(snap["kpis"]) == set(rest["kpis"])
    ws.close()


def test_unsubscribe_stops_points(server, admin):
    ws = open_subscribed(server, admin, channels=["iot", "kpis"])
    ws.send(json.dumps({"type": "unsubscribe", "channels": ["iot"]}))
    assert recv_until(ws, lambda m: m["type"] == "unsubscribed")["channels"] == ["kpis"]
    batches(ws, 0.5)                                    # let frames already coalesced drain
    late = [m for _, f in batches(ws, 2) for m in f["messages"]]
    assert late and all(m["type"] == "kpi_update" for m in late)
    ws.close()


def test_alerts_are_pushed_stored_and_survive_a_restart(tmp_path):
    srv = LiveServer(tmp_path / "restart", SIM_RATE=50, SIM_ANOMALY_RATE=0.1).start()
    try:
        session = srv.session()
        ws = open_subscribed(srv, session, channels=["alerts"])
        alert = recv_until(ws, lambda m: m["type"] == "batch" and any(x["type"] == "alert" for x in m["messages"]),
                           timeout=20)
        pushed = [m for m in alert["messages"] if m["type"] == "alert"][0]
        assert pushed["priority"] in ("HIGH", "CRITICAL") and pushed["why"] and pushed["message"]
        stored = session.get(srv.url + "/api/alerts?limit=500").json()["alerts"]
        assert pushed["id"] in [a["id"] for a in stored]
        stopping = threading.Thread(target=srv.stop)
        stopping.start()
        assert close_frame(ws)[:2] == (1012, "server restarting")    # told, not reset by the exit
        stopping.join()
        ws.close()
        srv.start()
        session = srv.session()
        after = session.get(srv.url + "/api/alerts?after_id=0&limit=500").json()["alerts"]
        assert pushed in after                                    # same alert, same fields, after restart
        ws = srv.ws(session)
        recv_json(ws)
        ws.send(json.dumps({"type": "snapshot", "since_alert_id": pushed["id"] - 1}))
        snap = recv_until(ws, lambda m: m["type"] == "snapshot")
        assert snap["missed_alerts"][0]["id"] == pushed["id"]
        ws.close()
    finally:
        srv.stop()


def test_server_pings_and_drops_nothing_while_answered(tmp_path):
    srv = LiveServer(tmp_path / "ping", SIM_RATE=0, SIMULATOR="off", WS_PING_INTERVAL=1).start()
    try:
        ws = srv.ws(srv.session())
        ws.settimeout(5)
        pings, deadline = 0, time.monotonic() + 3.5
        while time.monotonic() < deadline:
            opcode, _ = ws.recv_data_frame(True)          # websocket-client answers pings with pongs
            pings += opcode == websocket.ABNF.OPCODE_PING
        assert pings >= 2
        ws.send(json.dumps({"type": "ping", "id": 1}))
        assert recv_until(ws, lambda m: m["type"] == "pong")["id"] == 1
        ws.close()
    finally:
        srv.stop()


def test_market_updates_reach_every_tenant_and_the_snapshot_keeps_history(tmp_path):
    from helpers import LiveServer
    srv = LiveServer(tmp_path / "m", SIMULATOR="off", MARKET_PERIOD=0.2).start()
    try:
        ws = srv.ws(srv.session())
        recv_json(ws)
        ws.send(json.dumps({"type": "subscribe", "channels": ["market"]}))
        frame = recv_until(ws, lambda m: m["type"] == "batch" and m["messages"])
        update = frame["messages"][-1]
        assert update["type"] == "market_update"
        assert set(update["values"]) == {"discount_rate", "inflation_rate", "market_growth", "technology_index",
                                         "ai_adoption_rate"}
        assert set(update["change_since_open"]) == set(update["values"]) and update["open"]
        time.sleep(0.5)
        market = srv.session().get(srv.url + "/api/live-data").json()["market"]
        assert len(market["history"]) >= 3
        assert market["history"][-1] == {"timestamp": market["latest"]["timestamp"], **market["latest"]["values"]}
        ws.close()
    finally:
        srv.stop()


def calc(ws, calc_id, kind, params):
    ws.send(json.dumps({"type": "calculate", "calculation_id": calc_id, "calculation_type": kind,
                        "parameters": params}))


def updates_until_done(ws, calc_id, timeout=20, others=None):
    """The calculation_update messages of one calculation up to its final one (other messages go to `others`)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = recv_json(ws, max(0.1, deadline - time.monotonic()))
        for u in (m["messages"] if m["type"] == "batch" else [m]):
            if u.get("type") == "calculation_update" and u["calculation_id"] == calc_id:
                seen.append(u)
            elif others is not None:
                others.append(u)
        if seen and seen[-1]["status"] in ("completed", "failed"):
            return seen
    raise AssertionError(f"no final update for {calc_id}: {seen}")


def test_calculate_over_the_websocket_reports_progress_and_the_result(server, admin):
    ws = server.ws(admin)
    recv_json(ws)
    calc(ws, "c1", "npv", {"cash_flows": [300, 400, 500], "discount_rate": 0.1, "initial_investment": 1000})
    updates = updates_until_done(ws, "c1")
    assert updates[0]["status"] == "started" and updates[-1]["status"] == "completed"
    assert round(updates[-1]["result"]["npv"], 2) == -21.04 and updates[-1]["progress"] == 100
    calc(ws, "mc", "monte_carlo", {"cash_flows": [100] * 10, "discount_rate": {"dist": "normal", "mean": 0.08,
                                   "std": 0.02}, "initial_investment": 600, "scenarios": 1_000_000, "seed": 3})
    updates = updates_until_done(ws, "mc")
    progress = [u["progress"] for u in updates if u["status"] == "processing"]
    assert progress == sorted(progress) and updates[-1]["status"] == "completed"
    assert 0 <= updates[-1]["result"]["p_negative"] <= 1 and updates[-1]["result"]["scenarios"] == 1_000_000
    ws.close()


def test_bad_calculations_fail_with_the_reason_and_only_their_user_hears(server, admin):
    from services.storage.db import Database
    from services.security.users import UserStore
    UserStore(Database(server.data_dir / "pulseboard.db")).create("other-user", "other-pass-1")
    mine, theirs = server.ws(admin), server.ws(server.session("other-user", "other-pass-1"))
    for ws in (mine, theirs):
        recv_json(ws)
        ws.send(json.dumps({"type": "subscribe", "channels": ["calculations", "notifications"]}))
        recv_until(ws, lambda m: m["type"] == "subscribed")
    calc(mine, "bad", "npv", {"cash_flows": [100], "discount_rate": -1.5})
    others: list = []
    failed = updates_until_done(mine, "bad", others=others)[-1]
    assert failed["status"] == "failed" and failed["field"] == "discount_rate" and "-100" in failed["message"]
    if not any(m["type"] == "notification" for m in others):
        frame = recv_until(mine, lambda m: m["type"] == "batch" and any(x["type"] == "notification"
                                                                        for x in m["messages"]))
        others += frame["messages"]
    assert next(m for m in others if m["type"] == "notification")["level"] == "error"
    mine.send(json.dumps({"type": "calculate", "calculation_id": "", "calculation_type": "npv", "parameters": {}}))
    assert recv_until(mine, lambda m: m["type"] == "error")["code"] == "invalid_calculation_id"
    theirs.settimeout(1.5)
    with pytest.raises(Exception):                   # nothing of it reached the other user
        while True:
            m = json.loads(theirs.recv())
            assert not (m["type"] == "batch" and any(x["type"] in ("calculation_update", "notification")
                                                     for x in m["messages"]))
    mine.close()
    theirs.close()


def test_logging_out_closes_that_users_sockets_only(server):
    from services.storage.db import Database
    from services.security.users import UserStore
    UserStore(Database(server.data_dir / "pulseboard.db")).create("leaver", "leaver-pass-1")
    leaver, stayer = server.session("leaver", "leaver-pass-1"), server.session()
    mine, theirs = server.ws(leaver), server.ws(stayer)
    for ws in (mine, theirs):
        recv_json(ws)
        ws.send(json.dumps({"type": "subscribe", "channels": ["kpis"]}))
    assert leaver.post(server.url + "/logout", data={"csrf_token": leaver.csrf}, allow_redirects=False).status_code == 302
    mine.settimeout(5)
    seen = []
    while True:                                                           # frames, session_ended, then the close
        opcode, data = mine.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        seen.append(json.loads(data)["type"])
    assert int.from_bytes(data[:2], "big") == 4001 and b"signed out" in data
    assert seen[-1] == "session_ended"
    recv_until(theirs, lambda m: m["type"] == "batch")                     # the other user streams on
    theirs.close()


def test_a_password_reset_closes_the_users_sockets_at_once(server, admin):
    """At once, not at the next session check (WS_SESSION_CHECK is 10 s here): the Admin API tells
    every web process through the hub."""
    r = admin.post(server.url + "/api/v1/admin/users", json={"username": "rita", "password": "rita-password-1"})
    assert r.status_code == 201, r.text
    ws = server.ws(server.session("rita", "rita-password-1"))
    recv_json(ws)
    ws.send(json.dumps({"type": "subscribe", "channels": ["kpis"]}))
    recv_until(ws, lambda m: m["type"] == "subscribed")
    assert admin.patch(server.url + f"/api/v1/admin/users/{r.json()['id']}",
                       json={"password": "rita-password-2"}).status_code == 200
    changed = time.monotonic()
    code, reason, seen = close_frame(ws, timeout=15)
    assert (code, reason) == (4001, "password changed") and seen[-1] == "session_ended"
    assert time.monotonic() - changed < 5          # not the session check's doing: that comes after 10 s


def test_sigterm_stops_the_embedded_server_as_ctrl_c_does(tmp_path):
    """`kill`, systemd and docker stop: the sockets are told 1012 and the process ends cleanly."""
    srv = LiveServer(tmp_path / "term", SIMULATOR="off")
    srv.start()
    try:
        ws = srv.ws(srv.session())
        recv_json(ws)
        srv.proc.send_signal(signal.SIGTERM)
        assert close_frame(ws)[:2] == (1012, "server restarting")
        assert srv.proc.wait(15) == 0
    finally:
        srv.stop()
