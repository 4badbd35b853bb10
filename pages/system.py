"""System: how the pipeline is doing right now, from the `system` channel (one `system_update` a
second; the snapshot carries the same stats). Cards for the headline figures, a chart of events/s in
versus out over the last minutes, and tables for connections, processes, rejections, frames, Redis
and the background-callback cache.

Everything is rendered in the browser (assets/js/pulse_system.js) as text: no server round trip per
update, and server data never becomes HTML. Both roles may view it.
"""
from __future__ import annotations

from enum import StrEnum

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, clientside_callback, dcc, html

from components.graph_config import GRAPH_CONFIG
from components.live_socket import LiveSocket
from components.page_header import page_header

dash.register_page(__name__, path="/system", name="System", title="System · Pulseboard", order=6)

SOCKET = "system"


class Ids(StrEnum):
    cards = "system-cards"
    chart = "system-rate-chart"
    connections = "system-connections"
    processes = "system-processes"
    rejected = "system-rejected"
    frames = "system-frames"
    redis = "system-redis"
    cache = "system-cache"
    updated = "system-updated"


TABLES = ((Ids.connections, "Connections by channel"), (Ids.processes, "Processes"),
          (Ids.rejected, "Rejected events by reason"), (Ids.frames, "Frames and coalescing"),
          (Ids.redis, "Redis"), (Ids.cache, "Background-callback cache"))


def panel(table_id: Ids, title: str) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title, className="fw-semibold"),
                     dbc.CardBody(html.Div(html.Div("waiting for data…", className="text-muted small"), id=table_id,
                                           **{"data-testid": table_id.value}), className="p-2")],
                    className="kpi-card h-100")


def layout(**_query):
    return dbc.Container([
        page_header("System", SOCKET, ["system", "notifications"], Ids.updated, waiting="waiting for the first update…"),
        html.Div(id=Ids.cards, className="system-cards mb-3"),
        dbc.Card([dbc.CardHeader("Events per second: in (accepted) vs out (processed)", className="fw-semibold"),
                  dbc.CardBody(dcc.Graph(id=Ids.chart, config=GRAPH_CONFIG,
                                         figure={"data": [], "layout": {"height": 260}}), className="p-1")],
                 className="kpi-card mb-3"),
        dbc.Row([dbc.Col(panel(table_id, title), md=6, xl=4, className="mb-3") for table_id, title in TABLES],
                className="g-3"),
    ], fluid=True)


clientside_callback(
    ClientsideFunction("pulse_system", "render"),
    Output(Ids.cards, "children"),
    *[Output(table_id, "children") for table_id, _ in TABLES],
    Output(Ids.chart, "figure"),
    Output(Ids.updated, "children"),
    Input(LiveSocket.ids.frame(SOCKET), "data"),
    prevent_initial_call=True,
)
