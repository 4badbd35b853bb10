"""LiveConnection when something fails inside it, in-process with a stand-in socket: an exception while
handling a client message gets an `error` reply and the socket stays up; an exception anywhere else ends
the socket with 1011. Either way nothing escapes `serve` (the WSGI server would write an HTTP 500 onto the
upgraded socket) and the registry entry, the sender thread and the TCP connection are released. A database
that cannot be reached is not a failure of the socket: the message gets `database_unavailable`."""
import json
import threading
import time
from types import SimpleNamespace

from simple_websocket import ConnectionClosed
from wsproto.connection import ConnectionState
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.config import Config
from services.realtime.connections import ConnectionRegistry
from services.realtime.hub import InMemoryHub
from services.web.socket import LiveConnection


class StandInSocket:
    """What LiveConnection uses of a simple_websocket.Server: it reads `inbox`, then the client leaves."""

    def __init__(self, inbox, fail_receive: Exception | None = None):
        self.inbox, self.fail_receive = list(inbox), fail_receive
        self.sent, self.closed_with, self.connected, self.shut = [], None, True, False
        self.sock = SimpleNamespace(sendall=lambda data: None, shutdown=self._shutdown, settimeout=lambda seconds: None)
        self.thread = None
        self.ws, self.deflate = SimpleNamespace(state=ConnectionState.OPEN), False   # wsproto's state; no deflate

    def _shutdown(self, how):
        self.shut = True

    def receive(self, timeout=None):
        if self.fail_receive is not None and not self.inbox:
            raise self.fail_receive
        if self.inbox:
            return self.inbox.pop(0)
        time.sleep(0.3)            # let the sender write the replies, then the client goes away
        self.connected = False
        return None

    def send(self, data):
        if not self.connected:
            raise ConnectionClosed(1000, "")
        self.sent.append(json.loads(data))

    def close(self, reason=None, message=None):
        self.closed_with, self.connected = (reason, message), False


class FailingHub(InMemoryHub):
    def subscribe(self, subscription, topics):
        raise RuntimeError("hub broke")


def database_away(*args, **kwargs):
    raise PoolTimeout("QueuePool limit reached, connection timed out")   # what a stopped PostgreSQL gives


def runtime(hub=None, snapshot=None):
    return SimpleNamespace(config=Config(), connections=ConnectionRegistry(), hub=hub or InMemoryHub(), name="test",
                           snapshot=snapshot or (lambda tenant, since=None, selection=None: {"type": "snapshot"}),
                           principal_ended=lambda user: None, selections=None)


USER = SimpleNamespace(id=1, username="ann", role="viewer", tenant="t1")


def serve(ws, rt):
    threads = threading.active_count()
    conn = LiveConnection(ws, USER, rt)
    conn.serve()                                  # returns, never raises
    time.sleep(0.1)
    assert rt.connections.all() == [] and ws.shut and threading.active_count() == threads
    return conn


def test_a_message_whose_handling_fails_gets_an_error_and_the_socket_stays_up():
    ws = StandInSocket([json.dumps({"type": "subscribe", "channels": ["kpis"], "id": 1}),
                        json.dumps({"type": "ping", "id": 2})])
    serve(ws, runtime(FailingHub()))
    kinds = [(m["type"], m.get("code"), m.get("id")) for m in ws.sent]
    assert ("error", "server_error", None) in kinds and ("pong", None, 2) in kinds
    assert ws.closed_with is None                 # the client left on its own


def test_an_exception_outside_a_message_closes_with_1011():
    ws = StandInSocket([json.dumps({"type": "ping", "id": 1})], fail_receive=RuntimeError("reader broke"))
    serve(ws, runtime())
    assert ws.closed_with == (1011, "server error")
    assert [m["type"] for m in ws.sent] == ["welcome", "pong"]


def test_nesting_deeper_than_the_limit_is_refused_before_parsing():
    from services.realtime.protocol import MAX_DEPTH, ProtocolError, parse_client_message
    import pytest
    for text in ("[" * 30000 + "]" * 30000, '{"type":"ping","id":' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"):
        with pytest.raises(ProtocolError) as info:
            parse_client_message(text)
        assert info.value.code == "too_deep"
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)          # the object itself is one more level
    with pytest.raises(ProtocolError) as info:
        parse_client_message('{"type":"ping","id":' + nested + "}")
    assert info.value.code == "invalid_id"                            # parsed: deep enough is fine
    brackets_in_a_string = json.dumps({"type": "ping", "id": "[" * 100 + '\\"{' * 50})
    assert parse_client_message(brackets_in_a_string)["type"] == "ping"


def test_a_snapshot_asked_for_while_the_database_is_away_gets_database_unavailable_and_the_socket_stays_up():
    ws = StandInSocket([json.dumps({"type": "snapshot", "id": 1}), json.dumps({"type": "ping", "id": 2})])
    serve(ws, runtime(snapshot=database_away))
    kinds = [(m["type"], m.get("code"), m.get("id")) for m in ws.sent]
    assert ("error", "database_unavailable", None) in kinds and ("pong", None, 2) in kinds
    assert ws.closed_with is None
