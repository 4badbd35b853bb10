"""The `/ws` upgrade: the handshake, then the socket handed to the process's `SocketLoop`.

permessage-deflate is accepted with `server_no_context_takeover` and `client_no_context_takeover`
(RFC 7692 7.1.1; every browser supports both): each message is compressed on its own, so no socket
keeps a compressor or a decompressor between messages (about 300 KB each with context takeover), and
a frame deflated once suits every socket that negotiated it (services.realtime.frames).

After the 101 the request has nothing left to do. Under `python app.py` (services.web.serving) the
request thread returns at once and the server leaves the socket open for the loop; under gunicorn's
gevent worker the request's greenlet waits for the loop to finish with the socket (gunicorn closes
the connection when the request returns). Either way the response object writes nothing: not one
HTTP byte goes onto an upgraded socket.
"""
from __future__ import annotations

from typing import Callable

from flask import Flask, Response, jsonify, request
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection
from wsproto.events import AcceptConnection, Request
from wsproto.extensions import PerMessageDeflate

from services.web.socket import write_timeout
from services.web.socket_loop import SocketLoop

HANDOVER = "pulse.ws_handover"        # set by the embedded server: it can leave an upgraded socket open
ADOPTED = "pulse.ws_adopted"          # set by the route: this request's socket now belongs to the loop
SOCKET_LOOPS = "pulse.socket_loops"   # app.extensions: the loops of the app's WebSocket routes


def handshake(environ: dict) -> tuple[Connection | None, bytes, bool]:
    """The server's side of the opening handshake from the request's headers: the protocol state to
    go on with (wsproto's connection alone: the HTTP parser's state is not kept for the socket's life),
    the 101 response to write (b"" if the request is not a valid upgrade) and whether
    permessage-deflate was agreed."""
    ws = WSConnection(ConnectionType.SERVER)
    ws.receive_data(b"GET / HTTP/1.1\r\n" + b"".join(
        f"{'-'.join(p.capitalize() for p in key[5:].split('_'))}: {value}\r\n".encode("latin-1")
        for key, value in environ.items() if key.startswith("HTTP_")) + b"\r\n")
    response = b""
    for event in ws.events():
        if isinstance(event, Request):
            response += ws.send(AcceptConnection(extensions=[
                PerMessageDeflate(client_no_context_takeover=True, server_no_context_takeover=True)]))
    return ws.connection, response, b"permessage-deflate" in response.lower()


class _Upgraded(Response):
    """The route's answer once the socket is the loop's: it writes nothing, whichever the server."""

    def __call__(self, environ, start_response):
        if "gunicorn.socket" in environ:
            raise StopIteration()           # gunicorn: the request was handled, write no response
        raise ConnectionAbortedError()      # Werkzeug: a dropped connection, nothing written


def websocket_route(app: Flask, path: str, make_handler: Callable, config) -> SocketLoop:
    """Serve WebSocket upgrades at `path`: `make_handler()` gives the connection (a LiveConnection)
    once the request passed the gate. The loop starts with the first socket, not before."""
    loop = SocketLoop(config.ws_frame_interval, config.ws_ping_interval, config.ws_max_message_bytes,
                      write_timeout(config))

    def view():
        environ = request.environ
        sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
        ws, response, deflate = handshake(environ)
        if sock is None or ws is None or not response:
            return jsonify(error="bad_request", message="not a WebSocket upgrade this server can take"), 400
        handler = make_handler()
        sock.sendall(response)
        handler.open()
        peer = loop.adopt(sock, ws, deflate, handler)
        if environ.get(HANDOVER):
            environ[ADOPTED] = True
        else:
            peer.finished.wait()
        return _Upgraded()

    view.__name__ = f"websocket_{path.strip('/').replace('/', '_') or 'root'}"
    app.route(path, websocket=True)(view)
    app.extensions.setdefault(SOCKET_LOOPS, []).append(loop)
    return loop


def close_sockets(app: Flask) -> None:
    """The server is stopping: every WebSocket of `app` closes with 1012 (Service Restart), and the
    clients reconnect with their backoff to whichever process serves next."""
    for loop in app.extensions.get(SOCKET_LOOPS, []):
        loop.shutdown()
