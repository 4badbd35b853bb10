"""Stream log: the raw messages of the chosen channels as they arrive (newest first), for seeing
exactly what the server sends. Batch frames are unpacked into their messages; Pause holds the list
still while counting (and buffering up to N of) what arrives; Clear empties it.

Rendering is clientside (assets/js/pulse_stream_log.js, rows made with textContent in a container
Dash never updates) and the list never holds more than N rows.
Changing the channels subscribes/unsubscribes the page's socket on the fly (pulseSocket.setChannels
in assets/js/pulse_socket.js), so the server only sends what is shown.
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from components.live_socket import LiveSocket
from components.page_header import page_header

dash.register_page(__name__, path="/stream", name="Stream log", title="Stream log · Pulseboard", order=7)

SOCKET = "stream-log"
CHANNELS = ("iot", "sensors", "alerts", "kpis", "health", "system", "market", "notifications")
DEFAULT_CHANNELS = ["iot", "alerts", "kpis", "system"]
LIMITS = (50, 100, 200, 500, 1000)
DEFAULT_LIMIT = 200


class Ids(StrEnum):
    channels = "stream-channels"
    limit = "stream-limit"
    pause = "stream-pause"
    clear = "stream-clear"
    rows = "stream-rows"
    render_config = "stream-render-config"
    counter = "stream-counter"


def layout(**_query):
    return dbc.Container([
        page_header("Stream log", SOCKET, DEFAULT_CHANNELS, Ids.counter, waiting="", spacing="mb-2",
                    **{"data-testid": "stream-counter"}),
        dbc.Row([
            dbc.Col(dbc.Checklist(id=Ids.channels, options=[{"label": c, "value": c} for c in CHANNELS],
                                  value=DEFAULT_CHANNELS, inline=True), width="auto"),
            dbc.Col(dcc.Dropdown(id=Ids.limit, options=[{"label": f"last {n}", "value": n} for n in LIMITS],
                                 value=DEFAULT_LIMIT, clearable=False, style={"minWidth": "8rem"}), width="auto"),
            dbc.Col(dbc.Button("Pause", id=Ids.pause, color="secondary", size="sm", n_clicks=0), width="auto"),
            dbc.Col(dbc.Button("Clear", id=Ids.clear, color="outline-secondary", size="sm", n_clicks=0), width="auto"),
        ], className="align-items-center g-2 mb-3"),
        html.Div(id=Ids.rows, className="stream-log", **{"data-testid": "stream-rows"}),   # rows: pulse_stream_log.js
        dcc.Store(id=Ids.render_config, data={"default_limit": DEFAULT_LIMIT, "ids": {
            "rows": Ids.rows, "channels": Ids.channels, "limit": Ids.limit, "pause": Ids.pause, "clear": Ids.clear}}),
    ], fluid=True)


clientside_callback(
    ClientsideFunction("pulse_stream_log", "update"),
    Output(Ids.counter, "children"),
    Output(Ids.pause, "children"),
    Input(LiveSocket.ids.frame(SOCKET), "data"),
    Input(Ids.pause, "n_clicks"),
    Input(Ids.clear, "n_clicks"),
    Input(Ids.limit, "value"),
    Input(Ids.channels, "value"),
    State(LiveSocket.ids.config(SOCKET), "data"),
    State(Ids.render_config, "data"),
    prevent_initial_call=True,
)
