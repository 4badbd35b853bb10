"""A peer that stays connected but never reads cannot block a socket's writer forever."""
import socket
import threading
import time

from services.web.socket import LockedSocket


def test_a_write_to_a_peer_that_never_reads_gives_up_after_the_timeout():
    server, client = socket.socketpair()
    try:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        locked = LockedSocket(server, write_timeout=0.5)
        started = time.monotonic()
        try:
            for _ in range(10_000):                       # far more than both buffers hold
                locked.send(b"x" * 65536)
            raise AssertionError("the writes never blocked")
        except OSError:                                   # socket.timeout is an OSError
            pass
        assert 0.4 < time.monotonic() - started < 5
        # the lock was released: another writer is not stuck behind the failed one
        done = threading.Event()
        threading.Thread(target=lambda: (_try_send(locked), done.set()), daemon=True).start()
        assert done.wait(3)
    finally:
        server.close()
        client.close()


def _try_send(locked):
    try:
        locked.send(b"y")
    except OSError:
        pass


def test_reads_are_not_limited_by_the_write_timeout():
    server, client = socket.socketpair()
    try:
        LockedSocket(server, write_timeout=0.2)
        threading.Timer(0.6, lambda: client.sendall(b"late")).start()
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(server, selectors.EVENT_READ)
        assert sel.select(3)                              # the library selects before it reads
        assert server.recv(10) == b"late"
    finally:
        server.close()
        client.close()
