"""In-process LiveConnection fixtures for unit tests (no socket: the socket loop calls these methods)."""
import json
from types import SimpleNamespace

from services.config import Config
from services.realtime.connections import ConnectionRegistry
from services.realtime.hub import InMemoryHub
from services.web.socket import LiveConnection

USER = SimpleNamespace(id=1, username="ann", role="viewer", tenant="t1")


def runtime(hub=None, snapshot=None):
    return SimpleNamespace(config=Config(), connections=ConnectionRegistry(), hub=hub or InMemoryHub(), name="test",
                           snapshot=snapshot or (lambda tenant, since=None, selection=None: {"type": "snapshot"}),
                           principal_ended=lambda user: None, selections=None)


def opened(rt) -> LiveConnection:
    conn = LiveConnection(USER, rt)
    conn.open()
    assert rt.connections.all() == [conn]
    return conn


def replies(conn) -> list[dict]:
    return [json.loads(text) for text in conn.outbox.take_direct()]
