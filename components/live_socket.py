"""LiveSocket: a dash-extensions WebSocket that reconnects, subscribes and resynchronises by itself.

The stock component never reconnects and drops a `send` made while closed. This All-in-One
component adds, in clientside callbacks (assets/js/pulse_socket.js):
- the socket URL derived from the page's own origin (ws: or wss:);
- on open: subscribe to the configured channels, with the page's filter (a selection of stores/depts
  or assets/sensors the server then applies; `pulseSocket.setFilter` changes it while connected);
  on the server's `subscribed`: ask for a snapshot
  (with the last alert id seen, so missed alerts come back), and ask again every 3 s until one
  arrives (a lost request or reply must not leave the page empty);
- on close: reconnect with exponential backoff and jitter by changing the URL; after a few
  failures in a row, show "Offline" and poll the REST snapshot until the socket is back;
- a status badge: Live (green), Connecting/Reconnecting (amber), Degraded (amber: connected, but the
  server lost its Redis hub), Offline (red).
Data frames (batch, snapshot) are handed to the page through the `frame` store: a snapshot at once,
batches at most every `deliver_ms` (those arriving meanwhile merged into one, messages in order), since
every Dash update costs the tab far more than the merge.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import MATCH, ClientsideFunction, Input, Output, State, clientside_callback, dcc, html
from dash_extensions import WebSocket

from components.toasts import TOAST_AREA_ID

DELIVER_MS = 250     # batches reach the page at most this often (merged in order); snapshots at once


class LiveSocket(html.Span):
    class ids:
        socket = staticmethod(lambda aio_id: {"component": "LiveSocket", "sub": "socket", "aio_id": aio_id})
        config = staticmethod(lambda aio_id: {"component": "LiveSocket", "sub": "config", "aio_id": aio_id})
        badge = staticmethod(lambda aio_id: {"component": "LiveSocket", "sub": "badge", "aio_id": aio_id})
        frame = staticmethod(lambda aio_id: {"component": "LiveSocket", "sub": "frame", "aio_id": aio_id})

    def __init__(self, aio_id: str, channels: list[str], path: str = "/ws", fallback_url: str = "/api/live-data",
                 offline_after: int = 4, poll_ms: int = 5000, filter: dict | None = None,   # noqa: A002 - the protocol's word
                 deliver_ms: int = DELIVER_MS):
        config = {"path": path, "channels": channels, "fallback_url": fallback_url, "offline_after": offline_after,
                  "deliver_ms": deliver_ms,
                  "filter": {k: v for k, v in (filter or {}).items() if v} or None,
                  "poll_ms": poll_ms, "socket_id": self.ids.socket(aio_id), "frame_id": self.ids.frame(aio_id),
                  "badge_id": self.ids.badge(aio_id), "toast_area_id": TOAST_AREA_ID}
        super().__init__([
            WebSocket(id=self.ids.socket(aio_id)),
            dcc.Store(id=self.ids.config(aio_id), data=config),
            dcc.Store(id=self.ids.frame(aio_id)),
            html.Span(dbc.Badge("Connecting…", id=self.ids.badge(aio_id), color="warning", pill=True,
                                className="status-badge"), **{"data-testid": "live-status"}),
        ], className="live-socket")


clientside_callback(
    ClientsideFunction("pulse_socket", "url"),
    Output(LiveSocket.ids.socket(MATCH), "url"),
    Input(LiveSocket.ids.config(MATCH), "data"),
)

clientside_callback(
    ClientsideFunction("pulse_socket", "state"),
    Output(LiveSocket.ids.badge(MATCH), "children"),
    Output(LiveSocket.ids.badge(MATCH), "color"),
    Output(LiveSocket.ids.socket(MATCH), "send"),
    Input(LiveSocket.ids.socket(MATCH), "state"),
    State(LiveSocket.ids.config(MATCH), "data"),
    prevent_initial_call=True,
)

clientside_callback(
    ClientsideFunction("pulse_socket", "message"),
    Output(LiveSocket.ids.socket(MATCH), "send", allow_duplicate=True),
    Output(LiveSocket.ids.frame(MATCH), "data"),
    Input(LiveSocket.ids.socket(MATCH), "message"),
    State(LiveSocket.ids.config(MATCH), "data"),
    prevent_initial_call=True,
)
