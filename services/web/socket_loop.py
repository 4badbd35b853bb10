"""Every WebSocket of the process on one loop: no thread per socket.

A thread per socket (or three, as before) costs its stack and its malloc arena once it has done real
work, 100-500 KB a socket; a thousand dashboards would need a gigabyte and thousands of threads
queueing for the GIL. Here one thread (under gunicorn's gevent worker, one greenlet) owns every socket
after the handshake: it reads with wsproto, answers pings and closes, and on each tick of the frame
clock takes every connection's due frame (services.realtime.frames: encoded once for all the
sockets that take it) and writes it without blocking. Writes that do not fit wait in the socket's
own queue; a socket with a backlog takes no new frame (its outbox coalesces meanwhile, and after
two seconds resyncs it with a snapshot), and one that takes nothing for `write_timeout` is dropped.

Client messages, and the periodic session and hub checks, may touch the database: they run on a
small pool of workers, a socket's messages one at a time and in order, never on the loop.

Writes call libc's send(2) without letting go of the GIL (`ctypes.PyDLL`; elsewhere than Linux, the
socket's own `send`). A non-blocking send only copies into the socket's buffer, a few microseconds;
but `socket.send` lets go of the GIL around it, and taking it back waits for whichever thread got
it (the pipeline's, up to the 5 ms switch interval). Measured with 1,000 sockets and one busy thread
beside the loop: a tick took 0.98 s with `socket.send`, about 30 ms when the GIL is kept.
"""
from __future__ import annotations

import ctypes
import errno
import itertools
import logging
import selectors
import socket
import threading
import time
from collections import deque

from wsproto.connection import Connection, ConnectionState
from wsproto.events import CloseConnection, Message, Ping, Pong, TextMessage
from wsproto.frame_protocol import CloseReason

from services.background import Workers
from services.memory import release_free_memory
from services.realtime.frames import EncodedFrame, tick, ticks_per_second
from services.web.socket_peer import Handler, Peer, send_holding_the_gil

log = logging.getLogger(__name__)

BACKLOG_BYTES = 256 * 1024        # a socket with this much unwritten takes no new frame
CLOSE_WAIT_SECONDS = 1.0          # after our close frame, how long the client has to answer it
TRIM_AFTER_CLOSES = 100           # this many sockets gone and none for TRIM_QUIET_SECONDS: give memory back
TRIM_QUIET_SECONDS = 2.0
RECV_BYTES = 65536
WORKERS = 4


