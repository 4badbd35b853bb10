"""Every way a socket ends releases it, against a real `python app.py`: the registry entry (the open
connections figure and the per-user cap), and nothing but WebSocket frames on the wire up to the
close frame, then the end of the TCP connection (a raw socket reads everything until EOF)."""
import json
import socket
import struct
import time

import pytest

from helpers import LiveServer, recv_json, recv_until
from raw_ws import OPCODE_CLOSE, OPCODE_CONT, OPCODE_TEXT, RawSocket, close_of

CAP = 4                       # WS_MAX_PER_USER below
TOO_BIG = 64 * 1024 + 1       # one byte over the default WS message limit


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("wsl"), SIM_RATE=50, WS_MAX_PER_USER=CAP, WS_MAX_CONNECTIONS=CAP + 2,
                        WS_MESSAGE_RATE=2, WS_PING_INTERVAL=1.5).start()
    server.admin = server.session()
    yield server
    server.stop()


def open_count(srv) -> int:
    return srv.admin.get(srv.url + "/api/live-data").json()["stats"]["connections"]


def wait_count(srv, expected: int, timeout: float = 8) -> None:
    """The open connections figure (system stats, refreshed each second) reaches `expected`."""
    deadline = time.monotonic() + timeout
    while open_count(srv) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert open_count(srv) == expected


def assert_released(srv, timeout: float = 8) -> None:
    """The count of open sockets is back to none, and the user can open its whole cap again."""
    wait_count(srv, 0, timeout)
    fresh = [srv.ws(srv.admin) for _ in range(CAP)]
    for ws in fresh:
        assert recv_json(ws)["type"] == "welcome"
        ws.close()
    wait_count(srv, 0, timeout)


def subscribed(srv, **kwargs):
    ws = srv.ws(srv.admin, **kwargs)
    assert recv_json(ws)["type"] == "welcome"
    ws.send(json.dumps({"type": "subscribe", "channels": ["kpis"]}))
    recv_until(ws, lambda m: m["type"] == "subscribed")
    return ws


def oversized_single(raw):
    raw.frame(OPCODE_TEXT, b"x" * TOO_BIG)


def oversized_fragmented(raw):
    raw.frame(OPCODE_TEXT, b"x" * 40000, fin=False)
    raw.frame(OPCODE_CONT, b"x" * 40000, fin=True)


def invalid_utf8(raw):
    raw.frame(OPCODE_TEXT, b'{"type":"ping","id":"\xff\xfe"}')


@pytest.mark.parametrize("offend, code", [(oversized_single, 1009), (oversized_fragmented, 1009),
                                          (invalid_utf8, 1007)])
def test_a_refused_frame_closes_cleanly_and_releases_the_socket(srv, offend, code):
    """More offences than the per-user cap: a leaked socket per offence would end in 429."""
    for _ in range(CAP + 1):
        raw = RawSocket(srv, srv.admin)
        offend(raw)
        frames, after = raw.until_eof()
        raw.close()
        assert close_of(frames) == code and after == b""       # nothing follows the close frame
    assert_released(srv)


def test_a_flood_is_told_rate_limited_before_the_1008_close(srv):
    raw = RawSocket(srv, srv.admin)
    try:
        for i in range(200):
            raw.text({"type": "ping", "id": i})
    except OSError:      # the server may have closed while we were still sending
        pass
    frames, after = raw.until_eof()
    raw.close()
    messages = [json.loads(p) for op, p in frames if op == OPCODE_TEXT]
    assert close_of(frames) == 1008 and after == b""
    assert any(m["type"] == "error" and m["code"] == "rate_limited" for m in messages)
    assert_released(srv)


def test_deeply_nested_json_gets_an_error_and_the_socket_stays_up(srv):
    raw = RawSocket(srv, srv.admin)
    raw.text("[" * 30000 + "]" * 30000)
    raw.text('{"type":"ping","id":' + "[" * 40 + "]" * 40 + "}")
    raw.text({"type": "ping", "id": "after"})
    messages = raw.messages_until(lambda m: m["type"] == "pong")
    assert [m["code"] for m in messages if m["type"] == "error"] == ["too_deep", "too_deep"]
    assert messages[-1]["id"] == "after"
    raw.frame(OPCODE_CLOSE, struct.pack("!H", 1000))
    frames, after = raw.until_eof()
    raw.close()
    assert close_of(frames) == 1000 and after == b""
    assert_released(srv)


def test_a_client_close_or_abort_releases_the_socket(srv):
    clean = subscribed(srv)
    clean.close()
    aborted = subscribed(srv)
    aborted.sock.shutdown(socket.SHUT_RDWR)       # no close frame: the TCP connection just ends
    aborted.sock.close()
    reset = subscribed(srv)                       # a TCP reset
    reset.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    reset.sock.close()
    assert_released(srv)


def test_a_client_that_stops_answering_pings_is_closed_and_released(srv):
    """Half-open: the client neither reads nor answers pings, so the server's writes back up too."""
    silent = RawSocket(srv, srv.admin, rcvbuf=4096)
    silent.text({"type": "subscribe", "channels": ["iot", "kpis", "health", "system"]})
    for _ in range(3):                            # within the message rate; the client reads none of it
        silent.text({"type": "snapshot"})
    wait_count(srv, 1)
    assert_released(srv, timeout=15)
    silent.close()


def test_logout_closes_with_4001_and_nothing_after_it(srv):
    s = srv.session()
    raw = RawSocket(srv, s)
    raw.text({"type": "subscribe", "channels": ["kpis"]})
    # The socket is registered before the server says `subscribed`: log out only then, or the logout
    # could find nothing to close yet (the session check would close it, but seconds later).
    raw.messages_until(lambda m: m.get("type") == "subscribed")
    assert s.post(srv.url + "/logout", data={"csrf_token": s.csrf}, allow_redirects=False).status_code == 302
    frames, after = raw.until_eof()
    raw.close()
    assert close_of(frames) == 4001 and after == b""
    assert_released(srv)
