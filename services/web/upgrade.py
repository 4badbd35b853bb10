"""The `/ws` upgrade: simple-websocket's server, accepting permessage-deflate without context takeover.

Why not flask-sock's route as it is: simple-websocket accepts a browser's permessage-deflate offer with
context takeover both ways, so every socket keeps its own compressor and decompressor between messages
(about 300 KB each), and the same frame compresses to different bytes on every socket. Accepted with
`server_no_context_takeover` and `client_no_context_takeover` (RFC 7692 7.1.1; every browser supports
both), each message is compressed on its own: nothing stays per socket between messages, and a frame
deflated once suits every socket that negotiated it (services.realtime.frames).

The route returns as flask-sock's does: under Werkzeug a response whose status line the connection's
own shutdown keeps off the wire (services.web.socket.LiveConnection), under gunicorn nothing at all.
"""
from __future__ import annotations

from typing import Callable

from flask import Flask, Response, request
from simple_websocket import ConnectionClosed, Server
from wsproto.events import AcceptConnection, Request
from wsproto.extensions import PerMessageDeflate


class SharedDeflateServer(Server):
    """simple-websocket's Server with its handshake's one choice changed: the deflate parameters.
    `deflate` says whether the client's offer was accepted (frames then go out compressed)."""

    deflate = False

    def handshake(self) -> None:
        head = b"GET / HTTP/1.1\r\n" + b"".join(
            f"{'-'.join(p.capitalize() for p in key[5:].split('_'))}: {value}\r\n".encode()
            for key, value in self.environ.items() if key.startswith("HTTP_")) + b"\r\n"
        self.ws.receive_data(head)
        response = b""
        for event in self.ws.events():
            if isinstance(event, Request):
                self.subprotocol = self.choose_subprotocol(event)
                response += self.ws.send(AcceptConnection(subprotocol=self.subprotocol, extensions=[
                    PerMessageDeflate(client_no_context_takeover=True, server_no_context_takeover=True)]))
        self.deflate = b"permessage-deflate" in response.lower()
        self.sock.send(response)
        self.connected = bool(response)


def websocket_route(app: Flask, path: str, handler: Callable, options: dict) -> None:
    """Serve WebSocket upgrades at `path` with `handler(ws)` (the route matches upgrade requests only)."""

    def view():
        ws = SharedDeflateServer(request.environ, **options)
        try:
            handler(ws)
        except ConnectionClosed:
            pass
        try:
            ws.close()
        except Exception:       # noqa: BLE001 - already closed, whichever way
            pass
        mode = ws.mode

        class Upgraded(Response):
            def __call__(self, *args, **kwargs):
                if mode == "gunicorn":
                    raise StopIteration()
                return super().__call__(*args, **kwargs) if mode == "werkzeug" else []

        return Upgraded()

    view.__name__ = f"websocket_{path.strip('/').replace('/', '_') or 'root'}"
    app.route(path, websocket=True)(view)
