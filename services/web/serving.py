"""The embedded server (`python app.py`): Werkzeug's threaded server, with one change for `/ws`.

Werkzeug would shut an upgraded socket down when its request returns (and keep reading it as the
next HTTP request before that). Once the `/ws` route hands the socket to the socket loop
(services.web.upgrade), this server's request handler ends the request without touching the
connection again, and the request's thread is free: no thread waits per open socket.
"""
from __future__ import annotations

import signal
import threading

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from services.web.upgrade import ADOPTED, HANDOVER


class _HandoverRequestHandler(WSGIRequestHandler):
    def make_environ(self):
        environ = super().make_environ()
        environ[HANDOVER] = True
        return environ

    def handle_one_request(self) -> None:
        super().handle_one_request()
        environ = getattr(self, "environ", None)
        if environ is not None and environ.get(ADOPTED):
            self.close_connection = True        # read no further request from a socket that is not ours
            self.server.keep_open(self.connection)


class EmbeddedServer(ThreadedWSGIServer):
    def __init__(self, host: str, port: int, app=None):
        super().__init__(host, port, app, handler=_HandoverRequestHandler)
        self._kept: set = set()
        self._kept_lock = threading.Lock()

    def keep_open(self, connection) -> None:
        with self._kept_lock:
            self._kept.add(connection)

    def shutdown_request(self, request) -> None:
        with self._kept_lock:
            if request in self._kept:
                self._kept.discard(request)
                return                          # the socket loop's now: it closes it
        super().shutdown_request(request)


def stop_on_sigterm() -> None:
    """`kill`, systemd and `docker stop` send SIGTERM: end the embedded server as Ctrl-C does (its
    sockets told 1012, the runtime stopped, the history's last batch written) instead of dying at
    once. Main thread only, before serving."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
