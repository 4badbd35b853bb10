"""Every way a socket ends releases it, against a real `python app.py`: the registry entry (the open
connections figure and the per-user cap), and nothing but WebSocket frames on the wire up to the
close frame, then the end of the TCP connection (a raw socket reads everything until EOF)."""
import base64
import json
import os
import socket
import struct
import time

import pytest
import websocket

from helpers import LiveServer, recv_json, recv_until

CAP = 4                       # WS_MAX_PER_USER below
TOO_BIG = 64 * 1024 + 1       # one byte over the default WS message limit
OPCODE_TEXT, OPCODE_CONT, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG = 1, 0, 8, 9, 10


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("wsl"), SIM_RATE=50, WS_MAX_PER_USER=CAP, WS_MAX_CONNECTIONS=CAP + 2,
                        WS_MESSAGE_RATE=2, WS_PING_INTERVAL=1.5).start()
    server.admin = server.session()
    yield server
    server.stop()


class RawSocket:
    """A WebSocket client written by hand, so a test can send any frame and see every byte the server writes."""

    def __init__(self, srv, session, rcvbuf: int | None = None):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", srv.port))
        cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Origin: {srv.origin}\r\nCookie: {cookie}\r\n\r\n").encode())
        self.data = b""
        while b"\r\n\r\n" not in self.data:
            self.data += self.sock.recv(4096)
        head, self.data = self.data.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        mask, n = os.urandom(4), len(payload)
        header = bytes([(0x80 if fin else 0) | opcode])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""
        self.sock.sendall(header + mask + masked)

    def text(self, message) -> None:
        self.frame(OPCODE_TEXT, (message if isinstance(message, str) else json.dumps(message)).encode())

    def _frames(self) -> list:
        """Take the complete frames at the front of what was read; stops after a close frame."""
        frames, data = [], self.data
        while len(data) >= 2:
            opcode, n, pos = data[0] & 0x0F, data[1] & 0x7F, 2
            if n >= 126:
                width = 2 if n == 126 else 8
                if len(data) < pos + width:
                    break
                n, pos = int.from_bytes(data[pos:pos + width], "big"), pos + width
            if len(data) < pos + n:
                break
            frames.append((opcode, data[pos:pos + n]))
            data = data[pos + n:]
            if opcode == OPCODE_CLOSE:
                break
        self.data = data
        return frames

    def messages_until(self, predicate, timeout: float = 10) -> list[dict]:
        """Read text messages until one satisfies `predicate`."""
        self.sock.settimeout(timeout)
        seen = []
        while True:
            for opcode, payload in self._frames():
                if opcode == OPCODE_TEXT:
                    seen.append(json.loads(payload))
                    if predicate(seen[-1]):
                        return seen
            self.data += self.sock.recv(65536)

    def until_eof(self, timeout: float = 10) -> tuple[list, bytes]:
        """Read until the server ends the TCP connection: (frames up to and with the close frame,
        the bytes that followed the close frame). Times out if the server never ends it."""
        self.sock.settimeout(timeout)
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            self.data += chunk
        frames = self._frames()
        return frames, self.data

    def close(self) -> None:
        self.sock.close()


def close_of(frames) -> int:
    assert frames and frames[-1][0] == OPCODE_CLOSE, "no close frame before EOF"
    return int.from_bytes(frames[-1][1][:2], "big")


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
    assert s.post(srv.url + "/logout", data={"csrf_token": s.csrf}, allow_redirects=False).status_code == 302
    frames, after = raw.until_eof()
    raw.close()
    assert close_of(frames) == 4001 and after == b""
    assert_released(srv)
