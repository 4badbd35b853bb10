"""The /ws handler's failure paths under gunicorn's gevent workers (the embedded server's:
integration/test_ws_lifecycle.py): deep JSON gets an error, an oversized message a 1009 close, and
nothing but WebSocket frames ever reaches the client, then the end of the TCP connection."""
import signal
import struct
import time

import pytest

from helpers import GUNICORN, LiveServer, close_frame, recv_json
from raw_ws import OPCODE_CLOSE, OPCODE_TEXT, RawSocket, close_of


@pytest.fixture(scope="module")
def web(tmp_path_factory, redis_server):
    server = LiveServer(tmp_path_factory.mktemp("gws"), command=GUNICORN, REDIS_URL=redis_server.url,
                        SIMULATOR="off", WEB_CONCURRENCY=1, WS_MAX_PER_USER=2).start()
    server.admin = server.session()
    yield server
    server.stop()


def test_deeply_nested_json_gets_an_error_not_http(web):
    raw = RawSocket(web, web.admin)
    raw.text("[" * 30000 + "]" * 30000)
    raw.text({"type": "ping", "id": "after"})
    messages = raw.messages_until(lambda m: m["type"] == "pong")
    assert [m["code"] for m in messages if m["type"] == "error"] == ["too_deep"]
    raw.frame(OPCODE_CLOSE, struct.pack("!H", 1000))
    frames, after = raw.until_eof()
    raw.close()
    assert close_of(frames) == 1000 and after == b""


def test_oversized_messages_close_with_1009_and_free_the_socket(web):
    for _ in range(3):                      # one more than the per-user cap
        raw = RawSocket(web, web.admin)
        raw.frame(OPCODE_TEXT, b"x" * (64 * 1024 + 1))
        frames, after = raw.until_eof()
        raw.close()
        assert close_of(frames) == 1009 and after == b""
    raw = RawSocket(web, web.admin)
    raw.text({"type": "ping", "id": "room"})
    assert raw.messages_until(lambda m: m["type"] == "pong")[-1]["id"] == "room"
    raw.close()


def test_a_graceful_stop_closes_the_sockets_with_1012_and_does_not_wait_for_them(tmp_path, redis_server):
    """SIGTERM: gunicorn waits up to graceful_timeout (10 s) for open requests, and a WebSocket never ends
    by itself; the worker closes them (1012, Service Restart) and the server is gone well before that."""
    server = LiveServer(tmp_path / "graceful", command=GUNICORN, REDIS_URL=redis_server.url, SIMULATOR="off",
                        WEB_CONCURRENCY=1).start()
    try:
        session = server.session()
        sockets = [server.ws(session) for _ in range(3)]
        for ws in sockets:
            recv_json(ws)                                   # welcome: the worker holds the socket
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        for ws in sockets:
            assert close_frame(ws)[:2] == (1012, "server restarting")
        assert server.proc.wait(9) == 0 and time.monotonic() - started < 9
        assert "Traceback" not in server.log_path.read_text() and "exited with code" not in server.log_path.read_text()
    finally:
        server.stop()