class SocketLoop:
    def __init__(self, interval: float, ping_interval: float | None, max_message: int | None, write_timeout: float,
                 keep_gil: bool = True):
        self.interval, self.ping_interval = interval, ping_interval
        self.max_message, self.write_timeout = max_message, write_timeout
        self._lock = threading.Lock()
        self._calls: deque = deque()
        self._peers: set[Peer] = set()
        self._thread: threading.Thread | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_r = self._wake_w = None
        self._pool: Workers | None = None
        self._per_second = ticks_per_second(interval)     # phases: the ticks of a second
        self._phases: list[set[Peer]] = [set() for _ in range(self._per_second)]
        self._phase_of = itertools.count()
        self._checked_tick, self._memo = 0, {}
        self._send = send_holding_the_gil() if keep_gil else None     # False: socket.send (bench/socket_loop.py)
        self._flags = getattr(socket, "MSG_DONTWAIT", 0) | getattr(socket, "MSG_NOSIGNAL", 0)
        self._closing_all: tuple[int, str] | None = None       # shutdown()'s close, for every socket
        self._emptied = threading.Event()
        self._closed_since_trim, self._last_close = 0, 0.0

    # -- from other threads ----------------------------------------------------------------------
    def adopt(self, sock: socket.socket, ws: Connection, deflate: bool, handler: Handler) -> Peer:
        """Take over an upgraded socket (the 101 already written); `peer.finished` is set once it is
        closed and released."""
        self._start()
        peer = Peer(sock, ws, deflate, handler, time.monotonic(), self.ping_interval)
        peer.phase = handler.outbox.phase = next(self._phase_of) % self._per_second
        handler.outbox.on_ready = lambda: self.call(self._service, peer)
        self.call(self._add, peer)
        return peer

    def call(self, fn, *args) -> None:
        """Run `fn(*args)` on the loop, soon."""
        self._calls.append((fn, args))
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass                    # a wake-up is already waiting (or the loop is gone)

    def shutdown(self, code: int = 1012, reason: str = "server restarting",
                 timeout: float = CLOSE_WAIT_SECONDS + 1) -> bool:
        """Close every socket with `code`, and any adopted from now on: a stopping server tells its
        clients (1012 Service Restart: they come back with their backoff) rather than letting the
        process's exit reset them, and gunicorn's graceful stop need not wait for sockets to end by
        themselves. True when every socket was finished within `timeout`."""
        self._closing_all = (code, reason)
        if self._thread is None:
            return True
        self.call(self._close_all)
        return self._emptied.wait(timeout)

    def count(self) -> int:
        return len(self._peers)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._selector = selectors.DefaultSelector()
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            self._selector.register(self._wake_r, selectors.EVENT_READ, None)
            self._pool = Workers(WORKERS, "ws-work")
            self._thread = threading.Thread(target=self._run, name="ws-loop", daemon=True)
            self._thread.start()

    # -- the loop --------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            now = time.monotonic()
            next_tick = (tick(now, self.interval) + 1) * self.interval
            for key, mask in self._selector.select(max(0.0, next_tick - now)):
                try:
                    if key.data is None:
                        self._drain_wake()
                    elif mask & selectors.EVENT_READ:
                        self._read(key.data)
                    if key.data is not None and mask & selectors.EVENT_WRITE:
                        self._flush(key.data)
                except Exception:           # noqa: BLE001 - one socket's failure ends that socket only
                    log.exception("websocket loop: a socket failed")
                    self._finish(key.data)
            while self._calls:
                fn, args = self._calls.popleft()
                try:
                    fn(*args)
                except Exception:           # noqa: BLE001
                    log.exception("websocket loop: a call failed")
            if time.monotonic() >= next_tick:
                self._tick(time.monotonic())

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _add(self, peer: Peer) -> None:
        peer.sock.setblocking(False)
        self._peers.add(peer)
        self._phases[peer.phase].add(peer)
        self._selector.register(peer.sock, selectors.EVENT_READ, peer)
        if self._closing_all is not None:
            self._close(peer, self._closing_all)
            return
        self._service(peer)

    def _close_all(self) -> None:
        for peer in list(self._peers):
            self._close(peer, self._closing_all)
        if not self._peers:
            self._emptied.set()

    def _tick(self, now: float) -> None:
        for peer in list(self._peers):
            try:
                self._service(peer, now, frames=True)
            except Exception:               # noqa: BLE001
                log.exception("websocket loop: servicing a socket failed")
                self._finish(peer)
        self._check_phases(tick(now, self.interval))
        if self._closed_since_trim >= TRIM_AFTER_CLOSES and now - self._last_close > TRIM_QUIET_SECONDS:
            self._closed_since_trim = 0             # a wave of closes is over: its memory goes back
            self._pool.submit(release_free_memory)

    def _check_phases(self, number: int) -> None:
        """Each connection is checked once a second, on its phase's tick: the checks of a thousand
        sockets are spread over the second rather than all queued on one tick. Phases of ticks that
        were skipped (a tick that overran) are checked on the next. One memo per second."""
        first = max(self._checked_tick + 1, number - self._per_second + 1)
        self._checked_tick = number
        handlers = []
        for n in range(first, number + 1):
            if n % self._per_second == 0:
                self._memo = {}
            handlers += [p.handler for p in self._phases[n % self._per_second] if p.close_by is None]
        if handlers:
            self._pool.submit(self._check, handlers, self._memo)

    def _service(self, peer: Peer, now: float | None = None, frames: bool = False) -> None:
        """Write what the connection has for its socket: replies now, a due frame on a tick; start the
        close it asked for; ping; give up on a socket that takes nothing or never answers our close."""
        if peer not in self._peers:
            return
        now = time.monotonic() if now is None else now
        outbox = peer.handler.outbox
        if peer.close_by is not None:
            if now >= peer.close_by:
                self._finish(peer)
            return
        if outbox.closed or outbox.overflowed:
            self._close(peer)
            return
        if frames and peer.out_bytes < BACKLOG_BYTES:
            items = outbox.take(now)            # the tick's time for all: one seq, so one frame per content
        else:
            items = outbox.take_direct()
        for item in items:
            self._queue(peer, item.wire(peer.deflate) if isinstance(item, EncodedFrame)
                        else peer.ws.send(TextMessage(data=item)))
        if outbox.claim_resync():           # behind: a fresh snapshot, built where the database may be waited for
            self._pool.submit(outbox.resync)
        if peer.next_ping is not None and now >= peer.next_ping:
            if peer.awaiting_pong:
                self._close(peer, (CloseReason.POLICY_VIOLATION, "Ping/Pong timeout"))
                return
            peer.awaiting_pong, peer.next_ping = True, now + self.ping_interval
            self._queue(peer, peer.ws.send(Ping()))
        if peer.blocked_since is not None and now - peer.blocked_since > self.write_timeout:
            log.info("websocket: a client took nothing for %.0f s; dropping it", now - peer.blocked_since)
            self._finish(peer)

    @staticmethod
    def _check(handlers: list, memo: dict) -> None:
        """On the pool: the connections' periodic checks (session, hub); each closes its socket if it must.
        One memo for the second: a user's sockets share one look at the session."""
        for handler in handlers:
            try:
                handler.check(memo)
            except Exception:               # noqa: BLE001
                log.exception("websocket: a connection's check failed")

    # -- reading ---------------------------------------------------------------------------------
    def _read(self, peer: Peer) -> None:
        try:
            data = peer.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._finish(peer)
            return
        peer.ws.receive_data(data)
        for event in peer.ws.events():
            if isinstance(event, Message):
                peer.size += len(event.data)
                if self.max_message and peer.size > self.max_message:
                    self._close(peer, (CloseReason.MESSAGE_TOO_BIG, "Message is too big"))
                    return
                peer.parts.append(event.data)
                if event.message_finished:
                    joined = ("" if isinstance(event, TextMessage) else b"").join(peer.parts)
                    peer.parts, peer.size = [], 0
                    self._received(peer, joined)
            elif isinstance(event, Ping):
                if peer.ws.state is ConnectionState.OPEN:
                    self._queue(peer, peer.ws.send(event.response()))
            elif isinstance(event, Pong):
                peer.awaiting_pong = False
            elif isinstance(event, CloseConnection):
                if peer.ws.state is not ConnectionState.CLOSED:    # the client spoke first (or wsproto for it)
                    self._queue(peer, peer.ws.send(CloseConnection(event.code, event.reason)))
                self._finish(peer)
                return

    def _received(self, peer: Peer, data) -> None:
        peer.inbox.append(data)
        if not peer.busy:
            peer.busy = True
            self._pool.submit(self._handle, peer)

    def _handle(self, peer: Peer) -> None:
        """On the pool: the socket's messages in order, one at a time."""
        while True:
            try:
                data = peer.inbox.popleft()
            except IndexError:
                self.call(self._idle, peer)
                return
            try:
                peer.handler.message(data)
            except Exception:               # noqa: BLE001 - LiveConnection.message answers errors itself
                log.exception("websocket: handling a message failed")

    def _idle(self, peer: Peer) -> None:
        if peer.inbox:
            self._pool.submit(self._handle, peer)
        else:
            peer.busy = False

    # -- writing and closing ---------------------------------------------------------------------
    def _queue(self, peer: Peer, data: bytes) -> None:
        if data:
            peer.out.append(data)
            peer.out_bytes += len(data)
        self._flush(peer)

    def _write(self, peer: Peer, data: bytes, offset: int) -> int:
        """Bytes of `data[offset:]` the socket took now (0 when its buffer is full); OSError if it is gone."""
        if self._send is None:
            try:
                return peer.sock.send(memoryview(data)[offset:])
            except (BlockingIOError, InterruptedError):
                return 0
        address = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value + offset
        sent = self._send(peer.sock.fileno(), address, len(data) - offset, self._flags)
        if sent >= 0:
            return sent
        code = ctypes.get_errno()
        if code in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
            return 0
        raise OSError(code, "send failed")

    def _flush(self, peer: Peer) -> None:
        while peer.out:
            chunk = peer.out[0]
            try:
                sent = self._write(peer, chunk, peer.out_offset)
            except OSError:
                self._finish(peer)
                return
            peer.out_bytes -= sent
            peer.out_offset += sent
            if peer.out_offset < len(chunk):
                if peer.blocked_since is None:
                    peer.blocked_since = time.monotonic()
                    self._selector.modify(peer.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, peer)
                return
            peer.out.popleft()
            peer.out_offset = 0
        if peer.blocked_since is not None:
            peer.blocked_since = None
            self._selector.modify(peer.sock, selectors.EVENT_READ, peer)
        if peer.close_by is not None:
            self._half_close(peer)

    @staticmethod
    def _half_close(peer: Peer) -> None:
        """Our close frame is out: send FIN behind it (RFC 6455 5.5.1, the server closes TCP first), so a
        client that never answers the close frame still sees the end at once; its answer, or its own FIN,
        is still read and ends the connection before CLOSE_WAIT_SECONDS."""
        try:
            peer.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _close(self, peer: Peer, why: tuple[int, str] | None = None) -> None:
        """Send the connection's last words and a close frame; the client has CLOSE_WAIT_SECONDS to answer."""
        if peer.close_by is not None or peer not in self._peers:
            return
        code, reason, last_words = peer.handler.closing() if why is None else (*why, [])
        for text in last_words:
            self._queue(peer, peer.ws.send(TextMessage(data=text)))
        peer.close_by = time.monotonic() + CLOSE_WAIT_SECONDS
        if peer.ws.state is ConnectionState.OPEN:
            self._queue(peer, peer.ws.send(CloseConnection(code, reason)))
        else:
            self._flush(peer)

    def _finish(self, peer: Peer) -> None:
        """The end, however it came: write what can still go, shut the TCP connection, release."""
        if peer is None or peer not in self._peers:
            return
        self._peers.discard(peer)
        self._phases[peer.phase].discard(peer)
        self._closed_since_trim, self._last_close = self._closed_since_trim + 1, time.monotonic()
        if self._closing_all is not None and not self._peers:
            self._emptied.set()
        try:
            self._selector.unregister(peer.sock)
        except (KeyError, ValueError, OSError):
            pass
        for chunk in peer.out:
            try:
                if self._write(peer, chunk, peer.out_offset) < len(chunk) - peer.out_offset:
                    break
            except OSError:
                break
            peer.out_offset = 0
        try:
            peer.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        peer.sock.close()
        self._pool.submit(self._release, peer)

    def _release(self, peer: Peer) -> None:
        try:
            peer.handler.released()
        except Exception:                   # noqa: BLE001
            log.exception("websocket: releasing a connection failed")
        finally:
            peer.handler.outbox.on_ready = None     # the one cycle (outbox -> peer -> handler): freed now, not at a GC
            peer.finished.set()
