"""The socket loop (services.web.socket_loop) on real socket pairs, with wsproto as the client: frames
and replies go out, messages reach the handler in order on a worker, and the ways a socket ends
(the client's close, a message too big, no pong, a client that never reads) end that socket only."""
import json
import socket
import threading
import time

from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import CloseConnection, Ping, TextMessage

from services.realtime.hub import Message
from services.realtime.outbox import Outbox
from services.realtime.protocol import batch_frame
from services.web.socket_loop import SocketLoop


class Handler:
    """What the loop calls on a connection; records the messages and on which thread they came."""

    def __init__(self):
        self.outbox = Outbox(interval=0.05)
        self.messages, self.threads = [], set()
        self.released_event = threading.Event()
        self.checks = []

    def message(self, text):
        self.messages.append(text)
        self.threads.add(threading.current_thread().name)
        self.outbox.direct(json.dumps({"type": "echo", "text": text}))

    def check(self, memo):
        self.checks.append((time.monotonic(), id(memo)))

    def closing(self):
        return 1000, "bye", self.outbox.take_direct()

    def released(self):
        self.released_event.set()


class Client:
    def __init__(self, sock):
        self.sock, self.ws = sock, Connection(ConnectionType.CLIENT)
        self.sock.settimeout(5)

    def send(self, event):
        self.sock.sendall(self.ws.send(event))

    def events(self, until, timeout=5.0):
        """Read until `until(events so far)` holds; the events."""
        got, deadline = [], time.monotonic() + timeout
        while not until(got):
            assert time.monotonic() < deadline, f"gave up waiting; got {got!r}"
            data = self.sock.recv(65536)
            if not data:
                break
            self.ws.receive_data(data)
            got.extend(self.ws.events())
        return got


def loop_with(write_timeout=10.0, ping=None, max_message=1000):
    return SocketLoop(0.05, ping, max_message, write_timeout)


def connect(loop):
    server, client = socket.socketpair()
    handler = Handler()
    peer = loop.adopt(server, Connection(ConnectionType.SERVER), False, handler)
    return Client(client), handler, peer


def texts(events):
    return [json.loads(e.data) for e in events if isinstance(e, TextMessage)]


def test_messages_reach_the_handler_in_order_on_a_worker_and_replies_and_frames_come_back():
    loop = loop_with()
    client, handler, peer = connect(loop)
    for i in range(20):
        client.send(TextMessage(data=f"m{i}"))
    echoes = texts(client.events(lambda got: len(texts(got)) >= 20))
    assert [e["text"] for e in echoes] == [f"m{i}" for i in range(20)] == handler.messages
    assert all(name.startswith("ws-work") for name in handler.threads)
    handler.outbox.add("t:alerts", [Message("alert", None, '{"type":"alert","id":1}')])
    [frame] = texts(client.events(lambda got: texts(got)))
    assert frame["type"] == "batch" and frame["messages"] == [{"type": "alert", "id": 1}]
    client.send(CloseConnection(1000, "done"))
    assert isinstance(client.events(lambda got: got)[0], CloseConnection)
    assert peer.finished.wait(3) and handler.released_event.is_set() and loop.count() == 0


def test_a_message_over_the_limit_closes_with_1009():
    loop = loop_with(max_message=100)
    client, handler, peer = connect(loop)
    client.send(TextMessage(data="x" * 101))
    [close] = [e for e in client.events(lambda got: any(isinstance(e, CloseConnection) for e in got))
               if isinstance(e, CloseConnection)]
    assert close.code == 1009 and handler.messages == []
    assert peer.finished.wait(3)


def test_no_pong_closes_with_1008_and_a_pong_keeps_the_socket():
    loop = loop_with(ping=0.2)
    answering, _, kept = connect(loop)
    silent, _, dropped = connect(loop)
    got = answering.events(lambda got: any(isinstance(e, Ping) for e in got))
    answering.send([e for e in got if isinstance(e, Ping)][0].response())
    close = [e for e in silent.events(lambda got: any(isinstance(e, CloseConnection) for e in got))
             if isinstance(e, CloseConnection)]
    assert close[0].code == 1008 and dropped.finished.wait(3)
    assert not kept.finished.is_set()


def test_a_client_that_never_reads_is_dropped_and_the_others_go_on():
    loop = loop_with(write_timeout=0.5)
    reader, reader_handler, reader_peer = connect(loop)
    stuck, stuck_handler, stuck_peer = connect(loop)
    stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    big = '{"type":"alert","x":"' + "y" * 60000 + '"}'
    started = time.monotonic()
    for _ in range(40):                   # far more than the socket buffers hold
        stuck_handler.outbox.direct(big)
    assert stuck_peer.finished.wait(5) and 0.4 < time.monotonic() - started < 5
    reader_handler.outbox.direct(batch_frame(1, []))
    assert texts(reader.events(lambda got: texts(got)))[0]["type"] == "batch"
    assert not reader_peer.finished.is_set()


def closes(client):
    return [e for e in client.events(lambda got: any(isinstance(e, CloseConnection) for e in got))
            if isinstance(e, CloseConnection)]


def test_a_refused_frame_is_followed_by_the_end_of_the_stream_without_waiting_for_the_client():
    """Our close frame, then FIN: a client that never answers the close still reads EOF at once."""
    loop = loop_with(max_message=100)
    client, _, peer = connect(loop)
    client.send(TextMessage(data="x" * 101))
    assert closes(client)[0].code == 1009
    started = time.monotonic()
    assert client.sock.recv(100) == b"" and time.monotonic() - started < 0.5     # EOF, not CLOSE_WAIT_SECONDS later
    client.sock.close()
    assert peer.finished.wait(3)


def test_shutdown_closes_every_socket_with_1012_and_any_adopted_after_it():
    loop = loop_with()
    clients = [connect(loop) for _ in range(3)]
    for client, _, _ in clients:
        client.send(TextMessage(data="hello"))
        client.events(lambda got: texts(got))                  # the loop has them all
    assert loop.shutdown(timeout=3)
    for client, handler, peer in clients:
        assert closes(client)[0].code == 1012 and peer.finished.wait(3) and handler.released_event.wait(3)
    late, _, late_peer = connect(loop)
    assert closes(late)[0].code == 1012 and late_peer.finished.wait(3)


def test_shutdown_of_a_loop_that_never_had_a_socket_returns_at_once():
    assert loop_with().shutdown(timeout=0.1)


def test_each_socket_is_checked_every_second_on_its_own_tick_with_one_memo_per_second():
    loop = loop_with()                       # 0.05 s ticks: 20 phases
    connections = [connect(loop) for _ in range(20)]         # the clients are kept: a dropped one closes
    handlers = [handler for _, handler, _ in connections]
    deadline = time.monotonic() + 5
    while not all(len(h.checks) >= 3 for h in handlers):
        assert time.monotonic() < deadline, [len(h.checks) for h in handlers]
        time.sleep(0.05)
    second_checks = [h.checks[1] for h in handlers]          # the first may come with the socket's arrival
    ticks = {round(at / 0.05) for at, _ in second_checks}
    assert len(ticks) >= 10                                  # spread over the second, not all on one tick
    for h in handlers:
        assert 0.9 < h.checks[2][0] - h.checks[1][0] < 1.5     # once a second each
    assert len({memo for _, memo in second_checks}) <= 3     # a memo per second (the checks may straddle two)
