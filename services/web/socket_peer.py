"""One socket's state on the socket loop (services.web.socket_loop), and what the loop needs of the
connection behind it."""
from __future__ import annotations

import ctypes
import socket
import threading
from collections import deque
from typing import Protocol

from wsproto.connection import Connection


class Handler(Protocol):
    """What the loop needs of a connection (services.web.socket.LiveConnection)."""
    outbox: object

    def message(self, data) -> None: ...
    def check(self, memo: dict) -> None: ...
    def closing(self) -> tuple[int, str, list[str]]: ...
    def released(self) -> None: ...


def send_holding_the_gil():
    """libc's send(2) as a function that keeps the GIL during the call, or None where there is none."""
    try:
        send = ctypes.PyDLL(None, use_errno=True).send
    except (OSError, AttributeError):
        return None
    send.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    send.restype = ctypes.c_ssize_t
    return send


class Peer:
    """One socket's state on the loop."""

    def __init__(self, sock: socket.socket, ws: Connection, deflate: bool, handler: Handler, now: float,
                 ping_interval: float | None):
        self.sock, self.ws, self.deflate, self.handler = sock, ws, deflate, handler
        self.out: deque[bytes] = deque()   # whole writes; the first one sent up to `out_offset`
        self.out_offset = 0
        self.out_bytes = 0
        self.blocked_since: float | None = None
        self.parts: list = []
        self.size = 0
        self.inbox: deque = deque()         # messages waiting for the pool, handled one at a time
        self.busy = False
        self.next_ping = now + ping_interval if ping_interval else None
        self.awaiting_pong = False
        self.close_by: float | None = None  # set once our close frame is queued
        self.finished = threading.Event()
        self.phase = 0                      # its tick within each second (checks; lazy frames)
